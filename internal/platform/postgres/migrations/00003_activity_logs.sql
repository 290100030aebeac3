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
    id          uuid PRIMARY KEY,
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    client_id   uuid,
    action      text NOT NULL,
    target_type text,
    target_id   text,
    ip          text,
    user_agent  text,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);
CREATE INDEX idx_activity_logs_user_id ON activity_logs (user_id);
CREATE INDEX idx_activity_logs_action ON activity_logs (action, created_at);
CREATE INDEX idx_activity_logs_target ON activity_logs (target_type, target_id);
CREATE INDEX idx_activity_logs_created_at ON activity_logs (created_at);

-- +goose Down
DROP TABLE activity_logs;
