-- Purpose: a TOTP second factor: mfa_totp (the sealed secret), mfa_recovery_codes
-- (ten single-use codes, hashed) and mfa_challenges (a password log-in waiting
-- for its second factor).
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * one TOTP per user, enabled once confirmed with a code; last_step is the
--     time step of the last code used, so a code works once.
--   * recovery codes stored only as SHA-256 hashes, each used once.
--   * a challenge is a hashed token that lives minutes and takes few attempts.
--   * everything cascades with the user; row-level security on user_id.

-- +goose Up
CREATE TABLE mfa_totp (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       bytea NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL
);
CREATE TABLE mfa_recovery_codes (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_mfa_recovery_codes_user_id_code_hash ON mfa_recovery_codes (user_id, code_hash);
CREATE TABLE mfa_challenges (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attempts   INTEGER NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX idx_mfa_challenges_user_id ON mfa_challenges (user_id);
-- +userd owned-by mfa_totp.user_id
-- +userd owned-by mfa_recovery_codes.user_id
-- +userd owned-by mfa_challenges.user_id

-- +goose Down
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
