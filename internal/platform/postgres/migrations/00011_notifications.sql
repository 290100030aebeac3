-- Purpose: notifications, what userd and administrators tell a user (seeds 000 and 001).
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * seed 000's title, description and read_at (null = unread), seed 001's
--     type, and a data JSON object; ids are UUIDv7, so id order is time order.
--   * the indexes of seed 001 (user, type, read state, time): a list is a
--     keyset walk of (user_id, id); unread counts and lists use a partial
--     index of the unread rows only.
--   * dies with its user (ON DELETE CASCADE); row-level security on user_id.

-- +goose Up
CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type        text NOT NULL,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    data        jsonb NOT NULL DEFAULT '{}',
    read_at     timestamptz,
    created_at  timestamptz NOT NULL
);
CREATE INDEX idx_notifications_user_id ON notifications (user_id, id);
CREATE INDEX idx_notifications_unread ON notifications (user_id, id) WHERE read_at IS NULL;
CREATE INDEX idx_notifications_type ON notifications (type);
CREATE INDEX idx_notifications_created_at ON notifications (created_at);
-- +userd owned-by notifications.user_id

-- +goose Down
DROP TABLE notifications;
