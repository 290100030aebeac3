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
--   * row-level security: userd_app reads and writes its own records and
--     those of the organisations it is a member of (the collection package
--     checks the member's role); userd_app reads the declarations and
--     cannot change them. collection_records belongs to userd_system, which
--     may create in the schema public, so that the system-scoped
--     transactions that declare collections create and drop their indexes
--     (FORCE keeps the owner under the policies).

-- +goose Up
CREATE TABLE collections (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    declaration jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT chk_collections_owner CHECK (owner IN ('user', 'organization'))
);
CREATE TABLE collection_records (
    id              uuid PRIMARY KEY,
    collection      TEXT NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
    user_id         uuid REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    data            jsonb NOT NULL,
    version         INTEGER NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT chk_collection_records_owner CHECK ((user_id IS NULL) <> (organization_id IS NULL))
);
CREATE INDEX idx_collection_records_user_id ON collection_records (user_id, collection, id);
CREATE INDEX idx_collection_records_organization_id ON collection_records (organization_id, collection, id);
CREATE INDEX idx_collection_records_collection ON collection_records (collection, id);

REVOKE INSERT, UPDATE, DELETE ON collections FROM userd_app;
ALTER TABLE collection_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE collection_records FORCE ROW LEVEL SECURITY;
CREATE POLICY collection_records_app ON collection_records TO userd_app
    USING (user_id = NULLIF(current_setting('userd.user_id', true), '')::uuid OR userd_organization_role(organization_id) IS NOT NULL)
    WITH CHECK (user_id = NULLIF(current_setting('userd.user_id', true), '')::uuid OR userd_organization_role(organization_id) IS NOT NULL);
CREATE POLICY collection_records_system ON collection_records TO userd_system USING (true) WITH CHECK (true);
GRANT CREATE ON SCHEMA public TO userd_system;
ALTER TABLE collection_records OWNER TO userd_system;

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000014', 'collections:write', 'Declare, change and delete collections')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
REVOKE CREATE ON SCHEMA public FROM userd_system;
DELETE FROM permissions WHERE key = 'collections:write';
DROP TABLE collection_records;
DROP TABLE collections;
