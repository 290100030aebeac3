-- Purpose: activity_logs, the append-only audit trail of who did what to whom.
-- Depends on: 00001_users.
-- Key features:
--   * user_id is the user the event belongs to (the actor, or the subject of
--     their own event); it cascades with the user, as seed 001 says.
--   * client_id is the client profile for client actors (seed 001); its
--     foreign key comes with client_profiles.
--   * action is a stable dotted code (auth.login, admin.user_updated, …);
--     target_type/target_id name what was acted on; metadata is JSON.
--   * written in the same transaction as the event it records.

-- +goose Up
CREATE TABLE activity_logs (
    id          TEXT PRIMARY KEY,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT,
    action      TEXT NOT NULL,
    target_type TEXT,
    target_id   TEXT,
    ip          TEXT,
    user_agent  TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX idx_activity_logs_user_id ON activity_logs (user_id);
CREATE INDEX idx_activity_logs_action ON activity_logs (action, created_at);
CREATE INDEX idx_activity_logs_target ON activity_logs (target_type, target_id);
CREATE INDEX idx_activity_logs_created_at ON activity_logs (created_at);

-- +goose Down
DROP TABLE activity_logs;
