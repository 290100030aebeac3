-- Purpose: engagement with items (seed 001): client_profiles, votes, favorites,
-- and item_stats, the exact counters of each item.
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * items live elsewhere (in Git) and are named here by their slug; no table
--     of items, no foreign key to one.
--   * client_profiles: one per user (unique user_id), made on the user's first
--     vote or favorite; status is active, inactive or suspended.
--   * votes keep seed 001's names: userid is the client profile's id (not the
--     user's), item_id the item's slug, value 1 or -1, one vote per profile
--     and item. favorites: one per user and item_slug (seed 001's userId is
--     user_id here, as the repository spells every seed name).
--   * item_stats keeps exact counters (upvotes, downvotes, favorites_count),
--     updated in each vote's and favorite's own transaction and spread over
--     shards (primary key (item_slug, shard)), read as their sum.
--   * everything cascades with the user (votes through client_profiles);
--     userd decrements the counters in the deleting transaction.

-- +goose Up
CREATE TABLE client_profiles (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan         TEXT NOT NULL DEFAULT 'free',
    status       TEXT NOT NULL DEFAULT 'active',
    display_name TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    city         TEXT NOT NULL DEFAULT '',
    bio          TEXT NOT NULL DEFAULT '',
    website      TEXT NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT chk_client_profiles_status CHECK (status IN ('active', 'inactive', 'suspended'))
);
CREATE UNIQUE INDEX idx_client_profiles_user_id ON client_profiles (user_id);
CREATE TABLE votes (
    id         uuid PRIMARY KEY,
    userid     uuid NOT NULL REFERENCES client_profiles (id) ON DELETE CASCADE,
    item_id    TEXT NOT NULL,
    value      INTEGER NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT chk_votes_value CHECK (value IN (1, -1))
);
CREATE UNIQUE INDEX idx_votes_userid_item_id ON votes (userid, item_id);
CREATE TABLE favorites (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_slug  TEXT NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_favorites_user_id_item_slug ON favorites (user_id, item_slug);
CREATE INDEX idx_favorites_user_id ON favorites (user_id, id);
CREATE TABLE item_stats (
    item_slug       TEXT NOT NULL,
    shard           INTEGER NOT NULL,
    upvotes         bigint NOT NULL DEFAULT 0,
    downvotes       bigint NOT NULL DEFAULT 0,
    favorites_count bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT pk_item_stats PRIMARY KEY (item_slug, shard)
);
-- +userd owned-by client_profiles.user_id
-- +userd owned-by favorites.user_id

-- +goose Down
DROP TABLE item_stats;
DROP TABLE favorites;
DROP TABLE votes;
DROP TABLE client_profiles;
