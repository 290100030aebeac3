-- Purpose: API keys, the credentials of application back-ends, and the
-- audit trail's record of which key acted.
-- Depends on: 00001_users, 00003_activity_logs, 00008_rbac, 00023_permission_builtin.
-- Key features:
--   * api_keys: a name, the SHA-256 of the key (the key itself, udk_ and
--     256 random bits, is shown once and never stored), who created it (SET
--     NULL when that user goes), when it was last used, when it expires and
--     when it was revoked. Keys are revoked, not deleted: the trail keeps
--     naming them.
--   * api_keys.created_by_api_key_id: the key that made it, when a key did;
--     revoking a key revokes every key it made, and theirs.
--   * api_key_permissions: the permissions a key carries; a permission that
--     is deleted leaves every key that carried it (CASCADE).
--   * activity_logs.actor_api_key_id and actor_user_id: the key, or the
--     user other than the entry's own, that acted (an application reading
--     what a user stored, an administrator); no foreign keys: the trail
--     outlives what it names.
--   * the permissions api_keys:read, api_keys:write, vault:reveal and
--     synchronizations:reveal, builtin; one that an application had defined
--     under such a name becomes userd's.
--   * no row-level security: keys belong to no user, and one user's
--     transactions (userd_app) may not touch them at all; only system-scoped
--     transactions read and write them.

-- +goose Up
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    key_hash     bytea NOT NULL,
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_by_api_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX idx_api_keys_key_hash ON api_keys (key_hash);
CREATE INDEX idx_api_keys_created_by ON api_keys (created_by);
CREATE INDEX idx_api_keys_created_by_api_key_id ON api_keys (created_by_api_key_id);

CREATE TABLE api_key_permissions (
    api_key_id    uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    permission_id uuid NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    CONSTRAINT pk_api_key_permissions PRIMARY KEY (api_key_id, permission_id)
);
CREATE INDEX idx_api_key_permissions_permission_id ON api_key_permissions (permission_id);
REVOKE ALL ON api_keys, api_key_permissions FROM userd_app;

ALTER TABLE activity_logs ADD COLUMN actor_api_key_id uuid;
ALTER TABLE activity_logs ADD COLUMN actor_user_id uuid;
CREATE INDEX idx_activity_logs_actor_api_key_id ON activity_logs (actor_api_key_id);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000009', 'api_keys:read', 'List API keys'),
    ('00000000-0000-7000-8001-00000000000a', 'api_keys:write', 'Create and revoke API keys'),
    ('00000000-0000-7000-8001-00000000000b', 'vault:reveal', 'Read the secrets users stored in their credentials vault'),
    ('00000000-0000-7000-8001-00000000000c', 'synchronizations:reveal', 'Read the tokens of users'' synchronizations and run them')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('api_keys:read', 'api_keys:write', 'vault:reveal', 'synchronizations:reveal');
DROP INDEX idx_activity_logs_actor_api_key_id;
ALTER TABLE activity_logs DROP COLUMN actor_user_id;
ALTER TABLE activity_logs DROP COLUMN actor_api_key_id;
DROP TABLE api_key_permissions;
DROP TABLE api_keys;
