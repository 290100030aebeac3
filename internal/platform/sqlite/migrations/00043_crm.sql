-- Purpose: the rest of seed 001's administration tables (issue 21, item 5):
-- companies, the mappings of userd's objects to an external CRM's, the
-- Twenty CRM connection, and the record of the demonstration seed.
-- Depends on: 00001_users, 00023_permission_builtin, 00025_engagement.
-- Key features:
--   * companies (seed 001: no foreign keys): name; domain stored lower-cased
--     and unique case-insensitively when set (idx_companies_domain on
--     lower(domain); NULLs do not collide); metadata, a JSON object.
--   * client_profiles.company_id (SET NULL): the company a client profile
--     belongs to, set by an administrator; a deleted company leaves its
--     profiles without one.
--   * integration_mappings (seed 001): one row per (ever_id, object_type),
--     the unique key that makes an upsert of concurrent writers land once;
--     idx_integration_mappings_external serves the reverse look-up by
--     (external_system, external_id).
--   * twenty_crm_config: a singleton, enforced by the unique expression
--     index idx_twenty_crm_config_singleton on a constant: a second row is
--     refused by the database itself. The API key is sealed with the
--     keyring (NULL: none); updated_by SET NULL.
--   * seed_status: a singleton whose id is always 1 (the primary key, the
--     unique index on id, and a CHECK): when the demonstration data was
--     loaded, by whom, from which version and file checksum, and a summary.
--   * the permissions companies:write, integrations:write, crm:write and
--     seed:write, builtin.

-- +goose Up
CREATE TABLE companies (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    domain     TEXT,
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX idx_companies_domain ON companies (lower(domain));
ALTER TABLE client_profiles ADD COLUMN company_id TEXT REFERENCES companies (id) ON DELETE SET NULL;
CREATE INDEX idx_client_profiles_company_id ON client_profiles (company_id);
CREATE TABLE integration_mappings (
    id              TEXT PRIMARY KEY,
    ever_id         TEXT NOT NULL,
    object_type     TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    external_system TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX idx_integration_mappings_ever_object ON integration_mappings (ever_id, object_type);
CREATE INDEX idx_integration_mappings_external ON integration_mappings (external_system, external_id);
CREATE TABLE twenty_crm_config (
    id           TEXT PRIMARY KEY,
    base_url     TEXT NOT NULL,
    api_key      BLOB,
    enabled      BOOLEAN NOT NULL DEFAULT 0,
    sync_options TEXT NOT NULL DEFAULT '{}',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    updated_by   TEXT REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX idx_twenty_crm_config_singleton ON twenty_crm_config ((true));
CREATE INDEX idx_twenty_crm_config_updated_by ON twenty_crm_config (updated_by);
CREATE TABLE seed_status (
    id         INTEGER NOT NULL PRIMARY KEY,
    version    TEXT NOT NULL,
    checksum   TEXT,
    seeded_by  TEXT NOT NULL,
    summary    TEXT NOT NULL DEFAULT '{}',
    seeded_at  TIMESTAMP NOT NULL,
    CONSTRAINT chk_seed_status_singleton CHECK (id = 1)
);
CREATE UNIQUE INDEX idx_seed_status_id ON seed_status (id);

INSERT INTO permissions (id, key, description) VALUES
    ('00000000-0000-7000-8001-000000000019', 'companies:write', 'Read, create, change and delete companies, and link client profiles to them'),
    ('00000000-0000-7000-8001-000000000020', 'integrations:write', 'Read, upsert and delete the mappings of userd objects to external systems'),
    ('00000000-0000-7000-8001-000000000021', 'crm:write', 'Read and change the Twenty CRM connection (its API key is write-only)'),
    ('00000000-0000-7000-8001-000000000022', 'seed:write', 'Read, mark and clear the demonstration seed''s status')
    ON CONFLICT (key) DO UPDATE SET builtin = true, description = excluded.description;

-- +goose Down
DELETE FROM permissions WHERE key IN ('companies:write', 'integrations:write', 'crm:write', 'seed:write');
DROP TABLE seed_status;
DROP TABLE twenty_crm_config;
DROP TABLE integration_mappings;
DROP INDEX idx_client_profiles_company_id;
ALTER TABLE client_profiles DROP COLUMN company_id;
DROP TABLE companies;
