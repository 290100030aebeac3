-- Purpose: passkeys: authenticators (seed 001) and webauthn_challenges (the
-- state of a WebAuthn ceremony in flight).
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * authenticators: primary key (user_id, credential_id) as seed 001 has it,
--     with seed 001's public key, counter, device type, backed-up flag and
--     transports, plus a name and the last use; credential_id is also unique
--     on its own, for log-in without a user name.
--   * a sign count that goes backwards refuses the log-in (a cloned key).
--   * webauthn_challenges: single use, minutes long, stored as a hash.
--   * everything cascades with the user; row-level security on user_id.

-- +goose Up
CREATE TABLE authenticators (
    id                     uuid NOT NULL,
    user_id                uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id          bytea NOT NULL,
    credential_public_key  bytea NOT NULL,
    counter                bigint NOT NULL DEFAULT 0,
    credential_device_type text NOT NULL DEFAULT 'singleDevice',
    credential_backed_up   boolean NOT NULL DEFAULT false,
    transports             text NOT NULL DEFAULT '',
    aaguid                 bytea,
    name                   text NOT NULL DEFAULT 'Passkey',
    last_used_at           timestamptz,
    created_at             timestamptz NOT NULL,
    CONSTRAINT pk_authenticators PRIMARY KEY (user_id, credential_id)
);
CREATE UNIQUE INDEX idx_authenticators_credential_id ON authenticators (credential_id);
CREATE UNIQUE INDEX idx_authenticators_id ON authenticators (id);
CREATE TABLE webauthn_challenges (
    token_hash bytea PRIMARY KEY,
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    session    jsonb NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX idx_webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
-- +userd owned-by authenticators.user_id
-- +userd owned-by webauthn_challenges.user_id

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE authenticators;
