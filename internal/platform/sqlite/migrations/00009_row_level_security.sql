-- Purpose: row-level security's place in the SQLite migration list.
-- Depends on: 00001 to 00008.
-- Key features:
--   * SQLite has no row-level security or roles: the store's user_id filter
--     on every user-owned query is the wall (PostgreSQL adds policies behind it
--     in its migration of the same number). This migration changes nothing, so
--     that both engines keep the same list.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
