package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// cast is the people of an escalation test, each signed up with END_USER
// and the roles that newCast lists, and the roles' ids by name.
type cast struct {
	adm, uw, rw, every, boss    string // tokens
	uwID, rwID, everyID, bossID string
	peerID, plainID             string
	role                        map[string]string
}

// newCast makes the roles and the people of an escalation test:
//
//	adm    ADMIN
//	uw     USER_WRITER: users:read, users:write
//	rw     ROLE_WRITER: users:read, users:write, roles:read, roles:write
//	every  EVERYTHING: every permission, without the admin flag
//	boss   ADMIN, the target of most attempts
//	peer   AUDITOR: activity_logs:read, which uw and rw lack
//	plain  END_USER only
//
// HELPER (users:read) is a role that rw covers.
func newCast(t *testing.T, c *client) cast {
	t.Helper()
	var k cast
	var adminID string
	adminID, k.adm = c.signup(map[string]any{"email": "admin@example.com"})
	c.grant(adminID, rbac.AdminRole)
	every := []string{"account:read", "account:write", "users:read", "users:write", "roles:read", "roles:write", "notifications:send", "activity_logs:read"}
	for name, perms := range map[string][]string{
		"USER_WRITER": {"users:read", "users:write"},
		"ROLE_WRITER": {"users:read", "users:write", "roles:read", "roles:write"},
		"EVERYTHING":  every,
		"AUDITOR":     {"activity_logs:read"},
		"HELPER":      {"users:read"},
	} {
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": name, "permissions": perms}, k.adm); r.Status != 201 {
			t.Fatalf("create %s = %d %s", name, r.Status, r.Raw)
		}
	}
	k.role = map[string]string{}
	for _, it := range c.do("GET", "/v1/admin/roles", nil, k.adm).Body["items"].([]any) {
		k.role[str(it.(map[string]any), "name")] = str(it.(map[string]any), "id")
	}
	person := func(email string, roles ...string) (string, string) {
		id, tok := c.signup(map[string]any{"email": email})
		for _, r := range roles {
			c.grant(id, r)
		}
		return id, tok
	}
	k.uwID, k.uw = person("uw@example.com", "USER_WRITER")
	k.rwID, k.rw = person("rw@example.com", "ROLE_WRITER")
	k.everyID, k.every = person("every@example.com", "EVERYTHING")
	k.bossID, k.boss = person("boss@example.com", rbac.AdminRole)
	k.peerID, _ = person("peer@example.com", "AUDITOR")
	k.plainID, _ = person("plain@example.com")
	return k
}

// attempt is a request and the answer it must get.
type attempt struct {
	name         string
	token        string
	method, path string
	body         any
	status       int
	code         string
}

// try sends each attempt as a subtest and checks its answer; a refused one
// must leave the world as it found it.
func (c *client) try(t *testing.T, attempts []attempt) {
	t.Helper()
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			before := c.world()
			r := c.do(a.method, a.path, a.body, a.token)
			if r.Status != a.status || r.code() != a.code {
				t.Fatalf("%s %s = %d %q; want %d %q\n%.300s", a.method, a.path, r.Status, r.code(), a.status, a.code, r.Raw)
			}
			if r.Status < 400 {
				return
			}
			if diff := cmp.Diff(before, c.world()); diff != "" {
				t.Fatalf("a refused %s %s changed the database (-before +after):\n%s", a.method, a.path, diff)
			}
		})
	}
}

// worldQueries read what an administration request can change.
var worldQueries = []string{
	`SELECT id, email, username, status, is_beta, first_name, email_verified_at, updated_at FROM users ORDER BY id`,
	`SELECT user_id, role_id FROM user_roles ORDER BY user_id, role_id`,
	`SELECT id, user_id FROM sessions ORDER BY id`,
	`SELECT id, name, description, is_admin, updated_at FROM roles ORDER BY id`,
	`SELECT role_id, permission_id FROM role_permissions ORDER BY role_id, permission_id`,
	`SELECT count(*) FROM activity_logs WHERE action LIKE 'admin.%'`,
}

// world returns the rows of worldQueries, one line each.
func (c *client) world() string {
	c.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	err := c.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		for _, q := range worldQueries {
			if err := dump(ctx, tx, &b, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return b.String()
}

// dump writes each row of q as a line.
func dump(ctx context.Context, tx *sqldb.Tx, b *strings.Builder, q string) error {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		fmt.Fprintln(b, vals...)
	}
	return rows.Err()
}

// TestEscalationRefused: the HTTP contract of the rule against escalation
// (admin's TestEscalationRefused holds the rule itself, every case of it): on
// each administration route, an attempt to give a privilege the caller lacks,
// or to touch a user or a role that holds one, is 403 insufficient_privilege
// and changes nothing; a caller without the route's permission gets the
// route's own 403 forbidden first.
func TestEscalationRefused(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		k := newCast(t, c)
		const ip, forbidden = "insufficient_privilege", "forbidden"
		users, boss, plain := "/v1/admin/users", "/v1/admin/users/"+k.bossID, "/v1/admin/users/"+k.plainID
		roles := func(name string) string { return "/v1/admin/roles/" + k.role[name] }
		c.try(t, []attempt{
			// Giving a privilege the caller lacks.
			{"roles:write creates an ADMIN", k.rw, "POST", users, map[string]any{"email": "new@example.com", "password": "correct horse battery", "roles": []string{"ADMIN"}}, 403, ip},
			{"roles:write gives ADMIN", k.rw, "PUT", plain + "/roles/ADMIN", nil, 403, ip},
			{"roles:write creates an admin role", k.rw, "POST", "/v1/admin/roles", map[string]any{"name": "CHIEFS", "is_admin": true}, 403, ip},
			{"roles:write adds a permission it lacks", k.rw, "PATCH", roles("HELPER"), map[string]any{"permissions": []string{"users:read", "activity_logs:read"}}, 403, ip},

			// Touching a user or a role that holds more.
			{"users:write changes an admin's email", k.uw, "PATCH", boss, map[string]any{"email": "evil@example.com"}, 403, ip},
			{"every permission deletes an admin", k.every, "DELETE", boss, nil, 403, ip},
			{"roles:write takes ADMIN from an admin", k.rw, "DELETE", boss + "/roles/ADMIN", nil, 403, ip},
			{"every permission deletes the ADMIN role", k.every, "DELETE", roles("ADMIN"), nil, 403, ip},

			// Without the route's permission.
			{"users:write gives a role", k.uw, "PUT", plain + "/roles/OWNER", nil, 403, forbidden},
			{"users:write takes ADMIN", k.uw, "DELETE", boss + "/roles/ADMIN", nil, 403, forbidden},
			{"users:write creates a role", k.uw, "POST", "/v1/admin/roles", map[string]any{"name": "MINE"}, 403, forbidden},
		})

		// The administrator under attack is still signed in.
		if r := c.do("GET", "/v1/me", nil, k.boss); r.Status != 200 {
			t.Fatalf("the admin's session after the attempts = %d", r.Status)
		}
	})
}

// TestEscalationAllowed: the HTTP contract of what the rule allows (admin's
// TestEscalationAllowed holds the rule itself): each administration route
// answers a change within the caller's privileges with its success status;
// the answer to a creation names the roles given; and a caller's grants are
// read at each request, so that taking one's own role closes the route.
func TestEscalationAllowed(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		k := newCast(t, c)
		users, plain := "/v1/admin/users", "/v1/admin/users/"+k.plainID
		r := c.do("POST", users, map[string]any{"email": "made-by-uw@example.com"}, k.uw)
		if r.Status != 201 || strings.Join(toStrings(r.Body["roles"]), ",") != "END_USER" {
			t.Fatalf("users:write creates without roles = %d %s", r.Status, r.Raw)
		}
		madeByUW := str(r.Body, "id")
		r = c.do("POST", users, map[string]any{"email": "made-by-rw@example.com", "roles": []string{"OWNER", "ROLE_WRITER"}}, k.rw)
		if r.Status != 201 || strings.Join(toStrings(r.Body["roles"]), ",") != "OWNER,ROLE_WRITER" {
			t.Fatalf("roles:write creates with roles it covers = %d %s", r.Status, r.Raw)
		}
		r = c.do("POST", "/v1/admin/roles", map[string]any{"name": "DESK", "permissions": []string{"users:read"}}, k.rw)
		if r.Status != 201 {
			t.Fatalf("roles:write creates a role it covers = %d %s", r.Status, r.Raw)
		}
		desk := str(r.Body, "id")
		c.try(t, []attempt{
			{"users:write changes an end user", k.uw, "PATCH", plain, map[string]any{"first_name": "Plain"}, 200, ""},
			{"users:write deletes a user it covers", k.uw, "DELETE", "/v1/admin/users/" + madeByUW, nil, 204, ""},
			{"roles:write gives a role it covers", k.rw, "PUT", plain + "/roles/HELPER", nil, 204, ""},
			{"roles:write takes a role", k.rw, "DELETE", plain + "/roles/HELPER", nil, 204, ""},
			{"roles:write changes a role it covers", k.rw, "PATCH", "/v1/admin/roles/" + k.role["HELPER"], map[string]any{"description": "helps", "permissions": []string{"users:read", "roles:read"}}, 200, ""},
			{"roles:write deletes a role it covers", k.rw, "DELETE", "/v1/admin/roles/" + desk, nil, 204, ""},
			{"admin changes an admin's email", k.adm, "PATCH", "/v1/admin/users/" + k.bossID, map[string]any{"email": "boss2@example.com"}, 200, ""},
			// Taking one's own role is acting on oneself: allowed, and
			// then the routes refuse.
			{"roles:write takes its own role", k.rw, "DELETE", "/v1/admin/users/" + k.rwID + "/roles/ROLE_WRITER", nil, 204, ""},
			{"without its role, roles:write is gone", k.rw, "PUT", plain + "/roles/HELPER", nil, 403, "forbidden"},
		})
	})
}
