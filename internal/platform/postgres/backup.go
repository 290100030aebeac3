package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/userd/userd/internal/platform/sqldb"
)

// ErrNotEmpty is what Restore returns when the target's schema has a table
// already.
var ErrNotEmpty = errors.New("the database has tables already")

// tool returns the path of a PostgreSQL client program, or an error that
// says where to get it.
func tool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not on PATH: install PostgreSQL's client programs (Debian and Ubuntu: apt-get install postgresql-client), at the server's major version or later: %w", name, err)
	}
	return p, nil
}

// Backup runs pg_dump in its custom format into the file at path. pg_dump
// reads in one REPEATABLE READ transaction, so the dump is one state of the
// database while others write. It checks first that pg_dump's major
// version is at least the server's and that the role may read every row
// (userd's tables FORCE row-level security, so only a superuser or a role
// with BYPASSRLS sees them all). The connection reaches pg_dump through
// PG* environment variables, the password too: never on its command line.
func (d dialect) Backup(ctx context.Context, path string, progress sqldb.Progress) error {
	bin, err := tool("pg_dump")
	if err != nil {
		return err
	}
	env, err := libpqEnv(d.url)
	if err != nil {
		return err
	}
	if err := d.checkDumper(ctx, bin); err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	defer out.Close()
	progress(0, -1)
	cmd := exec.CommandContext(ctx, bin, "--format=custom", "--no-password")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = progress.Writer(out)
	if err := runTool(cmd); err != nil {
		return err
	}
	return out.Close()
}

// checkDumper checks pg_dump's version against the server's, and that the
// role bypasses row-level security.
func (d dialect) checkDumper(ctx context.Context, bin string) error {
	v, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", bin, err)
	}
	dumper, err := major(string(v))
	if err != nil {
		return fmt.Errorf("%s --version: %w", bin, err)
	}
	conn, err := pgx.Connect(ctx, d.url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var num int
	var role string
	var bypass bool
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_user, rolsuper OR rolbypassrls
		FROM pg_roles WHERE rolname = current_user`).Scan(&num, &role, &bypass); err != nil {
		return fmt.Errorf("read the server's version: %w", err)
	}
	if server := num / 10000; dumper < server {
		return fmt.Errorf("pg_dump is version %d, older than the server's %d: install postgresql-client-%d (or later) and put its pg_dump first on PATH", dumper, server, server)
	}
	if !bypass {
		return fmt.Errorf("role %s cannot read every row (userd's tables FORCE row-level security): back up as a superuser or a role with BYPASSRLS (ALTER ROLE %s BYPASSRLS), giving its URL to --database-url", role, pgx.Identifier{role}.Sanitize())
	}
	return nil
}

// versionPattern finds the version in "pg_dump (PostgreSQL) 15.10 (Debian …)".
var versionPattern = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// major returns the major version that a client program's --version
// prints.
func major(version string) (int, error) {
	m := versionPattern.FindStringSubmatch(version)
	if m == nil {
		return 0, fmt.Errorf("no version in %q", strings.TrimSpace(version))
	}
	return strconv.Atoi(m[1])
}

// Restore runs pg_restore of the custom-format dump at src into the
// database at dbURL, whose schema must hold no table yet, in one
// transaction that stops at the first error: the database holds all of the
// dump or none of it. It makes userd's roles first where they are missing
// (as the migrations do): the dump grants them privileges. Ownership is
// not restored (--no-owner): the role of dbURL owns what it restores,
// except the objects that a role of userd's own owned in the dump, which
// it gives back to that role. progress, when not nil, hears the bytes read
// of src. It returns ErrNotEmpty.
func Restore(ctx context.Context, dbURL, src string, progress sqldb.Progress) error {
	bin, err := tool("pg_restore")
	if err != nil {
		return err
	}
	env, err := libpqEnv(dbURL)
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	owned, err := ownedByUserd(ctx, bin, src)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := prepareTarget(ctx, conn); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "--no-owner", "--exit-on-error", "--single-transaction", "--no-password", "--dbname="+conn.Config().Database)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = progress.Reader(in, st.Size())
	if err := runTool(cmd); err != nil {
		return err
	}
	return giveBack(ctx, conn, owned)
}

// prepareTarget refuses a schema with tables in it, and makes userd's
// roles where they are missing, with the connecting role a member of each.
func prepareTarget(ctx context.Context, conn *pgx.Conn) error {
	var schema string
	var tables int
	if err := conn.QueryRow(ctx, `SELECT current_schema(), (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p'))`).Scan(&schema, &tables); err != nil {
		return fmt.Errorf("look at the target: %w", err)
	}
	if tables > 0 {
		return fmt.Errorf("schema %s of database %s holds %d tables: %w", schema, conn.Config().Database, tables, ErrNotEmpty)
	}
	_, err := conn.Exec(ctx, `DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['`+AppRole+`', '`+SystemRole+`', '`+ddlRole+`'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT', r);
        END IF;
        IF NOT pg_has_role(current_user, r, 'MEMBER') THEN
            EXECUTE format('GRANT %I TO CURRENT_USER', r);
        END IF;
    END LOOP;
END
$$`)
	if err != nil {
		return fmt.Errorf("make userd's roles: %w", err)
	}
	return nil
}

// ddlRole owns collection_records and the functions that index it (see
// migration 00036).
const ddlRole = "userd_collection_ddl"

// ownedObject is an object of a dump that one of userd's roles owns.
type ownedObject struct{ kind, name, owner string }

// tocLine is a line of `pg_restore --list`: "215; 1259 16546 TABLE public
// collection_records userd_collection_ddl".
var tocLine = regexp.MustCompile(`^\d+; \d+ \d+ (TABLE|FUNCTION) (\S+) (.+) (\S+)$`)

// ownedByUserd lists the tables and functions of the dump at src that a
// role of userd's owns.
func ownedByUserd(ctx context.Context, bin, src string) ([]ownedObject, error) {
	out, err := exec.CommandContext(ctx, bin, "--list", src).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("%s is not a dump pg_restore reads: %s", src, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("pg_restore --list: %w", err)
	}
	var owned []ownedObject
	for line := range strings.Lines(string(out)) {
		m := tocLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || m[2] == "DATA" || (m[4] != AppRole && m[4] != SystemRole && m[4] != ddlRole) { // "TABLE DATA" is a table's rows
			continue
		}
		owned = append(owned, ownedObject{kind: m[1], name: pgx.Identifier{m[2]}.Sanitize() + "." + quoteName(m[1], m[3]), owner: m[4]})
	}
	return owned, nil
}

// quoteName quotes a table's name, or a function's name before its
// argument types.
func quoteName(kind, name string) string {
	if kind == "FUNCTION" {
		if fn, args, ok := strings.Cut(name, "("); ok {
			return pgx.Identifier{fn}.Sanitize() + "(" + args
		}
	}
	return pgx.Identifier{name}.Sanitize()
}

// giveBack gives each object back to the role that owned it in the dump.
func giveBack(ctx context.Context, conn *pgx.Conn, owned []ownedObject) error {
	for _, o := range owned {
		if _, err := conn.Exec(ctx, "ALTER "+o.kind+" "+o.name+" OWNER TO "+pgx.Identifier{o.owner}.Sanitize()); err != nil {
			return fmt.Errorf("give %s %s back to %s: %w", strings.ToLower(o.kind), o.name, o.owner, err)
		}
	}
	return nil
}

// runTool runs a client program, returning its error output with its
// failure.
func runTool(cmd *exec.Cmd) error {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", cmd.Path, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// libpqEnv turns a postgres:// URL into the environment variables that
// PostgreSQL's client programs read (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE, PGSSLMODE…), so that no secret is on a command line that
// other users of the machine see. pgx reads the URL as it does when userd
// connects (several hosts, sockets, defaults); of the other query
// parameters, those that libpq knows go on and those that only pgx knows
// are left out.
func libpqEnv(dbURL string) ([]string, error) {
	cfg, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	hosts, ports := []string{cfg.Host}, []string{strconv.Itoa(int(cfg.Port))}
	for _, f := range cfg.Fallbacks { // a host once per TLS mode tried: once here
		h, p := f.Host, strconv.Itoa(int(f.Port))
		if h != hosts[len(hosts)-1] || p != ports[len(ports)-1] {
			hosts, ports = append(hosts, h), append(ports, p)
		}
	}
	vars := map[string]string{"PGHOST": strings.Join(hosts, ","), "PGPORT": strings.Join(ports, ","),
		"PGUSER": cfg.User, "PGPASSWORD": cfg.Password, "PGDATABASE": cfg.Database}
	if _, query, ok := strings.Cut(dbURL, "?"); ok {
		params, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("database URL: %w", err)
		}
		for param, v := range params {
			if name, ok := libpqParams[param]; ok && len(v) > 0 {
				vars[name] = v[len(v)-1]
			}
		}
	}
	var env []string
	for k, v := range vars {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env, nil
}

// libpqParams maps the URL parameters that libpq knows, beyond those of
// the connection itself, to its variables.
var libpqParams = map[string]string{
	"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
	"sslpassword": "PGSSLPASSWORD", "sslnegotiation": "PGSSLNEGOTIATION", "connect_timeout": "PGCONNECT_TIMEOUT",
	"application_name": "PGAPPNAME", "options": "PGOPTIONS", "target_session_attrs": "PGTARGETSESSIONATTRS",
	"krbsrvname": "PGKRBSRVNAME", "gssencmode": "PGGSSENCMODE",
}
