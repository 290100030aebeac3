-- Purpose: collections (issue 20): records of an application's own kinds
-- (a trading journal's accounts, orders, tags…) that an operator declares,
-- owned by a user or an organisation, validated by a JSON Schema.
-- Depends on: 00001_users, 00009_row_level_security, 00032_organizations.
-- Key features:
--   * collections: one row per declared collection, named by a validated
--     identifier; owner user or organization; the declaration (schema,
--     unique keys, indexes, relations, limits) as JSON.
--   * collection_records: a record's data (a JSON object) with its
--     collection (CASCADE: a collection deleted by force takes its records),
--     its one owner, user_id or organization_id (CASCADE: a user's or an
--     organisation's deletion takes their records), and a version for
--     If-Match.
--   * the declared unique keys and indexes are not here: the collection
--     package creates each as a partial expression index on
--     collection_records (WHERE collection = 'NAME') when it is declared,
--     and drops it when it is no longer declared.
--   * the permission collections:write, builtin.
--   * (PostgreSQL adds row-level security by owner and membership; SQLite
--     has no roles: the collection package filters every query on the
--     owner.)

-- +goose Up
CREATE TABLE collections (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    declaration TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    CONSTRAINT chk_collections_owner CHECK (owner IN ('user', 'organization'))
);
CREATE TABLE collection_records (
    id              TEXT PRIMARY KEY,
    collection      TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    data            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT chk_collection_records_owner CHECK ((user_id IS NULL) <> (organization_id IS NULL))
);
CREATE INDEX idx_collection_records_user_id ON collection_records (user_id, collection, id);
CREATE INDEX idx_collection_records_organization_id ON collection_records (organization_id, collection, id);
CREATE INDEX idx_collection_records_collection ON collection_records (collection, id);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000014', 'collections:write', 'Declare, change and delete collections')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key = 'collections:write';
DROP TABLE collection_records;
DROP TABLE collections;
