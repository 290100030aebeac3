-- Purpose: the credentials vault (seed 002): user_accounts and their encrypted
-- API credentials in user_credentials.
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * user_accounts: named accounts (account_name up to 255 characters).
--   * user_credentials: one per (user_account_id, credential_type), the secret
--     sealed (envelope encryption under the master key, bound to table,
--     row and user), a masked hint, optional expires_at; user_id is
--     denormalised from the account (seed 002) so that row-level security
--     needs no join.
--   * credentials cascade with their account, both with their user.

-- +goose Up
CREATE TABLE user_accounts (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_name varchar(255) NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX idx_user_accounts_user_id ON user_accounts (user_id, id);
CREATE TABLE user_credentials (
    id              uuid PRIMARY KEY,
    user_account_id uuid NOT NULL REFERENCES user_accounts (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_type text NOT NULL,
    secret          bytea NOT NULL,
    hint            text NOT NULL,
    expires_at      timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_user_credentials_user_account_id_credential_type ON user_credentials (user_account_id, credential_type);
CREATE INDEX idx_user_credentials_user_id ON user_credentials (user_id);
CREATE INDEX idx_user_credentials_expires_at ON user_credentials (expires_at);
-- +userd owned-by user_accounts.user_id
-- +userd owned-by user_credentials.user_id

-- +goose Down
DROP TABLE user_credentials;
DROP TABLE user_accounts;
