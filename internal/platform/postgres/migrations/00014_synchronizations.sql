-- Purpose: synchronizations (seed 000): a user's links to external
-- platforms, with an encrypted token and a daily sync schedule.
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * unique (user_id, service, account_id): one link per external account.
--   * token is sealed (envelope encryption bound to row and user) and
--     write-only; token_expires_at drives a "token expiring" job.
--   * daily_sync_time ("HH:MM") in time_zone (IANA) drives a daily "sync due"
--     job; last_synced_at is set when the application reports a sync done.
--   * dies with its user; row-level security on user_id.

-- +goose Up
CREATE TABLE synchronizations (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    service          text NOT NULL,
    account_id       text NOT NULL,
    token            bytea,
    token_expires_at timestamptz,
    last_synced_at   timestamptz,
    daily_sync_time  text,
    time_zone        text NOT NULL DEFAULT 'UTC',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_synchronizations_user_id_service_account_id ON synchronizations (user_id, service, account_id);
CREATE INDEX idx_synchronizations_user_id ON synchronizations (user_id, id);
CREATE INDEX idx_synchronizations_service ON synchronizations (service);
-- +userd owned-by synchronizations.user_id

-- +goose Down
DROP TABLE synchronizations;
