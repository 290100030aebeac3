-- Purpose: users keep the id another system knew them by (issue 21, item 1:
-- the full-fidelity import).
-- Depends on: 00001_users.
-- Key features:
--   * users.legacy_id is optional text, unique (idx_users_legacy_id): the
--     import sets it, admins find users by it, and every route and command
--     that takes a user's id also takes it.
--   * the import's re-runs skip rows whose legacy_id is already stored.

-- +goose Up
ALTER TABLE users ADD COLUMN legacy_id TEXT;
CREATE UNIQUE INDEX idx_users_legacy_id ON users (legacy_id);

-- +goose Down
DROP INDEX idx_users_legacy_id;
ALTER TABLE users DROP COLUMN legacy_id;
