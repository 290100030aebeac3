-- Purpose: application-defined permissions beside userd's own: mark which
-- permissions userd itself defines, so that those cannot be deleted.
-- Depends on: 00008_rbac.
-- Key features:
--   * permissions.builtin: true for every permission that a migration
--     seeds (the default, so that a seed of a later migration is builtin
--     without saying so); the administration API inserts the
--     application's permissions (POST /v1/admin/permissions) with false,
--     and only those can be deleted.

-- +goose Up
ALTER TABLE permissions ADD COLUMN builtin boolean NOT NULL DEFAULT true;

-- +goose Down
ALTER TABLE permissions DROP COLUMN builtin;
