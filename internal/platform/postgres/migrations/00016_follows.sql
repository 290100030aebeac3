-- Purpose: the follow graph (seed 003): user_follows and user_follow_stats.
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * user_follows: unique (follower_id, following_id), no self-follow, foreign
--     keys to users (seed 003 checked them in the application; the database
--     does here), ids are UUIDv7 so that lists page newest first by id.
--   * user_follow_stats keeps exact counters, updated in each follow's own
--     transaction. A user's counters are spread over shards (up to 16 rows,
--     primary key (user_id, shard)) and read as their sum: the followers of a
--     hot account update different rows, so they do not queue on one row lock.
--   * follows of a deleted user go with them; userd decrements the other
--     users' counters in the deleting transaction.

-- +goose Up
CREATE TABLE user_follows (
    id           uuid PRIMARY KEY,
    follower_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    following_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    CONSTRAINT chk_user_follows_self CHECK (follower_id <> following_id)
);
CREATE UNIQUE INDEX idx_user_follows_follower_id_following_id ON user_follows (follower_id, following_id);
CREATE INDEX idx_user_follows_following_id ON user_follows (following_id, id);
CREATE INDEX idx_user_follows_follower_id ON user_follows (follower_id, id);
CREATE TABLE user_follow_stats (
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    shard            INTEGER NOT NULL,
    followers_count  bigint NOT NULL DEFAULT 0,
    followings_count bigint NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT pk_user_follow_stats PRIMARY KEY (user_id, shard)
);
-- +userd owned-by user_follow_stats.user_id
-- +userd owned-by user_follows.follower_id

-- +goose Down
DROP TABLE user_follow_stats;
DROP TABLE user_follows;
