-- Purpose: a referral stays counted when the referred user deletes their
-- account (seed 000 "tracks all successful referrals").
-- Depends on: 00012_referrals.
-- Key features:
--   * referred_users.referred_user_id is nulled (SET NULL) instead of the
--     row going with the referred user; the referrer's row still goes with
--     the referrer (CASCADE).
--   * each row gets its own id (a UUIDv7 of the row's time), the key of its
--     pages (GET /v1/me/referral/referred-users).
--   * SQLite changes a column's constraints by copying the table.

-- +goose Up
DROP INDEX idx_referred_users_referred_user_id;
DROP INDEX idx_referred_users_user_id;
ALTER TABLE referred_users RENAME TO referred_users_before;
CREATE TABLE referred_users (
    id               TEXT PRIMARY KEY,
    referral_id      TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    referred_user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at       TIMESTAMP NOT NULL,
    CONSTRAINT chk_referred_users_self CHECK (user_id <> referred_user_id)
);
INSERT INTO referred_users (id, referral_id, user_id, referred_user_id, created_at)
    SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-8' || substr(r, 4, 3) || '-' || substr(r, 7, 12),
        referral_id, user_id, referred_user_id, created_at
    FROM (SELECT *, printf('%012x', CAST(round((julianday(created_at) - 2440587.5) * 86400000) AS INTEGER)) AS h,
        lower(hex(randomblob(9))) AS r FROM referred_users_before);
DROP TABLE referred_users_before;
CREATE UNIQUE INDEX idx_referred_users_referred_user_id ON referred_users (referred_user_id);
CREATE INDEX idx_referred_users_user_id ON referred_users (user_id, id);

-- +goose Down
DROP INDEX idx_referred_users_referred_user_id;
DROP INDEX idx_referred_users_user_id;
ALTER TABLE referred_users RENAME TO referred_users_after;
CREATE TABLE referred_users (
    referral_id      TEXT NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    referred_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at       TIMESTAMP NOT NULL,
    CONSTRAINT pk_referred_users PRIMARY KEY (referral_id, referred_user_id),
    CONSTRAINT chk_referred_users_self CHECK (user_id <> referred_user_id)
);
INSERT INTO referred_users SELECT referral_id, user_id, referred_user_id, created_at FROM referred_users_after WHERE referred_user_id IS NOT NULL;
DROP TABLE referred_users_after;
CREATE UNIQUE INDEX idx_referred_users_referred_user_id ON referred_users (referred_user_id);
CREATE INDEX idx_referred_users_user_id ON referred_users (user_id, created_at);
