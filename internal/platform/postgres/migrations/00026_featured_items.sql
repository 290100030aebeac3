-- Purpose: featured items (seed 001, issue 16 item 7): the application's
-- items that an administrator or an application puts forward, in order,
-- within a window of time.
-- Depends on: 00008_rbac, 00023_permission_builtin.
-- Key features:
--   * featured_items (seed 001): no foreign keys; item_slug names the item
--     (kept in Git, no table of items here), one row per item (unique);
--     featured_by is plain text (a user's or an API key's id, or what the
--     caller wrote), not a foreign key.
--   * position orders the list (then item_slug); featured_from and
--     featured_until bound the window (either may be open): an item is
--     featured from featured_from (included) until featured_until (excluded).
--   * the permission items:feature, builtin; one that an application had
--     defined under that name becomes userd's.
--   * no row-level security: featured items belong to no user, and one
--     user's transactions (userd_app) may not touch them at all; only
--     system-scoped transactions read and write them.

-- +goose Up
CREATE TABLE featured_items (
    id             uuid PRIMARY KEY,
    item_slug      TEXT NOT NULL,
    position       INTEGER NOT NULL DEFAULT 0,
    featured_from  timestamptz,
    featured_until timestamptz,
    featured_by    TEXT,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_featured_items_item_slug ON featured_items (item_slug);
CREATE INDEX idx_featured_items_position ON featured_items (position, item_slug);
REVOKE ALL ON featured_items FROM userd_app;

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-00000000000d', 'items:feature', 'Feature items and take them off the featured list')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key = 'items:feature';
DROP TABLE featured_items;
