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

-- +goose Up
CREATE TABLE oauth_clients (
    client_id                 TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    secret_hash               BLOB,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    scopes                    TEXT NOT NULL,
    grant_types               TEXT NOT NULL,
    public                    BOOLEAN NOT NULL DEFAULT 0,
    first_party               BOOLEAN NOT NULL DEFAULT 0,
    created_by                TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL,
    CONSTRAINT chk_oauth_clients_secret CHECK (public = (secret_hash IS NULL))
);
CREATE INDEX idx_oauth_clients_created_by ON oauth_clients (created_by);
CREATE TABLE oauth_consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX idx_oauth_consents_client_id ON oauth_consents (client_id);
CREATE TABLE oauth_authorizations (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    request      TEXT NOT NULL,
    user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
    session_id   TEXT,
    auth_time    TIMESTAMP,
    amr          TEXT,
    code_hash    BLOB,
    exchanged_at TIMESTAMP,
    replayed_at  TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX idx_oauth_authorizations_code_hash ON oauth_authorizations (code_hash);
CREATE INDEX idx_oauth_authorizations_client_id ON oauth_authorizations (client_id);
CREATE INDEX idx_oauth_authorizations_user_id ON oauth_authorizations (user_id);
CREATE INDEX idx_oauth_authorizations_expires_at ON oauth_authorizations (expires_at);
CREATE TABLE oauth_grants (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    authorization_id TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    auth_time        TIMESTAMP NOT NULL,
    amr              TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    expires_at       TIMESTAMP NOT NULL
);
CREATE INDEX idx_oauth_grants_client_id ON oauth_grants (client_id);
CREATE INDEX idx_oauth_grants_user_id ON oauth_grants (user_id, client_id);
CREATE INDEX idx_oauth_grants_authorization_id ON oauth_grants (authorization_id);
CREATE INDEX idx_oauth_grants_expires_at ON oauth_grants (expires_at);
CREATE TABLE oauth_tokens (
    id         TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    token_hash BLOB,
    parent_id  TEXT,
    used_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    CONSTRAINT chk_oauth_tokens_kind CHECK (kind IN ('access', 'refresh'))
);
CREATE UNIQUE INDEX idx_oauth_tokens_token_hash ON oauth_tokens (token_hash);
CREATE INDEX idx_oauth_tokens_grant_id ON oauth_tokens (grant_id);
CREATE INDEX idx_oauth_tokens_parent_id ON oauth_tokens (parent_id);
CREATE INDEX idx_oauth_tokens_expires_at ON oauth_tokens (expires_at);


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
