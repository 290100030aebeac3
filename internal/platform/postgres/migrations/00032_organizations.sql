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
--   * row-level security by membership, written out (the generated
--     owned-by policies compare one column with the user): userd_app reads
--     the organisations it is a member of, their members and, as an admin
--     or owner, their invitations; every write is the system role's, in
--     transactions whose rules the organization package checks. The
--     membership test is the function userd_organization_role, SECURITY
--     DEFINER and owned by userd_system (whose policies see every row), so
--     that the policy of organization_members does not recurse into itself.

-- +goose Up
CREATE TABLE organizations (
    id         uuid PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    slug       TEXT NOT NULL,
    parent_id  uuid REFERENCES organizations (id) ON DELETE CASCADE,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    metadata   jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT chk_organizations_kind CHECK (kind IN ('business', 'team'))
);
CREATE UNIQUE INDEX idx_organizations_slug ON organizations (slug);
CREATE INDEX idx_organizations_parent_id ON organizations (parent_id);
CREATE INDEX idx_organizations_created_by ON organizations (created_by);
CREATE TABLE organization_members (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    joined_at       timestamptz NOT NULL,
    PRIMARY KEY (organization_id, user_id),
    CONSTRAINT chk_organization_members_role CHECK (role IN ('owner', 'admin', 'member'))
);
CREATE INDEX idx_organization_members_user_id ON organization_members (user_id, organization_id);
CREATE TABLE organization_invitations (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    token_hash      bytea NOT NULL,
    invited_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    CONSTRAINT chk_organization_invitations_role CHECK (role IN ('owner', 'admin', 'member'))
);
CREATE UNIQUE INDEX idx_organization_invitations_token_hash ON organization_invitations (token_hash);
CREATE INDEX idx_organization_invitations_organization_id ON organization_invitations (organization_id, id);
CREATE INDEX idx_organization_invitations_invited_by ON organization_invitations (invited_by);
ALTER TABLE sessions ADD COLUMN active_organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL;
CREATE INDEX idx_sessions_active_organization_id ON sessions (active_organization_id);

-- The transaction's user's role in an organisation, NULL for none.
-- +goose StatementBegin
CREATE FUNCTION userd_organization_role(org uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT role FROM public.organization_members
          WHERE organization_id = org AND user_id = NULLIF(current_setting('userd.user_id', true), '')::uuid $$;
-- +goose StatementEnd
GRANT CREATE ON SCHEMA public TO userd_system;
ALTER FUNCTION userd_organization_role(uuid) OWNER TO userd_system;
REVOKE CREATE ON SCHEMA public FROM userd_system;

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY organizations_app_read ON organizations FOR SELECT TO userd_app
    USING (userd_organization_role(id) IS NOT NULL);
CREATE POLICY organizations_system ON organizations TO userd_system USING (true) WITH CHECK (true);
ALTER TABLE organization_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_members FORCE ROW LEVEL SECURITY;
CREATE POLICY organization_members_app_read ON organization_members FOR SELECT TO userd_app
    USING (userd_organization_role(organization_id) IS NOT NULL);
CREATE POLICY organization_members_system ON organization_members TO userd_system USING (true) WITH CHECK (true);
ALTER TABLE organization_invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY organization_invitations_app_read ON organization_invitations FOR SELECT TO userd_app
    USING (userd_organization_role(organization_id) IN ('owner', 'admin'));
CREATE POLICY organization_invitations_system ON organization_invitations TO userd_system USING (true) WITH CHECK (true);

-- +goose Down
DROP INDEX idx_sessions_active_organization_id;
ALTER TABLE sessions DROP COLUMN active_organization_id;
DROP TABLE organization_invitations;
DROP TABLE organization_members;
DROP TABLE organizations;
DROP FUNCTION userd_organization_role(uuid);
