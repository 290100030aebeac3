-- Purpose: userd as an OpenID Provider (issue 26): the applications that sign
-- their users in through userd, the consents users gave them, the
-- authorization requests in flight and the grants and tokens they led to.
-- Depends on: 00001_users, 00023_permission_builtin.
-- Key features:
--   * oauth_clients: client_id, name, the secret's SHA-256 (a random 256-bit
--     secret shown once; NULL for a public client), redirect and
--     post-logout redirect URIs matched exactly (JSON arrays), allowed
--     scopes and grant types, public (PKCE S256, no secret), first_party
--     (no consent screen), created_by SET NULL.
--   * oauth_consents: the scopes a user allowed a client, one row per
--     (user_id, client_id); CASCADE from both.
--   * oauth_authorizations: an authorization request from /oauth2/authorize
--     to the code's exchange: the request as the client sent it (JSON), the
--     user once signed in (auth_time, amr), the code's SHA-256, when it was
--     exchanged and when a replay was seen (a replayed code revokes the
--     grant it gave, RFC 6749 section 10.5); kept until expires_at.
--   * oauth_grants: what one exchanged code gave a client for a user (scopes,
--     auth_time, amr); deleting it revokes every token of it.
--   * oauth_tokens: the grant's access tokens (JWTs; the row is their jti,
--     so that userinfo and introspection see a revocation at once) and
--     refresh tokens (SHA-256 of the token; rotated: parent_id, used_at).
--   * the permissions oauth_clients:read and oauth_clients:write, builtin.
--   * everything here is system work except a user's own consents and the
--     deletion of their grants (when their sessions end: a password changed
--     or reset), which row-level security keeps to them.

-- +goose Up
CREATE TABLE oauth_clients (
    client_id                 TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    secret_hash               bytea,
    redirect_uris             jsonb NOT NULL,
    post_logout_redirect_uris jsonb NOT NULL DEFAULT '[]',
    scopes                    jsonb NOT NULL,
    grant_types               jsonb NOT NULL,
    public                    BOOLEAN NOT NULL DEFAULT false,
    first_party               BOOLEAN NOT NULL DEFAULT false,
    created_by                uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL,
    CONSTRAINT chk_oauth_clients_secret CHECK (public = (secret_hash IS NULL))
);
CREATE INDEX idx_oauth_clients_created_by ON oauth_clients (created_by);
CREATE TABLE oauth_consents (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    scopes     jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX idx_oauth_consents_client_id ON oauth_consents (client_id);
CREATE TABLE oauth_authorizations (
    id           uuid PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    request      jsonb NOT NULL,
    user_id      uuid REFERENCES users (id) ON DELETE CASCADE,
    session_id   uuid,
    auth_time    timestamptz,
    amr          jsonb,
    code_hash    bytea,
    exchanged_at timestamptz,
    replayed_at  timestamptz,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_oauth_authorizations_code_hash ON oauth_authorizations (code_hash);
CREATE INDEX idx_oauth_authorizations_client_id ON oauth_authorizations (client_id);
CREATE INDEX idx_oauth_authorizations_user_id ON oauth_authorizations (user_id);
CREATE INDEX idx_oauth_authorizations_expires_at ON oauth_authorizations (expires_at);
CREATE TABLE oauth_grants (
    id               uuid PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    authorization_id uuid NOT NULL,
    scopes           jsonb NOT NULL,
    auth_time        timestamptz NOT NULL,
    amr              jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL
);
CREATE INDEX idx_oauth_grants_client_id ON oauth_grants (client_id);
CREATE INDEX idx_oauth_grants_user_id ON oauth_grants (user_id, client_id);
CREATE INDEX idx_oauth_grants_authorization_id ON oauth_grants (authorization_id);
CREATE INDEX idx_oauth_grants_expires_at ON oauth_grants (expires_at);
CREATE TABLE oauth_tokens (
    id         uuid PRIMARY KEY,
    grant_id   uuid NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    token_hash bytea,
    parent_id  uuid,
    used_at    timestamptz,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT chk_oauth_tokens_kind CHECK (kind IN ('access', 'refresh'))
);
CREATE UNIQUE INDEX idx_oauth_tokens_token_hash ON oauth_tokens (token_hash);
CREATE INDEX idx_oauth_tokens_grant_id ON oauth_tokens (grant_id);
CREATE INDEX idx_oauth_tokens_parent_id ON oauth_tokens (parent_id);
CREATE INDEX idx_oauth_tokens_expires_at ON oauth_tokens (expires_at);

REVOKE ALL ON oauth_clients, oauth_authorizations, oauth_grants, oauth_tokens FROM userd_app;
GRANT SELECT (client_id, name) ON oauth_clients TO userd_app;
GRANT SELECT, DELETE ON oauth_grants TO userd_app;
-- +userd owned-by oauth_consents.user_id
-- +userd owned-by oauth_authorizations.user_id
-- +userd owned-by oauth_grants.user_id

COMMENT ON TABLE oauth_clients IS 'The applications that sign users in through userd as their OpenID Provider (openid package).';
COMMENT ON COLUMN oauth_clients.client_id IS 'The public client identifier (udc_…).';
COMMENT ON COLUMN oauth_clients.secret_hash IS 'SHA-256 of the client secret (256 random bits, shown once); NULL for a public client, which must use PKCE S256.';
COMMENT ON COLUMN oauth_clients.redirect_uris IS 'A JSON array of the redirect URIs, each matched exactly.';
COMMENT ON COLUMN oauth_clients.post_logout_redirect_uris IS 'A JSON array of the URIs end_session may send the browser to, each matched exactly.';
COMMENT ON COLUMN oauth_clients.scopes IS 'A JSON array of the scopes the client may ask for.';
COMMENT ON COLUMN oauth_clients.grant_types IS 'A JSON array of the grant types the client may use (authorization_code, refresh_token).';
COMMENT ON COLUMN oauth_clients.first_party IS 'True for the operator''s own application: users are not asked to consent.';
COMMENT ON TABLE oauth_consents IS 'The scopes a user allowed a client; a request within them asks nothing more. Listed and revoked at /v1/me/consents.';
COMMENT ON TABLE oauth_authorizations IS 'Authorization requests in flight and their codes (SHA-256), kept until expires_at to recognise a replayed code.';
COMMENT ON COLUMN oauth_authorizations.request IS 'The authorization request as the client sent it: redirect_uri, scopes, state, nonce, PKCE challenge, prompt, max_age.';
COMMENT ON COLUMN oauth_authorizations.replayed_at IS 'When the code was presented again after its exchange: the grant it gave was revoked then.';
COMMENT ON COLUMN oauth_authorizations.amr IS 'How the user signed in (RFC 8176 values: pwd, otp, mfa, hwk, user), a JSON array; NULL until then.';
COMMENT ON COLUMN oauth_authorizations.code_hash IS 'SHA-256 of the authorization code (single-use, one minute); NULL until the code is issued.';
COMMENT ON COLUMN oauth_consents.scopes IS 'A JSON array of the scopes the user allowed the client.';
COMMENT ON COLUMN oauth_grants.scopes IS 'A JSON array of the scopes granted.';
COMMENT ON COLUMN oauth_grants.amr IS 'How the user signed in (RFC 8176 values), a JSON array, repeated in every ID token of the grant.';
COMMENT ON COLUMN oauth_tokens.token_hash IS 'SHA-256 of a refresh token (udo_…); NULL for an access token, whose id is its jti.';
COMMENT ON TABLE oauth_grants IS 'What an exchanged code gave a client for a user; its deletion revokes its tokens.';
COMMENT ON TABLE oauth_tokens IS 'The access tokens (by jti) and refresh tokens (SHA-256, rotated) of a grant.';

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000026', 'oauth_clients:read', 'Read the OpenID Provider''s clients (never their secrets)'),
    ('00000000-0000-7000-8001-000000000027', 'oauth_clients:write', 'Create, change and delete the OpenID Provider''s clients')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('oauth_clients:read', 'oauth_clients:write');
DROP TABLE oauth_tokens;
DROP TABLE oauth_grants;
DROP TABLE oauth_authorizations;
DROP TABLE oauth_consents;
DROP TABLE oauth_clients;
