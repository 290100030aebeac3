-- Purpose: row-level security, the second wall between users behind the
-- store's own user_id filters.
-- Depends on: 00001 to 00008 (every table that exists so far).
-- Key features:
--   * the roles userd_app (one user's rows, the user named by the
--     transaction-local setting userd.user_id) and userd_system (work that
--     crosses users, which userd names explicitly and audits); both NOLOGIN,
--     neither superuser nor BYPASSRLS. Roles are cluster-wide: created when
--     missing, never dropped by a down migration, and granted to the role that
--     runs the migrations so that it can SET ROLE to them.
--   * ENABLE and FORCE ROW LEVEL SECURITY on every table with a user_id
--     (users by its id); each has a policy for userd_app on user_id and one
--     for userd_system. Child tables carry user_id themselves (seed 002), so
--     no policy needs a join.
--   * those statements are generated, here and in every later migration that
--     makes a user's table: a line "-- +userd owned-by TABLE.COLUMN" stands
--     for them (in a Down section, for the statements that undo them), and
--     the postgres package expands it when it hands the migrations to goose
--     (internal/platform/postgres/directive.go, which spells them out).
--   * activity_logs is append-only for both roles: no UPDATE or DELETE; its
--     policies differ from the generated ones, so they are written out.
--   * with FORCE, the owner sees no rows either: a later migration that moves
--     data runs SET LOCAL ROLE userd_system first.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'userd_app') THEN
        CREATE ROLE userd_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'userd_system') THEN
        CREATE ROLE userd_system NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
END
$$;
-- +goose StatementEnd
GRANT userd_app, userd_system TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO userd_app, userd_system;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO userd_app, userd_system;
REVOKE ALL ON goose_db_version FROM userd_app, userd_system;
REVOKE UPDATE, DELETE ON activity_logs FROM userd_app, userd_system;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO userd_app, userd_system;

-- +userd owned-by users.id
-- +userd owned-by sessions.user_id
-- +userd owned-by refresh_tokens.user_id
-- +userd owned-by user_roles.user_id

ALTER TABLE activity_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE activity_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY activity_logs_app_read ON activity_logs FOR SELECT TO userd_app
    USING (user_id = NULLIF(current_setting('userd.user_id', true), '')::uuid);
CREATE POLICY activity_logs_app_append ON activity_logs FOR INSERT TO userd_app
    WITH CHECK (user_id IS NULL OR user_id = NULLIF(current_setting('userd.user_id', true), '')::uuid);
CREATE POLICY activity_logs_system_read ON activity_logs FOR SELECT TO userd_system USING (true);
CREATE POLICY activity_logs_system_append ON activity_logs FOR INSERT TO userd_system WITH CHECK (true);

-- +goose Down
DROP POLICY activity_logs_system_append ON activity_logs;
DROP POLICY activity_logs_system_read ON activity_logs;
DROP POLICY activity_logs_app_append ON activity_logs;
DROP POLICY activity_logs_app_read ON activity_logs;
ALTER TABLE activity_logs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE activity_logs DISABLE ROW LEVEL SECURITY;
-- +userd owned-by user_roles.user_id
-- +userd owned-by refresh_tokens.user_id
-- +userd owned-by sessions.user_id
-- +userd owned-by users.id
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM userd_app, userd_system;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM userd_app, userd_system;
REVOKE USAGE ON SCHEMA public FROM userd_app, userd_system;
