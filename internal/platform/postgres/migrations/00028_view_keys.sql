-- Purpose: the daily keys that hash anonymous viewers of items (issue 16
-- item 6): item_views holds a keyed hash of an anonymous viewer, never their
-- address or the id their client sent, under a key that lives two days.
-- Depends on: 00009_row_level_security, 00027_comments_views.
-- Key features:
--   * view_keys: one random key per UTC day (unique day), made on the day's
--     first anonymous view by whichever process comes first, so that every
--     process on the database hashes a viewer alike.
--   * secret is the key sealed with the master keyring (bound to the row's
--     id), re-sealed when the master key rotates.
--   * keys of days before yesterday are deleted once a newer key is made:
--     nobody can then recompute an old day's hashes from an address.
--   * no row-level security: the keys belong to no user, and one user's
--     transactions (userd_app) may not touch them at all; only
--     system-scoped transactions read and write them.

-- +goose Up
CREATE TABLE view_keys (
    id         uuid PRIMARY KEY,
    day        DATE NOT NULL,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_view_keys_day ON view_keys (day);
REVOKE ALL ON view_keys FROM userd_app;

-- +goose Down
DROP TABLE view_keys;
