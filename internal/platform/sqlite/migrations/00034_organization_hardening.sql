-- Purpose: organisations (issue 18), after their review: the hourly
-- clean-up's index on invitations.
-- Depends on: 00032_organizations.
-- Key features:
--   * idx_organization_invitations_expires_at: organization.Expire deletes
--     the invitations that expired 30 days ago without reading the table.
--   * (PostgreSQL also limits EXECUTE of its membership function to
--     userd's roles; SQLite has neither roles nor functions.)

-- +goose Up
CREATE INDEX idx_organization_invitations_expires_at ON organization_invitations (expires_at);

-- +goose Down
DROP INDEX idx_organization_invitations_expires_at;
