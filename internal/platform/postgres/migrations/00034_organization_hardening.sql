-- Purpose: organisations (issue 18), after their review: the hourly
-- clean-up's index on invitations, and the membership function callable by
-- userd's roles alone.
-- Depends on: 00032_organizations.
-- Key features:
--   * idx_organization_invitations_expires_at: organization.Expire deletes
--     the invitations that expired 30 days ago without reading the table.
--   * userd_organization_role(uuid): EXECUTE revoked from PUBLIC (functions
--     are executable by everyone by default) and granted to userd_app and
--     userd_system, the roles whose policies call it.

-- +goose Up
CREATE INDEX idx_organization_invitations_expires_at ON organization_invitations (expires_at);
REVOKE EXECUTE ON FUNCTION userd_organization_role(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION userd_organization_role(uuid) TO userd_app, userd_system;

-- +goose Down
GRANT EXECUTE ON FUNCTION userd_organization_role(uuid) TO PUBLIC;
REVOKE EXECUTE ON FUNCTION userd_organization_role(uuid) FROM userd_app, userd_system;
DROP INDEX idx_organization_invitations_expires_at;
