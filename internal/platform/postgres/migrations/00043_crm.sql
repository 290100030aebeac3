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
--   * userd_app may read these tables and write none of them: the crm
--     package writes them system-scoped (a user's deletion only nulls
--     twenty_crm_config.updated_by, so that table keeps the default grants).
--   * a comment on every table and on the columns their names do not explain.

-- +goose Up
CREATE TABLE companies (
    id         uuid PRIMARY KEY,
    name       TEXT NOT NULL,
    domain     TEXT,
    metadata   jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_companies_domain ON companies (lower(domain));
ALTER TABLE client_profiles ADD COLUMN company_id uuid REFERENCES companies (id) ON DELETE SET NULL;
CREATE INDEX idx_client_profiles_company_id ON client_profiles (company_id);
CREATE TABLE integration_mappings (
    id              uuid PRIMARY KEY,
    ever_id         TEXT NOT NULL,
    object_type     TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    external_system TEXT NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX idx_integration_mappings_ever_object ON integration_mappings (ever_id, object_type);
CREATE INDEX idx_integration_mappings_external ON integration_mappings (external_system, external_id);
CREATE TABLE twenty_crm_config (
    id           uuid PRIMARY KEY,
    base_url     TEXT NOT NULL,
    api_key      bytea,
    enabled      BOOLEAN NOT NULL DEFAULT false,
    sync_options jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    updated_by   uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX idx_twenty_crm_config_singleton ON twenty_crm_config ((true));
CREATE INDEX idx_twenty_crm_config_updated_by ON twenty_crm_config (updated_by);
CREATE TABLE seed_status (
    id         INTEGER PRIMARY KEY,
    version    TEXT NOT NULL,
    checksum   TEXT,
    seeded_by  TEXT NOT NULL,
    summary    jsonb NOT NULL DEFAULT '{}',
    seeded_at  timestamptz NOT NULL,
    CONSTRAINT chk_seed_status_singleton CHECK (id = 1)
);
CREATE UNIQUE INDEX idx_seed_status_id ON seed_status (id);

REVOKE INSERT, UPDATE, DELETE ON companies, integration_mappings, seed_status FROM userd_app;

COMMENT ON TABLE companies IS 'Companies (seed 001, crm package) that client profiles may belong to; written by administrators and the demonstration seed.';
COMMENT ON COLUMN companies.domain IS 'The company''s web domain, a hostname stored lower-cased; unique case-insensitively when set (idx_companies_domain).';
COMMENT ON COLUMN companies.metadata IS 'A JSON object of the operator''s own fields (at most 16 KiB); {} when none.';
COMMENT ON COLUMN client_profiles.company_id IS 'The company the client profile belongs to, set by an administrator (crm package); SET NULL when the company is deleted.';
COMMENT ON TABLE integration_mappings IS 'Which object of an external system (a CRM) each userd object is (seed 001, crm package): one row per (ever_id, object_type), written by upsert.';
COMMENT ON COLUMN integration_mappings.ever_id IS 'The id of the object in userd or in the application (a user, a company, an organisation, a record…), as text: no foreign key, so a mapping may name any object.';
COMMENT ON COLUMN integration_mappings.object_type IS 'The kind of object ever_id names: lower-case letters, digits and _ (user, company, organization, …).';
COMMENT ON COLUMN integration_mappings.external_id IS 'The object''s id in the external system.';
COMMENT ON COLUMN integration_mappings.external_system IS 'The external system, such as twenty; with external_id, the reverse look-up (idx_integration_mappings_external).';
COMMENT ON TABLE twenty_crm_config IS 'The connection to a Twenty CRM (crm package): at most one row, enforced by the unique expression index idx_twenty_crm_config_singleton.';
COMMENT ON COLUMN twenty_crm_config.base_url IS 'The Twenty instance''s API address: https, or http on a loopback host only.';
COMMENT ON COLUMN twenty_crm_config.api_key IS 'The Twenty API key, sealed with the master keyring (bound to twenty_crm_config.api_key and the row''s id), never returned by the API; NULL when none. Re-sealed when the master key rotates.';
COMMENT ON COLUMN twenty_crm_config.enabled IS 'Whether synchronisation with Twenty is on.';
COMMENT ON COLUMN twenty_crm_config.sync_options IS 'A JSON object of synchronisation options (at most 16 KiB), as the application reads them.';
COMMENT ON COLUMN twenty_crm_config.updated_by IS 'The user who last changed the connection; NULL for an API key, or once that user is deleted (SET NULL).';
COMMENT ON TABLE seed_status IS 'Whether and when the demonstration data was loaded (userd seed FILE, crm package): at most one row, whose id is always 1.';
COMMENT ON COLUMN seed_status.version IS 'The version the seed file declared, or what an administrator named when marking it by hand.';
COMMENT ON COLUMN seed_status.checksum IS 'SHA-256 of the seed file, in hex; NULL when an administrator marked the seed by hand.';
COMMENT ON COLUMN seed_status.seeded_by IS 'Who loaded it: userd seed (the command line), or the id of the administrator or API key that marked it.';
COMMENT ON COLUMN seed_status.summary IS 'A JSON object: how many roles, users, companies and mappings the seed made, or what the administrator gave.';

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
