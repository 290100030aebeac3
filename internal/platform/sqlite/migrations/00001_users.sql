-- Purpose: the users table, the identity that everything else in userd belongs to.
-- Depends on: nothing.
-- Key features:
--   * id is a UUIDv7 in text form (PostgreSQL keeps it as uuid).
--   * email is stored lower-cased by userd and unique; username is unique
--     case-insensitively (lower() over an ASCII-only alphabet, so both engines
--     agree); phone_number (E.164) and auth_user_id (the subject at an external
--     identity provider) are unique.
--   * a user has at least one of email, username, phone_number, auth_user_id.
--   * status is active, suspended or banned.

-- +goose Up
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT,
    username            TEXT,
    phone_number        TEXT,
    password_hash       TEXT,
    auth_user_id        TEXT,
    first_name          TEXT,
    last_name           TEXT,
    avatar_url          TEXT,
    country             TEXT,
    city                TEXT,
    zipcode             TEXT,
    language            TEXT NOT NULL DEFAULT 'en',
    is_first_connection BOOLEAN NOT NULL DEFAULT 1,
    is_beta             BOOLEAN NOT NULL DEFAULT 0,
    status              TEXT NOT NULL DEFAULT 'active',
    email_verified_at   TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    CONSTRAINT chk_users_identifier CHECK (email IS NOT NULL OR username IS NOT NULL OR phone_number IS NOT NULL OR auth_user_id IS NOT NULL),
    CONSTRAINT chk_users_status CHECK (status IN ('active', 'suspended', 'banned'))
);
CREATE UNIQUE INDEX idx_users_email ON users (email);
CREATE UNIQUE INDEX idx_users_username ON users (lower(username));
CREATE UNIQUE INDEX idx_users_phone_number ON users (phone_number);
CREATE UNIQUE INDEX idx_users_auth_user_id ON users (auth_user_id);

-- +goose Down
DROP TABLE users;
