-- Purpose: a referral stays counted when the referred user deletes their
-- account (seed 000 "tracks all successful referrals").
-- Depends on: 00012_referrals.
-- Key features:
--   * referred_users.referred_user_id is nulled (SET NULL) instead of the
--     row going with the referred user; the referrer's row still goes with
--     the referrer (CASCADE).
--   * each row gets its own id (a UUIDv7 of the row's time), the key of its
--     pages (GET /v1/me/referral/referred-users).

-- +goose Up
ALTER TABLE referred_users ADD COLUMN id uuid;
UPDATE referred_users SET id = (lpad(to_hex(floor(extract(epoch FROM created_at) * 1000)::bigint), 12, '0')
    || '7' || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid;
ALTER TABLE referred_users ALTER COLUMN id SET NOT NULL;
ALTER TABLE referred_users DROP CONSTRAINT pk_referred_users;
ALTER TABLE referred_users ADD CONSTRAINT pk_referred_users PRIMARY KEY (id);
ALTER TABLE referred_users ALTER COLUMN referred_user_id DROP NOT NULL;
ALTER TABLE referred_users DROP CONSTRAINT referred_users_referred_user_id_fkey;
ALTER TABLE referred_users ADD CONSTRAINT referred_users_referred_user_id_fkey
    FOREIGN KEY (referred_user_id) REFERENCES users (id) ON DELETE SET NULL;
DROP INDEX idx_referred_users_user_id;
CREATE INDEX idx_referred_users_user_id ON referred_users (user_id, id);

-- +goose Down
DELETE FROM referred_users WHERE referred_user_id IS NULL;
DROP INDEX idx_referred_users_user_id;
CREATE INDEX idx_referred_users_user_id ON referred_users (user_id, created_at);
ALTER TABLE referred_users DROP CONSTRAINT referred_users_referred_user_id_fkey;
ALTER TABLE referred_users ADD CONSTRAINT referred_users_referred_user_id_fkey
    FOREIGN KEY (referred_user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE referred_users ALTER COLUMN referred_user_id SET NOT NULL;
ALTER TABLE referred_users DROP CONSTRAINT pk_referred_users;
ALTER TABLE referred_users ADD CONSTRAINT pk_referred_users PRIMARY KEY (referral_id, referred_user_id);
ALTER TABLE referred_users DROP COLUMN id;
