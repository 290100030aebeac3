-- Purpose: role-based access control: roles, permissions, role_permissions, user_roles.
-- Depends on: 00001_users.
-- Key features:
--   * roles have a name (unique), a description and an admin flag: an admin
--     role passes every permission check.
--   * permissions are keys such as users:read; role_permissions and
--     user_roles are junction tables with composite primary keys that cascade
--     with either side (seed 001).
--   * seeds the roles of seed 003 (END_USER, the default of every new user,
--     OWNER, AGENT, BROKER, TC_ADMIN, OPT_USER) and ADMIN, with fixed ids, and
--     gives END_USER to every existing user.

-- +goose Up
CREATE TABLE roles (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    is_admin    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_roles_name ON roles (name);
CREATE TABLE permissions (
    id          uuid PRIMARY KEY,
    key         text NOT NULL,
    description text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX idx_permissions_key ON permissions (key);
CREATE TABLE role_permissions (
    role_id       uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id uuid NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    CONSTRAINT pk_role_permissions PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX idx_role_permissions_permission_id ON role_permissions (permission_id);
CREATE TABLE user_roles (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    CONSTRAINT pk_user_roles PRIMARY KEY (user_id, role_id)
);
CREATE INDEX idx_user_roles_role_id ON user_roles (role_id);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000001', 'account:read', 'Read one''s own account, sessions and data'),
    ('00000000-0000-7000-8001-000000000002', 'account:write', 'Change one''s own account, sessions and data'),
    ('00000000-0000-7000-8001-000000000003', 'users:read', 'Read any user'),
    ('00000000-0000-7000-8001-000000000004', 'users:write', 'Create, change, suspend, ban and delete any user'),
    ('00000000-0000-7000-8001-000000000005', 'roles:read', 'Read roles and permissions'),
    ('00000000-0000-7000-8001-000000000006', 'roles:write', 'Create, change and delete roles; assign them to users'),
    ('00000000-0000-7000-8001-000000000007', 'notifications:send', 'Send notifications to users'),
    ('00000000-0000-7000-8001-000000000008', 'activity_logs:read', 'Read the audit trail');
INSERT INTO roles (id, name, description, is_admin, created_at, updated_at) VALUES
    ('00000000-0000-7000-8000-000000000001', 'END_USER', 'Regular end user: every new user has it', false, now(), now()),
    ('00000000-0000-7000-8000-000000000002', 'OWNER', 'Property owner', false, now(), now()),
    ('00000000-0000-7000-8000-000000000003', 'AGENT', 'Real estate agent', false, now(), now()),
    ('00000000-0000-7000-8000-000000000004', 'BROKER', 'Real estate broker', false, now(), now()),
    ('00000000-0000-7000-8000-000000000005', 'TC_ADMIN', 'Terms and conditions administrator', false, now(), now()),
    ('00000000-0000-7000-8000-000000000006', 'OPT_USER', 'Operations user', false, now(), now()),
    ('00000000-0000-7000-8000-000000000007', 'ADMIN', 'Administrator: passes every permission check', true, now(), now());
INSERT INTO role_permissions (role_id, permission_id)
    SELECT r.id, p.id FROM roles r, permissions p
    WHERE r.name IN ('END_USER', 'OWNER', 'AGENT', 'BROKER', 'TC_ADMIN', 'OPT_USER') AND p.key IN ('account:read', 'account:write');
INSERT INTO user_roles (user_id, role_id, created_at)
    SELECT id, '00000000-0000-7000-8000-000000000001', created_at FROM users;

-- +goose Down
DROP TABLE user_roles;
DROP TABLE role_permissions;
DROP TABLE permissions;
DROP TABLE roles;
