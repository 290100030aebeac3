-- Purpose: the rest of engagement (seed 001): comments, item_views, the
-- daily counters that rankings read, and activity_logs.client_id as a real
-- foreign key to client_profiles.
-- Depends on: 00003_activity_logs, 00025_engagement.
-- Key features:
--   * comments keep seed 001's rule: user_id is the author's client profile
--     (CASCADE), item_id the item's slug (no foreign key). parent_id is the
--     comment replied to (one level); a reply outlives a parent that went
--     with its author's account (SET NULL: it becomes a top-level comment).
--     A deleted comment that has replies stays as a tombstone (deleted_at
--     set, body emptied).
--   * item_views: no foreign keys; one row per item, viewer and UTC day
--     (primary key), the viewer being a user id or a keyed hash of an
--     anonymous viewer, never an address.
--   * item_stats gains comments_count and views_count (still exact sums over
--     shards); item_daily_stats holds what each day added, sharded the same
--     way, which period rankings and trending read.
--   * activity_logs.client_id references client_profiles and cascades with
--     it (seed 001's Cascade Delete Summary).
--   * the permission comments:moderate, builtin: edit and delete anyone's
--     comments.

-- +goose Up
CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES client_profiles (id) ON DELETE CASCADE,
    item_id    TEXT NOT NULL,
    parent_id  TEXT REFERENCES comments (id) ON DELETE SET NULL,
    body       TEXT NOT NULL,
    edited_at  TIMESTAMP,
    deleted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_comments_item_id ON comments (item_id, parent_id, id);
CREATE INDEX idx_comments_user_id ON comments (user_id, id);
CREATE INDEX idx_comments_parent_id ON comments (parent_id, id);
CREATE TABLE item_views (
    item_id         TEXT NOT NULL,
    viewer_id       TEXT NOT NULL,
    viewed_date_utc DATE NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    CONSTRAINT pk_item_views PRIMARY KEY (item_id, viewer_id, viewed_date_utc)
);
CREATE INDEX idx_item_views_viewed_date_utc ON item_views (viewed_date_utc);
ALTER TABLE item_stats ADD COLUMN comments_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE item_stats ADD COLUMN views_count INTEGER NOT NULL DEFAULT 0;
CREATE TABLE item_daily_stats (
    item_slug       TEXT NOT NULL,
    day             DATE NOT NULL,
    shard           INTEGER NOT NULL,
    upvotes         INTEGER NOT NULL DEFAULT 0,
    downvotes       INTEGER NOT NULL DEFAULT 0,
    favorites_count INTEGER NOT NULL DEFAULT 0,
    comments_count  INTEGER NOT NULL DEFAULT 0,
    views_count     INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT pk_item_daily_stats PRIMARY KEY (item_slug, day, shard)
);
CREATE INDEX idx_item_daily_stats_day ON item_daily_stats (day);
-- SQLite adds no foreign key to a column in place: client_id, never written
-- before this migration, is dropped and added again with its reference.
ALTER TABLE activity_logs DROP COLUMN client_id;
ALTER TABLE activity_logs ADD COLUMN client_id TEXT REFERENCES client_profiles (id) ON DELETE CASCADE;
CREATE INDEX idx_activity_logs_client_id ON activity_logs (client_id);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-00000000000e', 'comments:moderate', 'Edit and delete anyone''s comments on items')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key = 'comments:moderate';
DROP INDEX idx_activity_logs_client_id;
ALTER TABLE activity_logs DROP COLUMN client_id;
ALTER TABLE activity_logs ADD COLUMN client_id TEXT;
DROP TABLE item_daily_stats;
ALTER TABLE item_stats DROP COLUMN views_count;
ALTER TABLE item_stats DROP COLUMN comments_count;
DROP TABLE item_views;
DROP TABLE comments;
