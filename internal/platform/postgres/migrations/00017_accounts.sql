-- Purpose: accounts (seed 001): log-in through OAuth 2.0 / OpenID Connect
-- providers; and oauth_states, the single-use state of a log-in in flight.
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * accounts: primary key (provider, provider_account_id) as seed 001 has
--     it, linked to a user (ON DELETE CASCADE); the provider's tokens are
--     sealed (envelope encryption bound to the account and user).
--   * oauth_states: the state of each log-in started, stored as a hash with
--     its nonce and sealed PKCE verifier, the page to return to, an expiry;
--     the callback deletes it, so a state works once.

-- +goose Up
CREATE TABLE accounts (
    provider            text NOT NULL,
    provider_account_id text NOT NULL,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type                text NOT NULL DEFAULT 'oidc',
    email               text,
    access_token        bytea,
    refresh_token       bytea,
    expires_at          timestamptz,
    scope               text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT pk_accounts PRIMARY KEY (provider, provider_account_id)
);
CREATE INDEX idx_accounts_user_id ON accounts (user_id);
CREATE TABLE oauth_states (
    state_hash  bytea PRIMARY KEY,
    provider    text NOT NULL,
    nonce       text NOT NULL,
    verifier    bytea NOT NULL,
    redirect_to text,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX idx_oauth_states_expires_at ON oauth_states (expires_at);
-- +userd owned-by accounts.user_id

-- +goose Down
DROP TABLE oauth_states;
DROP TABLE accounts;
