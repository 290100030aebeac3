-- Purpose: organisations (issue 18): businesses and teams with members,
-- roles and invitations, and the organisation a session is acting for.
-- Depends on: 00001_users, 00002_sessions, 00009_row_level_security.
-- Key features:
--   * organizations: kind business or team, a unique slug, an optional
--     parent (a team of a business; CASCADE: a business takes its teams
--     with it), created_by SET NULL (the organisation outlives its
--     creator), metadata JSON.
--   * organization_members: one row per (organization_id, user_id) with the
--     role owner, admin or member; CASCADE from both sides.
--   * organization_invitations: an email and a role, the token stored as
--     its SHA-256 hash (unique), invited_by SET NULL, expires_at and
--     accepted_at (an invitation works once).
--   * sessions.active_organization_id (SET NULL): the organisation whose
--     claims the session's access tokens carry while the user is a member.
--   * (PostgreSQL adds row-level security by membership; SQLite has no
--     roles: the organization package checks membership in every query.)

-- +goose Up
CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    slug       TEXT NOT NULL,
    parent_id  TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT chk_organizations_kind CHECK (kind IN ('business', 'team'))
);
CREATE UNIQUE INDEX idx_organizations_slug ON organizations (slug);
CREATE INDEX idx_organizations_parent_id ON organizations (parent_id);
CREATE INDEX idx_organizations_created_by ON organizations (created_by);
CREATE TABLE organization_members (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    joined_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, user_id),
    CONSTRAINT chk_organization_members_role CHECK (role IN ('owner', 'admin', 'member'))
);
CREATE INDEX idx_organization_members_user_id ON organization_members (user_id, organization_id);
CREATE TABLE organization_invitations (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    token_hash      BLOB NOT NULL,
    invited_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    accepted_at     TIMESTAMP,
    CONSTRAINT chk_organization_invitations_role CHECK (role IN ('owner', 'admin', 'member'))
);
CREATE UNIQUE INDEX idx_organization_invitations_token_hash ON organization_invitations (token_hash);
CREATE INDEX idx_organization_invitations_organization_id ON organization_invitations (organization_id, id);
CREATE INDEX idx_organization_invitations_invited_by ON organization_invitations (invited_by);
ALTER TABLE sessions ADD COLUMN active_organization_id TEXT REFERENCES organizations (id) ON DELETE SET NULL;
CREATE INDEX idx_sessions_active_organization_id ON sessions (active_organization_id);

-- +goose Down
DROP INDEX idx_sessions_active_organization_id;
ALTER TABLE sessions DROP COLUMN active_organization_id;
DROP TABLE organization_invitations;
DROP TABLE organization_members;
DROP TABLE organizations;
