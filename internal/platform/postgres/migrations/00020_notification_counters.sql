-- Purpose: notification_counters, each user's exact count of unread
-- notifications, so that reading it costs one row whatever the number of
-- notifications.
-- Depends on: 00011_notifications.
-- Key features:
--   * one row per user, changed in the transaction of every change of a
--     notification's read state (create, read, read all, delete), only by the
--     rows that really changed: exact at every commit.
--   * filled from the notifications that exist when it is created.
--   * dies with its user; row-level security on user_id.

-- +goose Up
CREATE TABLE notification_counters (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    unread  bigint NOT NULL DEFAULT 0
);
SET LOCAL ROLE userd_system;
INSERT INTO notification_counters (user_id, unread)
    SELECT user_id, count(*) FROM notifications WHERE read_at IS NULL GROUP BY user_id;
RESET ROLE;
-- +userd owned-by notification_counters.user_id

-- +goose Down
DROP TABLE notification_counters;
