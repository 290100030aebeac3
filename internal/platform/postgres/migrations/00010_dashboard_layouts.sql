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
ALTER TABLE dashboard_layouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE dashboard_layouts FORCE ROW LEVEL SECURITY;
CREATE POLICY dashboard_layouts_app ON dashboard_layouts TO userd_app
    USING (user_id = NULLIF(current_setting('userd.user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('userd.user_id', true), '')::uuid);
CREATE POLICY dashboard_layouts_system ON dashboard_layouts TO userd_system USING (true) WITH CHECK (true);

-- +goose Down
DROP TABLE dashboard_layouts;
