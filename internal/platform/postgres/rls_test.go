package postgres_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestEveryUserTableHasForcedRLS lists every table with a user_id column
// (and users itself, and any table with row-level security on) and fails
// when one lacks forced row-level security or has other policies than the
// two that "-- +userd owned-by" makes (activity_logs excepted, whose
// append-only policies are written out): so that a new table cannot forget
// them, and the generated statements keep their exact meaning.
func TestEveryUserTableHasForcedRLS(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	tables := checkPolicies(t, db)
	if len(tables) < 20 {
		t.Fatalf("found only %v", tables)
	}
	t.Logf("user-owned tables: %s", strings.Join(tables, ", "))
}

// TestRLSDownAndUpAgain rolls the migrations back to before 00009: no
// table keeps a policy or row-level security. Applied again, they give
// every table its policies again.
func TestRLSDownAndUpAgain(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	ctx := context.Background()
	for {
		v, err := db.MigrateDown(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v == 9 {
			break
		}
		if v == 0 {
			t.Fatal("rolled back to nothing without meeting migration 9")
		}
	}
	var policies, secured int
	err := db.SQL().QueryRow(`SELECT (SELECT count(*) FROM pg_policies),
		(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'public' AND (c.relrowsecurity OR c.relforcerowsecurity))`).Scan(&policies, &secured)
	if err != nil || policies != 0 || secured != 0 {
		t.Fatalf("before 00009: %d policies, %d tables with row-level security, %v; want none", policies, secured, err)
	}
	if _, err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	checkPolicies(t, db)
}

// profileOwned are the tables whose user_id names a client profile (seed
// 001's name), not a user. Their rows are written in system-scoped
// transactions only, and a user's own are read through a join with their
// client profile, whose row-level security keeps the join to theirs; no
// policy could compare their user_id with the session's user.
var profileOwned = []string{"comments", "moderation_history"}

// ownerColumn names the column of the tables whose owner is not in user_id.
var ownerColumn = map[string]string{"users": "id", "user_follows": "follower_id"}

// byMembership are the organisations' tables and the condition of their one
// userd_app policy, a read: a member sees the organisation and its members,
// an owner or admin its invitations too (userd_organization_role is the
// caller's role); every write is the system role's.
var byMembership = map[string]string{
	"organizations":            "(userd_organization_role(id) IS NOT NULL)",
	"organization_members":     "(userd_organization_role(organization_id) IS NOT NULL)",
	"organization_invitations": "(userd_organization_role(organization_id) = ANY (ARRAY['owner'::text, 'admin'::text]))",
}

// byOwnerOrMember are the tables whose rows a user or an organisation owns,
// and the condition of their one userd_app policy, for every command: the
// user's own rows and their organisations' (the collection package checks
// the member's role before it writes).
var byOwnerOrMember = map[string]string{
	"collection_records": "((user_id = (NULLIF(current_setting('userd.user_id'::text, true), ''::text))::uuid) OR (userd_organization_role(organization_id) IS NOT NULL))",
}

// policy is a row of pg_policies.
type policy struct {
	Name, Permissive, Roles, Cmd, Using, WithCheck string
}

// checkPolicies checks the row-level security of every user's table, as
// TestEveryUserTableHasForcedRLS says, and returns the tables' names.
func checkPolicies(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r' AND (c.relname = 'users' OR c.relrowsecurity OR EXISTS (
			SELECT 1 FROM information_schema.columns col
			WHERE col.table_schema = 'public' AND col.table_name = c.relname AND col.column_name = 'user_id'))
		ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		var enabled, forced bool
		if err := rows.Scan(&name, &enabled, &forced); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(profileOwned, name) && !enabled {
			continue
		}
		tables = append(tables, name)
		if !enabled || !forced {
			t.Errorf("%s: row level security enabled %v, forced %v", name, enabled, forced)
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for table := range ownerColumn {
		if !slices.Contains(tables, table) {
			t.Errorf("ownerColumn names %s, which is not a user's table", table)
		}
	}

	// What "-- +userd owned-by TABLE.COLUMN" makes, as PostgreSQL prints it.
	owner := func(column string) string {
		return "(" + column + " = (NULLIF(current_setting('userd.user_id'::text, true), ''::text))::uuid)"
	}
	want := map[string][]policy{}
	for _, table := range tables {
		column := cmp.Or(ownerColumn[table], "user_id")
		want[table] = []policy{
			{table + "_app", "PERMISSIVE", "{userd_app}", "ALL", owner(column), owner(column)},
			{table + "_system", "PERMISSIVE", "{userd_system}", "ALL", "true", "true"},
		}
	}
	if _, ok := want["activity_logs"]; ok {
		want["activity_logs"] = []policy{
			{"activity_logs_app_append", "PERMISSIVE", "{userd_app}", "INSERT", "", "((user_id IS NULL) OR " + owner("user_id") + ")"},
			{"activity_logs_app_read", "PERMISSIVE", "{userd_app}", "SELECT", owner("user_id"), ""},
			{"activity_logs_system_append", "PERMISSIVE", "{userd_system}", "INSERT", "", "true"},
			{"activity_logs_system_read", "PERMISSIVE", "{userd_system}", "SELECT", "true", ""},
		}
	} else {
		t.Error("activity_logs is not among the users' tables")
	}
	for table, using := range byMembership {
		if _, ok := want[table]; !ok {
			t.Errorf("%s is not among the users' tables", table)
		}
		want[table] = []policy{
			{table + "_app_read", "PERMISSIVE", "{userd_app}", "SELECT", using, ""},
			{table + "_system", "PERMISSIVE", "{userd_system}", "ALL", "true", "true"},
		}
	}

	for table, cond := range byOwnerOrMember {
		if _, ok := want[table]; !ok {
			t.Errorf("%s is not among the users' tables", table)
		}
		want[table] = []policy{
			{table + "_app", "PERMISSIVE", "{userd_app}", "ALL", cond, cond},
			{table + "_system", "PERMISSIVE", "{userd_system}", "ALL", "true", "true"},
		}
	}

	got := map[string][]policy{}
	rows, err = db.SQL().Query(`SELECT schemaname || '.' || tablename, policyname, permissive, roles::text, cmd,
			coalesce(qual, ''), coalesce(with_check, '')
		FROM pg_policies ORDER BY tablename, policyname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		var p policy
		if err := rows.Scan(&table, &p.Name, &p.Permissive, &p.Roles, &p.Cmd, &p.Using, &p.WithCheck); err != nil {
			t.Fatal(err)
		}
		table = strings.TrimPrefix(table, "public.")
		got[table] = append(got[table], p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	return tables
}

// TestAppRoleCannotBypass checks the roles' attributes.
func TestAppRoleCannotBypass(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	for _, role := range []string{"userd_app", "userd_system"} {
		var login, super, bypass bool
		err := db.SQL().QueryRow(`SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`, role).Scan(&login, &super, &bypass)
		if err != nil || login || super || bypass {
			t.Errorf("%s: login %v, superuser %v, bypassrls %v, %v", role, login, super, bypass, err)
		}
	}
}

const (
	userA = "01900000-0000-7000-8000-00000000000a"
	userB = "01900000-0000-7000-8000-00000000000b"
)

// seedTwo makes two users with a session and an audit entry each, as the
// superuser (which row-level security does not restrict).
func seedTwo(t *testing.T, db *sqldb.DB) {
	t.Helper()
	for _, stmt := range []string{
		`INSERT INTO users (id, email, created_at, updated_at) VALUES ('` + userA + `', 'a@example.com', now(), now()), ('` + userB + `', 'b@example.com', now(), now())`,
		`INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, expires_at) VALUES
			('01900000-0000-7000-8000-0000000000a1', '` + userA + `', '\xaa', now(), now(), now() + interval '1 day'),
			('01900000-0000-7000-8000-0000000000b1', '` + userB + `', '\xbb', now(), now(), now() + interval '1 day')`,
		`INSERT INTO activity_logs (id, user_id, action, created_at) VALUES
			('01900000-0000-7000-8000-0000000000a2', '` + userA + `', 'auth.login', now()),
			('01900000-0000-7000-8000-0000000000b2', '` + userB + `', 'auth.login', now())`,
		`INSERT INTO user_roles (user_id, role_id, created_at) SELECT id, '00000000-0000-7000-8000-000000000001', now() FROM users`,
		`INSERT INTO subscriptions (id, user_id, payment_provider, subscription_id, plan, status, created_at, updated_at)
			SELECT id, id, 'stripe', 'sub_' || email, 'pro', 'active', now(), now() FROM users`,
		`INSERT INTO payment_accounts (id, user_id, provider_id, customer_id, created_at)
			SELECT id, id, '00000000-0000-7000-8002-000000000001', 'cus_' || email, now() FROM users`,
	} {
		if _, err := db.SQL().Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUnscopedQueriesSeeOnlyOwnRows runs deliberately unscoped statements
// as userd_app for user A: they see and touch A's rows only.
func TestUnscopedQueriesSeeOnlyOwnRows(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	seedTwo(t, db)
	ctx := sqldb.AsUser(context.Background(), userA)
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		for table, want := range map[string]int{"users": 1, "sessions": 1, "activity_logs": 1, "user_roles": 1, "refresh_tokens": 0, "subscriptions": 1, "payment_accounts": 1} {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				return err
			}
			if n != want {
				t.Errorf("SELECT count(*) FROM %s as A = %d; want %d", table, n, want)
			}
		}
		var email string
		if err := tx.QueryRow(ctx, `SELECT email FROM users`).Scan(&email); err != nil || email != "a@example.com" {
			t.Errorf("A read %q, %v", email, err)
		}
		return touches(t, ctx, tx, map[string]int64{
			`UPDATE users SET first_name = 'pwned'`: 1,
			`DELETE FROM sessions`:                  1,
			`UPDATE sessions SET user_id = '` + userA + `' WHERE user_id = '` + userB + `'`: 0,
			`DELETE FROM user_roles WHERE user_id = '` + userB + `'`:                        0,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// B is untouched.
	var first *string
	var sessions, roles int
	db.SQL().QueryRow(`SELECT first_name FROM users WHERE id = $1`, userB).Scan(&first)
	db.SQL().QueryRow(`SELECT count(*) FROM sessions WHERE user_id = $1`, userB).Scan(&sessions)
	db.SQL().QueryRow(`SELECT count(*) FROM user_roles WHERE user_id = $1`, userB).Scan(&roles)
	if first != nil || sessions != 1 || roles != 1 {
		t.Fatalf("B after A's statements: first_name %v, sessions %d, roles %d", first, sessions, roles)
	}
}

// TestAppRoleCannotWriteOthersOrRewriteHistory: inserts for another user
// and changes to the audit trail are refused.
func TestAppRoleCannotWriteOthersOrRewriteHistory(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	seedTwo(t, db)
	ctx := sqldb.AsUser(context.Background(), userA)
	for name, stmt := range map[string]string{
		"insert a session for B": `INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, expires_at)
			VALUES ('01900000-0000-7000-8000-0000000000c1', '` + userB + `', '\xcc', now(), now(), now())`,
		"audit as B":          `INSERT INTO activity_logs (id, user_id, action, created_at) VALUES ('01900000-0000-7000-8000-0000000000c2', '` + userB + `', 'x', now())`,
		"rewrite own history": `UPDATE activity_logs SET action = 'nothing'`,
		"erase own history":   `DELETE FROM activity_logs`,
		"read migrations":     `SELECT count(*) FROM goose_db_version`,
	} {
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, stmt)
			return err
		})
		if err == nil {
			t.Errorf("%s: allowed", name)
		}
	}
	// The system role may append, not rewrite.
	err := db.Tx(sqldb.System(context.Background()), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(context.Background(), `DELETE FROM activity_logs`)
		return err
	})
	if err == nil {
		t.Error("userd_system deleted the audit trail")
	}
	var n int
	db.SQL().QueryRow(`SELECT count(*) FROM activity_logs`).Scan(&n)
	if n != 2 {
		t.Fatalf("activity_logs = %d rows; want 2", n)
	}
}

// TestOrganizationsByMembership: as userd_app, a user sees the
// organisations they belong to and their members, and the invitations of
// those they own or administer; they write none of the three tables, and
// the role function tells them nothing of another organisation, and only
// userd's roles may call it.
func TestOrganizationsByMembership(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	var public, app bool
	if err := db.SQL().QueryRow(`SELECT has_function_privilege('public', 'userd_organization_role(uuid)', 'EXECUTE'),
		has_function_privilege('userd_app', 'userd_organization_role(uuid)', 'EXECUTE')`).Scan(&public, &app); err != nil || public || !app {
		t.Fatalf("EXECUTE of userd_organization_role: PUBLIC %v, userd_app %v (%v); want false, true", public, app, err)
	}
	seedTwo(t, db)
	const orgX, orgY = "01900000-0000-7000-8000-0000000000e1", "01900000-0000-7000-8000-0000000000e2"
	for _, stmt := range []string{
		`INSERT INTO organizations (id, kind, name, slug, created_at, updated_at) VALUES
			('` + orgX + `', 'business', 'X', 'x-co', now(), now()), ('` + orgY + `', 'team', 'Y', 'y-co', now(), now())`,
		`INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES
			('` + orgX + `', '` + userA + `', 'owner', now()), ('` + orgX + `', '` + userB + `', 'member', now()), ('` + orgY + `', '` + userB + `', 'owner', now())`,
		`INSERT INTO organization_invitations (id, organization_id, email, role, token_hash, created_at, expires_at) VALUES
			('01900000-0000-7000-8000-0000000000f1', '` + orgX + `', 'c@example.com', 'member', '\xf1', now(), now()),
			('01900000-0000-7000-8000-0000000000f2', '` + orgY + `', 'c@example.com', 'member', '\xf2', now(), now())`,
	} {
		if _, err := db.SQL().Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	for user, want := range map[string][3]int{userA: {1, 2, 1}, userB: {2, 3, 1}} {
		ctx := sqldb.AsUser(context.Background(), user)
		err := db.View(ctx, func(tx *sqldb.Tx) error {
			var got [3]int
			for i, table := range []string{"organizations", "organization_members", "organization_invitations"} {
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&got[i]); err != nil {
					return err
				}
			}
			if got != want {
				t.Errorf("%s sees %v organisations, members, invitations; want %v", user, got, want)
			}
			var role *string
			if err := tx.QueryRow(ctx, `SELECT userd_organization_role('`+orgY+`')`).Scan(&role); err != nil {
				return err
			}
			if (user == userA) != (role == nil) {
				t.Errorf("%s's role in Y = %v", user, role)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx := sqldb.AsUser(context.Background(), userA)
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		return touches(t, ctx, tx, map[string]int64{
			`UPDATE organizations SET name = 'pwned'`:            0,
			`DELETE FROM organization_members`:                   0,
			`UPDATE organization_invitations SET role = 'owner'`: 0,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, stmt := range map[string]string{
		"join Y":        `INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES ('` + orgY + `', '` + userA + `', 'owner', now())`,
		"make an org":   `INSERT INTO organizations (id, kind, name, slug, created_at, updated_at) VALUES ('01900000-0000-7000-8000-0000000000e3', 'team', 'Z', 'z-co', now(), now())`,
		"invite into X": `INSERT INTO organization_invitations (id, organization_id, email, role, token_hash, created_at, expires_at) VALUES ('01900000-0000-7000-8000-0000000000f3', '` + orgX + `', 'd@example.com', 'owner', '\xf3', now(), now())`,
	} {
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, stmt)
			return err
		})
		if err == nil {
			t.Errorf("%s as A: allowed", name)
		}
	}
	var members, names int
	db.SQL().QueryRow(`SELECT count(*) FROM organization_members`).Scan(&members)
	db.SQL().QueryRow(`SELECT count(*) FROM organizations WHERE name IN ('X', 'Y')`).Scan(&names)
	if members != 3 || names != 2 {
		t.Fatalf("after A's statements: %d members, %d organisations as they were; want 3, 2", members, names)
	}
}

// TestNoScopeFailsClosed: a transaction without a scope does not run.
func TestNoScopeFailsClosed(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	err := db.View(context.Background(), func(tx *sqldb.Tx) error { return nil })
	if err != sqldb.ErrNoScope {
		t.Fatalf("View without a scope = %v; want ErrNoScope", err)
	}
	// A user scope with no user sees nothing.
	seedTwo(t, db)
	ctx := sqldb.AsUser(context.Background(), "")
	var n int
	err = db.View(ctx, func(tx *sqldb.Tx) error { return tx.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n) })
	if err != nil || n != 0 {
		t.Fatalf("users seen with an empty user = %d, %v; want 0", n, err)
	}
}

// touches runs each statement in tx as user A and fails the test when one
// changes another number of rows than it maps to.
func touches(t *testing.T, ctx context.Context, tx *sqldb.Tx, stmts map[string]int64) error {
	t.Helper()
	for stmt, want := range stmts {
		res, err := tx.Exec(ctx, stmt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != want {
			t.Errorf("%s as A touched %d rows; want %d", stmt, n, want)
		}
	}
	return nil
}

// TestBillingClosedToApp: a user's transaction reads none of billing's
// tables that row-level security does not cover, and changes neither its
// own subscriptions nor its own payment accounts; it still reads those.
func TestBillingClosedToApp(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	seedTwo(t, db)
	ctx := sqldb.AsUser(context.Background(), userA)
	for _, stmt := range []string{
		`SELECT count(*) FROM payment_providers`,
		`SELECT count(*) FROM billing_events`,
		`SELECT count(*) FROM plan_roles`,
		`SELECT count(*) FROM subscription_history`,
		`UPDATE payment_providers SET enabled = false`,
		`INSERT INTO plan_roles (plan, role_id, created_at) VALUES ('pro', '00000000-0000-7000-8000-000000000002', now())`,
		`UPDATE subscriptions SET status = 'active', plan = 'enterprise'`,
		`DELETE FROM subscriptions`,
		`UPDATE payment_accounts SET customer_id = 'cus_other'`,
		`INSERT INTO payment_accounts (id, user_id, provider_id, customer_id, created_at)
			VALUES ('01900000-0000-7000-8000-0000000000d1', '` + userA + `', '00000000-0000-7000-8002-000000000002', 'cus_x', now())`,
	} {
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, stmt)
			return err
		})
		if err == nil {
			t.Errorf("%s as userd_app: allowed", stmt)
		}
	}
	err := db.View(ctx, func(tx *sqldb.Tx) error {
		var n int
		for _, table := range []string{"subscriptions", "payment_accounts"} {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 1 {
				return fmt.Errorf("%s: %d rows, %v", table, n, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCollectionRecordsByOwner: as userd_app, a user reads and writes their
// own records and those of the organisations they belong to, never
// another user's or another organisation's, and neither declares
// collections nor changes their indexes.
func TestCollectionRecordsByOwner(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	seedTwo(t, db)
	const orgX, orgY = "01900000-0000-7000-8000-0000000000e1", "01900000-0000-7000-8000-0000000000e2"
	record := func(id, user, org string) string {
		return `('` + id + `', 'notes', ` + user + `, ` + org + `, '{"n": 1}', 1, now(), now())`
	}
	for _, stmt := range []string{
		`INSERT INTO organizations (id, kind, name, slug, created_at, updated_at) VALUES
			('` + orgX + `', 'business', 'X', 'x-co', now(), now()), ('` + orgY + `', 'team', 'Y', 'y-co', now(), now())`,
		`INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES
			('` + orgX + `', '` + userA + `', 'owner', now()), ('` + orgX + `', '` + userB + `', 'member', now()), ('` + orgY + `', '` + userB + `', 'owner', now())`,
		`INSERT INTO collections (name, owner, declaration, created_at, updated_at) VALUES ('notes', 'user', '{}', now(), now())`,
		`INSERT INTO collection_records (id, collection, user_id, organization_id, data, version, created_at, updated_at) VALUES ` +
			record("01900000-0000-7000-8000-0000000000c1", "'"+userA+"'", "NULL") + `, ` + record("01900000-0000-7000-8000-0000000000c2", "'"+userB+"'", "NULL") + `, ` +
			record("01900000-0000-7000-8000-0000000000c3", "NULL", "'"+orgX+"'") + `, ` + record("01900000-0000-7000-8000-0000000000c4", "NULL", "'"+orgY+"'"),
	} {
		if _, err := db.SQL().Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	ctx := sqldb.AsUser(context.Background(), userA)
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM collection_records`).Scan(&n); err != nil || n != 2 {
			return fmt.Errorf("A sees %d records, %v; want 2", n, err)
		}
		return touches(t, ctx, tx, map[string]int64{
			`UPDATE collection_records SET version = version + 1`:                                                             2,
			`UPDATE collection_records SET user_id = '` + userA + `', organization_id = NULL WHERE user_id = '` + userB + `'`: 0,
			`DELETE FROM collection_records WHERE organization_id = '` + orgY + `'`:                                           0,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, stmt := range map[string]string{
		"a record for B":       `INSERT INTO collection_records (id, collection, user_id, organization_id, data, version, created_at, updated_at) VALUES ` + record("01900000-0000-7000-8000-0000000000c5", "'"+userB+"'", "NULL"),
		"a record for Y":       `INSERT INTO collection_records (id, collection, user_id, organization_id, data, version, created_at, updated_at) VALUES ` + record("01900000-0000-7000-8000-0000000000c6", "NULL", "'"+orgY+"'"),
		"give own record to B": `UPDATE collection_records SET user_id = '` + userB + `' WHERE user_id = '` + userA + `'`,
		"move X's record to Y": `UPDATE collection_records SET organization_id = '` + orgY + `' WHERE organization_id = '` + orgX + `'`,
		"declare a collection": `INSERT INTO collections (name, owner, declaration, created_at, updated_at) VALUES ('mine', 'user', '{}', now(), now())`,
		"change a declaration": `UPDATE collections SET owner = 'organization'`,
		"index the records":    `CREATE INDEX pwned ON collection_records ((data->>'n'))`,
		"drop the owner index": `DROP INDEX idx_collection_records_user_id`,
	} {
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, stmt)
			return err
		})
		if err == nil {
			t.Errorf("%s as A: allowed", name)
		}
	}
	var others int
	db.SQL().QueryRow(`SELECT count(*) FROM collection_records WHERE version = 1 AND (user_id = $1 OR organization_id = $2)`, userB, orgY).Scan(&others)
	if others != 2 {
		t.Fatalf("B's and Y's records after A's statements: %d unchanged; want 2", others)
	}
}

// TestCollectionIndexesOnlyThroughTheirFunctions: the system role, which
// declares collections, makes and drops their indexes only through
// userd_collection_create_index and userd_collection_drop_index, which
// refuse anything but a collection's index of validated names; it can
// neither change collection_records itself (its policies, triggers, row
// security) nor create objects in the schema public.
func TestCollectionIndexesOnlyThroughTheirFunctions(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	if _, err := db.SQL().Exec(`INSERT INTO collections (name, owner, declaration, created_at, updated_at) VALUES ('notes', 'user', '{}', now(), now())`); err != nil {
		t.Fatal(err)
	}
	ctx := sqldb.System(context.Background())
	run := func(stmt string) error {
		return db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, stmt)
			return err
		})
	}
	const ix = "ci_notes_0123456789ab"
	if err := run(`SELECT userd_collection_create_index('` + ix + `', 'i', 'notes', 'user_id', 'n,t', 'numeric,text')`); err != nil {
		t.Fatalf("a collection's index through the function: %v", err)
	}
	var def string
	db.SQL().QueryRow(`SELECT indexdef FROM pg_indexes WHERE indexname = $1`, ix).Scan(&def)
	if !strings.Contains(def, `((data ->> 'n'::text))::numeric`) || !strings.Contains(def, "WHERE (collection = 'notes'::text)") {
		t.Fatalf("index = %q", def)
	}
	for name, stmt := range map[string]string{
		"a field that is SQL":     `SELECT userd_collection_create_index('ci_notes_0123456789ac', 'i', 'notes', 'user_id', 'n''))); DROP TABLE users; --', 'text')`,
		"a collection not there":  `SELECT userd_collection_create_index('ci_other_0123456789ac', 'i', 'other', 'user_id', 'n', 'text')`,
		"a name not a collection": `SELECT userd_collection_create_index('pwned', 'i', 'notes', 'user_id', 'n', 'text')`,
		"an unknown kind":         `SELECT userd_collection_create_index('ci_notes_0123456789ad', 'i', 'notes', 'user_id', 'n', 'money')`,
		"the wrong owner column":  `SELECT userd_collection_create_index('ci_notes_0123456789ae', 'i', 'notes', 'organization_id', 'n', 'text')`,
		"drop another index":      `SELECT userd_collection_drop_index('idx_collection_records_user_id')`,
		"create an index":         `CREATE INDEX pwned ON collection_records ((data->>'n'))`,
		"drop an index":           `DROP INDEX ` + ix,
		"turn row security off":   `ALTER TABLE collection_records NO FORCE ROW LEVEL SECURITY`,
		"change a policy":         `ALTER POLICY collection_records_app ON collection_records USING (true)`,
		"create a function":       `CREATE FUNCTION public.planted() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
		"create a table":          `CREATE TABLE public.planted (x int)`,
	} {
		if err := run(stmt); err == nil {
			t.Errorf("%s as the system role: allowed", name)
		}
	}
	if err := run(`SELECT userd_collection_drop_index('` + ix + `')`); err != nil {
		t.Fatalf("a collection's index dropped through the function: %v", err)
	}
	var left int
	db.SQL().QueryRow(`SELECT count(*) FROM pg_indexes WHERE indexname = $1`, ix).Scan(&left)
	if left != 0 {
		t.Fatal("the index is still there")
	}
}

// TestSurveyResponsesByOwner: as userd_app, a user reads and changes their
// own survey responses only, never another user's or an anonymous one,
// cannot write one for someone else or as anonymous, and reads surveys
// without writing them.
func TestSurveyResponsesByOwner(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	seedTwo(t, db)
	const survey = "01900000-0000-7000-8000-0000000000d5"
	response := func(id, user, hash string) string {
		return `('` + id + `', '` + survey + `', ` + user + `, ` + hash + `, '{"q": "yes"}', now())`
	}
	for _, stmt := range []string{
		`INSERT INTO surveys (id, slug, title, questions, status, created_at, updated_at) VALUES ('` + survey + `', 's', 'S', '[]', 'open', now(), now())`,
		`INSERT INTO survey_responses (id, survey_id, user_id, respondent_hash, answers, created_at) VALUES ` +
			response("01900000-0000-7000-8000-0000000000d6", "'"+userA+"'", "NULL") + `, ` +
			response("01900000-0000-7000-8000-0000000000d7", "'"+userB+"'", "NULL") + `, ` +
			response("01900000-0000-7000-8000-0000000000d8", "NULL", "'hash-of-someone'"),
	} {
		if _, err := db.SQL().Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	ctx := sqldb.AsUser(context.Background(), userA)
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		var responses, surveys int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM survey_responses), (SELECT count(*) FROM surveys)`).Scan(&responses, &surveys); err != nil {
			return err
		}
		if responses != 1 || surveys != 1 {
			return fmt.Errorf("A sees %d responses and %d surveys; want 1 and 1", responses, surveys)
		}
		return touches(t, ctx, tx, map[string]int64{
			`UPDATE survey_responses SET answers = '{"q": "no"}'`:                         1,
			`DELETE FROM survey_responses WHERE user_id = '` + userB + `'`:                0,
			`DELETE FROM survey_responses WHERE user_id IS NULL`:                          0,
			`UPDATE survey_responses SET user_id = '` + userA + `' WHERE user_id IS NULL`: 0,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, stmt := range map[string]string{
		"a response for B":            `INSERT INTO survey_responses (id, survey_id, user_id, respondent_hash, answers, created_at) VALUES ` + response("01900000-0000-7000-8000-0000000000d9", "'"+userB+"'", "NULL"),
		"an anonymous response":       `INSERT INTO survey_responses (id, survey_id, user_id, respondent_hash, answers, created_at) VALUES ` + response("01900000-0000-7000-8000-0000000000da", "NULL", "'forged'"),
		"give own response to B":      `UPDATE survey_responses SET user_id = '` + userB + `' WHERE user_id = '` + userA + `'`,
		"make own response anonymous": `UPDATE survey_responses SET user_id = NULL, respondent_hash = 'x' WHERE user_id = '` + userA + `'`,
		"open a survey":               `INSERT INTO surveys (id, slug, title, questions, created_at, updated_at) VALUES ('01900000-0000-7000-8000-0000000000db', 't', 'T', '[]', now(), now())`,
		"change a survey":             `UPDATE surveys SET status = 'closed'`,
		"delete a survey":             `DELETE FROM surveys`,
	} {
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, stmt)
			return err
		})
		if err == nil {
			t.Errorf("%s as A: allowed", name)
		}
	}
	var untouched, open int
	db.SQL().QueryRow(`SELECT count(*) FROM survey_responses WHERE answers = '{"q": "yes"}' AND (user_id = $1 OR user_id IS NULL)`, userB).Scan(&untouched)
	db.SQL().QueryRow(`SELECT count(*) FROM surveys WHERE status = 'open'`).Scan(&open)
	if untouched != 2 || open != 1 {
		t.Fatalf("after A's statements: %d of B's and the anonymous response unchanged (want 2), %d surveys open (want 1)", untouched, open)
	}
}
