-- Purpose: log-in sessions, found by the SHA-256 hash of their opaque token.
-- Depends on: 00001_users.
-- Key features:
--   * the token itself is never stored, only token_hash (unique).
--   * a session dies with its user (ON DELETE CASCADE, seed 001).
--   * device (user agent), client address and last-seen time for the user's
--     list of their sessions; expires_at bounds its life.

-- +goose Up
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX idx_sessions_token_hash ON sessions (token_hash);
CREATE INDEX idx_sessions_user_id ON sessions (user_id);

-- +goose Down
DROP TABLE sessions;
