-- Purpose: the comments' place in the SQLite migration list (issue 21,
-- item 6).
-- Depends on: 00001 to 00039.
-- Key features:
--   * SQLite has no COMMENT ON: PostgreSQL's migration of the same number
--     documents every table and the columns whose purpose their names do
--     not tell. This migration changes nothing, so that both engines keep
--     the same list.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
