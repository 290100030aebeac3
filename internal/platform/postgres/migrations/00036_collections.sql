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
--     cannot change them.
--   * the declared indexes are made and dropped by two SECURITY DEFINER
--     functions, userd_collection_create_index and
--     userd_collection_drop_index, owned by the role userd_collection_ddl,
--     which owns collection_records and alone may create in the schema
--     public: they check every identifier, kind and count and build the
--     statement themselves, so that neither userd_app nor userd_system may
--     alter the table, its policies or its triggers, or create objects in
--     public (FORCE keeps the owner under the policies too).

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
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'userd_collection_ddl') THEN
        CREATE ROLE userd_collection_ddl NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
END
$$;
-- +goose StatementEnd
GRANT userd_collection_ddl TO CURRENT_USER;
GRANT USAGE, CREATE ON SCHEMA public TO userd_collection_ddl;
GRANT SELECT ON collections TO userd_collection_ddl;
ALTER TABLE collection_records OWNER TO userd_collection_ddl;
GRANT SELECT, INSERT, UPDATE, DELETE ON collection_records TO userd_app, userd_system;

-- +goose StatementBegin
CREATE FUNCTION userd_collection_create_index(ix text, kind text, coll text, owner_col text, field_list text, kind_list text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    fields text[] := string_to_array(field_list, ',');
    kinds text[] := string_to_array(kind_list, ',');
    cols text[];
    i int;
BEGIN
    IF ix IS NULL OR ix !~ '^c[uir]_[a-z][a-z0-9_]{0,39}_[0-9a-f]{12}$' OR kind IS NULL OR substr(ix, 2, 1) <> kind
       OR coll IS NULL OR coll !~ '^[a-z][a-z0-9_]{0,62}$' OR owner_col IS NULL OR owner_col NOT IN ('user_id', 'organization_id')
       OR coalesce(cardinality(fields), 0) NOT BETWEEN 1 AND 4 OR cardinality(kinds) IS DISTINCT FROM cardinality(fields)
       OR NOT EXISTS (SELECT 1 FROM public.collections c WHERE c.name = coll
                      AND c.owner = CASE owner_col WHEN 'user_id' THEN 'user' ELSE 'organization' END) THEN
        RAISE EXCEPTION 'not an index of a collection' USING ERRCODE = '22023';
    END IF;
    cols := ARRAY[quote_ident(owner_col)];
    FOR i IN 1 .. cardinality(fields) LOOP
        IF fields[i] IS NULL OR fields[i] !~ '^[A-Za-z_][A-Za-z0-9_]{0,62}$' THEN
            RAISE EXCEPTION 'not a field name' USING ERRCODE = '22023';
        END IF;
        cols := cols || CASE kinds[i] WHEN 'text' THEN format('(data->>%L)', fields[i])
                                      WHEN 'numeric' THEN format('((data->>%L)::numeric)', fields[i])
                                      WHEN 'boolean' THEN format('((data->>%L)::boolean)', fields[i]) END;
        IF cols[i + 1] IS NULL THEN
            RAISE EXCEPTION 'not a field kind' USING ERRCODE = '22023';
        END IF;
    END LOOP;
    IF kind = 'i' THEN
        cols := cols || 'id'::text;
    END IF;
    EXECUTE format('CREATE %sINDEX %I ON public.collection_records (%s) WHERE collection = %L',
                   CASE kind WHEN 'u' THEN 'UNIQUE ' ELSE '' END, ix, array_to_string(cols, ', '), coll);
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION userd_collection_drop_index(ix text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF ix IS NULL OR ix !~ '^c[uir]_[a-z][a-z0-9_]{0,39}_[0-9a-f]{12}$' OR NOT EXISTS (
       SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relname = ix AND c.relnamespace = 'public'::regnamespace AND i.indrelid = 'public.collection_records'::regclass) THEN
        RAISE EXCEPTION 'not an index of a collection' USING ERRCODE = '22023';
    END IF;
    EXECUTE format('DROP INDEX public.%I', ix);
END
$$;
-- +goose StatementEnd
ALTER FUNCTION userd_collection_create_index(text, text, text, text, text, text) OWNER TO userd_collection_ddl;
ALTER FUNCTION userd_collection_drop_index(text) OWNER TO userd_collection_ddl;
REVOKE ALL ON FUNCTION userd_collection_create_index(text, text, text, text, text, text), userd_collection_drop_index(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION userd_collection_create_index(text, text, text, text, text, text), userd_collection_drop_index(text) TO userd_system;

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000014', 'collections:write', 'Declare, change and delete collections')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DROP FUNCTION userd_collection_drop_index(text);
DROP FUNCTION userd_collection_create_index(text, text, text, text, text, text);
DELETE FROM permissions WHERE key = 'collections:write';
DROP TABLE collection_records;
DROP TABLE collections;
REVOKE CREATE ON SCHEMA public FROM userd_collection_ddl;
