-- Purpose: referrals (seed 000) and the users who signed up through each.
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * one referral per user (unique user_id) with a unique, lower-case,
--     URL-safe slug: generated, or chosen by the user.
--   * referred_users replaces seed 000's array with a join table: one row per
--     referred user, unique referred_user_id (a user is referred at most
--     once); user_id is the referrer's, denormalised for row-level security.
--   * everything cascades with either user.

-- +goose Up
CREATE TABLE referrals (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    slug       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_referrals_user_id ON referrals (user_id);
CREATE UNIQUE INDEX idx_referrals_slug ON referrals (slug);
CREATE TABLE referred_users (
    referral_id      uuid NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    referred_user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL,
    CONSTRAINT pk_referred_users PRIMARY KEY (referral_id, referred_user_id),
    CONSTRAINT chk_referred_users_self CHECK (user_id <> referred_user_id)
);
CREATE UNIQUE INDEX idx_referred_users_referred_user_id ON referred_users (referred_user_id);
CREATE INDEX idx_referred_users_user_id ON referred_users (user_id, created_at);
-- +userd owned-by referrals.user_id
-- +userd owned-by referred_users.user_id

-- +goose Down
DROP TABLE referred_users;
DROP TABLE referrals;
