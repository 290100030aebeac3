-- Purpose: dashboard_layouts, each user's dashboard widget layout (seed 000).
-- Depends on: 00001_users, 00009_row_level_security.
-- Key features:
--   * one row per user (unique user_id), created on the first write; desktop
--     and mobile are JSON arrays of widget objects, [] by default.
--   * version counts writes: it is the ETag, and a write names the version it
--     replaces (If-Match), so two concurrent writers cannot both win.
--   * dies with its user (ON DELETE CASCADE); row-level security on user_id.

-- +goose Up
CREATE TABLE dashboard_layouts (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    desktop    jsonb NOT NULL DEFAULT '[]',
    mobile     jsonb NOT NULL DEFAULT '[]',
    version    INTEGER NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_dashboard_layouts_user_id ON dashboard_layouts (user_id);
-- +userd owned-by dashboard_layouts.user_id

-- +goose Down
DROP TABLE dashboard_layouts;
