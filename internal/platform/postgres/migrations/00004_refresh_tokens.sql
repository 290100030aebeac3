-- Purpose: refresh_tokens, the rotating tokens that renew a session's access tokens.
-- Depends on: 00002_sessions.
-- Key features:
--   * each token belongs to one session and dies with it (ON DELETE CASCADE);
--     user_id is denormalised from the session (seed 002's pattern) so that
--     row-level security needs no join.
--   * stored only as token_hash (unique); parent_id links a token to the one
--     it replaced, used_at marks it spent. A spent token presented again after
--     the grace window, or once its successor is spent, revokes the session.

-- +goose Up
CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id  uuid REFERENCES refresh_tokens (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE UNIQUE INDEX idx_refresh_tokens_token_hash ON refresh_tokens (token_hash);
CREATE INDEX idx_refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX idx_refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE UNIQUE INDEX idx_refresh_tokens_parent_id ON refresh_tokens (parent_id);

-- +goose Down
DROP TABLE refresh_tokens;
