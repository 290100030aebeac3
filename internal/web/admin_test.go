package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// grant gives a user a role directly, as an operator would with the CLI.
func (c *client) grant(userID, role string) {
	c.t.Helper()
	err := c.db.Tx(sqldb.System(context.Background()), func(tx *sqldb.Tx) error {
		_, err := rbac.Assign(context.Background(), tx, userID, role)
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// TestPermissionMatrix: each role against each administration endpoint
// gets 2xx or 403, as its permissions say.
func TestPermissionMatrix(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adminID, adminTok := c.signup(map[string]any{"email": "admin@example.com"})
		c.grant(adminID, rbac.AdminRole)
		victimID, _ := c.signup(map[string]any{"email": "victim@example.com"})
		// A custom role that may only read users.
		r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "SUPPORT", "permissions": []string{"users:read", "account:read"}}, adminTok)
		if r.Status != 201 {
			t.Fatalf("create SUPPORT = %d %s", r.Status, r.Raw)
		}
		roleID := str(r.Body, "id")

		tokens := map[string]string{"ADMIN": adminTok}
		for _, role := range []string{"END_USER", "OWNER", "AGENT", "BROKER", "TC_ADMIN", "OPT_USER", "SUPPORT"} {
			id, tok := c.signup(map[string]any{"email": strings.ToLower(role) + "@example.com"})
			if role != "END_USER" {
				c.grant(id, role)
			}
			tokens[role] = tok
		}
		type endpoint struct {
			method, path string
			body         any
			perm         string
		}
		endpoints := []endpoint{
			{"GET", "/v1/admin/users", nil, "users:read"},
			{"GET", "/v1/admin/users/" + victimID, nil, "users:read"},
			{"PATCH", "/v1/admin/users/" + victimID, map[string]any{"first_name": "V"}, "users:write"},
			{"GET", "/v1/admin/roles", nil, "roles:read"},
			{"PATCH", "/v1/admin/roles/" + roleID, map[string]any{"description": "support desk"}, "roles:write"},
			{"PUT", "/v1/admin/users/" + victimID + "/roles/OWNER", nil, "roles:write"},
			{"DELETE", "/v1/admin/users/" + victimID + "/roles/OWNER", nil, "roles:write"},
			{"GET", "/v1/admin/activity-logs", nil, "activity_logs:read"},
		}
		holds := map[string][]string{"SUPPORT": {"users:read"}}
		for role, tok := range tokens {
			for i, e := range endpoints {
				body := e.body
				if e.method == "POST" || e.path == "/v1/admin/users" && e.method == "POST" {
					body = map[string]any{"email": fmt.Sprintf("new%d-%s@example.com", i, strings.ToLower(role))}
				}
				r := c.do(e.method, e.path, body, tok)
				allowed := role == "ADMIN"
				for _, p := range holds[role] {
					allowed = allowed || p == e.perm
				}
				switch {
				case allowed && (r.Status < 200 || r.Status > 299):
					t.Errorf("%s %s %s = %d; want 2xx\n%s", role, e.method, e.path, r.Status, r.Raw)
				case !allowed && (r.Status != 403 || r.code() != "forbidden"):
					t.Errorf("%s %s %s = %d %q; want 403 forbidden", role, e.method, e.path, r.Status, r.code())
				}
			}
			// Create and delete need users:write.
			r := c.do("POST", "/v1/admin/users", map[string]any{"email": "made-by-" + strings.ToLower(role) + "@example.com"}, tok)
			if want := map[bool]int{true: 201, false: 403}[role == "ADMIN"]; r.Status != want {
				t.Errorf("%s POST /v1/admin/users = %d; want %d", role, r.Status, want)
			}
		}
		// Every role can still read itself.
		for role, tok := range tokens {
			if r := c.do("GET", "/v1/me", nil, tok); r.Status != 200 {
				t.Errorf("%s GET /v1/me = %d", role, r.Status)
			}
		}
		// Without any role a user is signed in but may do nothing that needs a
		// permission. The API keeps everyone's last role (409 last_role): the
		// role goes in the database.
		loneID, lone := c.signup(map[string]any{"email": "lone@example.com"})
		if r := c.do("DELETE", "/v1/admin/users/"+loneID+"/roles/END_USER", nil, adminTok); r.Status != 409 || r.code() != "last_role" {
			t.Fatalf("taking the last role = %d %q; want 409 last_role", r.Status, r.code())
		}
		if _, err := c.db.SQL().Exec(`DELETE FROM user_roles WHERE user_id = $1`, loneID); err != nil {
			t.Fatal(err)
		}
		if r := c.do("GET", "/v1/me", nil, lone); r.Status != 403 {
			t.Fatalf("GET /v1/me without roles = %d; want 403", r.Status)
		}
		if r := c.do("POST", "/v1/auth/logout", nil, lone); r.Status != 204 {
			t.Fatalf("logout without roles = %d; want 204", r.Status)
		}
	})
}

// TestAdminUsers: search, create, change, suspend, ban and delete users,
// each audited with the administrator as actor.
func TestAdminUsers(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adminID, adm := c.signup(map[string]any{"email": "admin@example.com"})
		c.grant(adminID, rbac.AdminRole)
		annID, ann := c.signup(map[string]any{"email": "ann@example.com", "first_name": "Annabel", "username": "ann_b"})
		c.signup(map[string]any{"email": "bob@example.com", "phone_number": "+14155550199"})
		c.signup(map[string]any{"email": "100%_real@example.com"})

		if r := c.do("GET", "/v1/me", nil, adm); strings.Join(toStrings(r.Body["roles"]), ",") != "ADMIN,END_USER" || len(toStrings(r.Body["permissions"])) != 33 {
			t.Fatalf("admin's /v1/me roles %v permissions %v", r.Body["roles"], r.Body["permissions"])
		}
		// The rules of search are admin's TestAdminUsers; here, the query
		// string's decoding ('+' and '%' escaped).
		for q, want := range map[string]int{"": 4, "ANNA": 1, "+1415": 1, "100%": 1, "nobody": 0} {
			r := c.do("GET", "/v1/admin/users?q="+urlQuery(q), nil, adm)
			if got := len(r.Body["items"].([]any)); r.Status != 200 || got != want {
				t.Errorf("search %q = %d users; want %d", q, got, want)
			}
		}
		// Pages of 2, newest first, every user once.
		seen := map[string]bool{}
		cursor := ""
		for page := 0; page < 5; page++ {
			r := c.do("GET", "/v1/admin/users?limit=2"+cursor, nil, adm)
			for _, it := range r.Body["items"].([]any) {
				seen[str(it.(map[string]any), "id")] = true
			}
			next, _ := r.Body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = "&cursor=" + next
		}
		if len(seen) != 4 {
			t.Fatalf("paging saw %d users; want 4", len(seen))
		}

		// Create with roles; bad input is 422 and a collision 409 (what
		// each refuses, and that it changes nothing, is admin's
		// TestAdminUsers).
		r := c.do("POST", "/v1/admin/users", map[string]any{"email": "Carol@Example.com", "roles": []string{"AGENT"}, "is_beta": true}, adm)
		if r.Status != 201 || str(r.Body, "email") != "carol@example.com" || r.Body["is_beta"] != true || strings.Join(toStrings(r.Body["roles"]), ",") != "AGENT" {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/admin/users", map[string]any{"email": "dan@example.com", "roles": []string{"NOPE"}}, adm); r.Status != 422 || r.code() != "validation_failed" {
			t.Errorf("unknown role = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/admin/users", map[string]any{"email": "ann@example.com"}, adm); r.Status != 409 || r.code() != "email_taken" {
			t.Errorf("duplicate = %d", r.Status)
		}

		// Change: a new email is unverified; suspension ends sessions and log-in.
		r = c.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"email": "ann.new@example.com", "is_beta": true, "status": "suspended"}, adm)
		if r.Status != 200 || str(r.Body, "email") != "ann.new@example.com" || str(r.Body, "status") != "suspended" || r.Body["is_beta"] != true {
			t.Fatalf("patch = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, ann); r.Status != 401 {
			t.Fatalf("a suspended user's session = %d; want 401 (ended)", r.Status)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann.new@example.com", "password": "correct horse battery"}, ""); r.Status != 403 || r.code() != "account_suspended" {
			t.Fatalf("a suspended user's log-in = %d %q", r.Status, r.code())
		}
		if r := c.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"status": "asleep"}, adm); r.Status != 422 {
			t.Fatalf("bad status = %d", r.Status)
		}
		c.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"status": "active"}, adm)
		c.login("ann.new@example.com", "correct horse battery")
		if r := c.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"status": "banned"}, adm); r.Status != 200 {
			t.Fatalf("ban = %d", r.Status)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann.new@example.com", "password": "correct horse battery"}, ""); r.code() != "account_banned" {
			t.Fatalf("a banned user's log-in = %d %q", r.Status, r.code())
		}
		for _, path := range []string{"/v1/admin/users/not-an-id", "/v1/admin/users/01900000-0000-7000-8000-000000000000"} {
			if r := c.do("GET", path, nil, adm); r.Status != 404 || r.code() != "user_not_found" {
				t.Errorf("GET %s = %d", path, r.Status)
			}
		}

		// Delete.
		if r := c.do("DELETE", "/v1/admin/users/"+annID, nil, adm); r.Status != 204 {
			t.Fatalf("delete = %d", r.Status)
		}
		if r := c.do("GET", "/v1/admin/users/"+annID, nil, adm); r.Status != 404 {
			t.Fatalf("deleted user = %d", r.Status)
		}

		// The trail names the administrator and the subject.
		r = c.do("GET", "/v1/admin/activity-logs?actor="+adminID+"&action=admin.", nil, adm)
		var actions []string
		for _, it := range r.Body["items"].([]any) {
			e := it.(map[string]any)
			actions = append(actions, str(e, "action"))
			if str(e, "user_id") != adminID {
				t.Errorf("entry %v: user_id %v; want the admin", str(e, "action"), e["user_id"])
			}
		}
		want := "admin.user_deleted admin.user_updated admin.user_updated admin.user_updated admin.user_created"
		if strings.Join(actions, " ") != want {
			t.Fatalf("admin trail:\n got %v\nwant %s", actions, want)
		}
		r = c.do("GET", "/v1/admin/activity-logs?target="+annID+"&action=admin.user_updated&limit=1", nil, adm)
		if items := r.Body["items"].([]any); len(items) != 1 || r.Body["next_cursor"] == nil {
			t.Fatalf("filtered page = %s", r.Raw)
		}
		meta := r.Body["items"].([]any)[0].(map[string]any)["metadata"].(map[string]any)
		if meta["status"].(map[string]any)["to"] != "banned" {
			t.Fatalf("metadata %v", meta)
		}
		for _, q := range []string{"since=yesterday", "actor=bob", "until=2026-13-01T00:00:00Z"} {
			if r := c.do("GET", "/v1/admin/activity-logs?"+q, nil, adm); r.Status != 422 {
				t.Errorf("activity-logs?%s = %d", q, r.Status)
			}
		}
		if r := c.do("GET", "/v1/admin/activity-logs?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z", nil, adm); len(r.Body["items"].([]any)) != 0 {
			t.Fatal("a time range in the past matched entries")
		}
	})
}

// TestAdminRoles: create, change, assign and delete roles.
func TestAdminRoles(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adminID, adm := c.signup(map[string]any{"email": "admin@example.com"})
		c.grant(adminID, rbac.AdminRole)
		userID, user := c.signup(map[string]any{"email": "user@example.com"})

		r := c.do("GET", "/v1/admin/roles", nil, adm)
		if len(r.Body["items"].([]any)) != 7 || len(r.Body["permissions"].([]any)) != 33 {
			t.Fatalf("roles = %s", r.Raw)
		}
		// What a role's creation refuses is admin's TestAdminRoles.
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "support"}, adm); r.Status != 422 || r.code() != "validation_failed" {
			t.Errorf("lower-case name = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "OWNER"}, adm); r.Status != 409 || r.code() != "role_name_taken" {
			t.Fatalf("duplicate role = %d", r.Status)
		}
		r = c.do("POST", "/v1/admin/roles", map[string]any{"name": "AUDITOR", "permissions": []string{"activity_logs:read", "account:read"}}, adm)
		roleID := str(r.Body, "id")
		if r.Status != 201 || strings.Join(toStrings(r.Body["permissions"]), ",") != "account:read,activity_logs:read" {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/admin/activity-logs", nil, user); r.Status != 403 {
			t.Fatalf("before assignment = %d", r.Status)
		}
		for range 2 { // idempotent
			if r := c.do("PUT", "/v1/admin/users/"+userID+"/roles/AUDITOR", nil, adm); r.Status != 204 {
				t.Fatalf("assign = %d %s", r.Status, r.Raw)
			}
		}
		if r := c.do("GET", "/v1/admin/activity-logs", nil, user); r.Status != 200 {
			t.Fatalf("after assignment = %d", r.Status)
		}
		// Both roles grant account:read: the user holds it once.
		me := c.do("GET", "/v1/me", nil, user)
		if roles, perms := strings.Join(toStrings(me.Body["roles"]), ","), strings.Join(toStrings(me.Body["permissions"]), ","); roles != "AUDITOR,END_USER" ||
			perms != "account:read,account:write,activity_logs:read" {
			t.Fatalf("GET /v1/me with two roles: roles %s, permissions %s", roles, perms)
		}
		if r := c.do("PUT", "/v1/admin/users/"+userID+"/roles/NOPE", nil, adm); r.Status != 404 || r.code() != "role_not_found" {
			t.Fatalf("unknown role = %d %q", r.Status, r.code())
		}
		// Taking the permission from the role takes it from the user at once.
		if r := c.do("PATCH", "/v1/admin/roles/"+roleID, map[string]any{"permissions": []string{"account:read"}}, adm); r.Status != 200 {
			t.Fatalf("patch role = %d", r.Status)
		}
		if r := c.do("GET", "/v1/admin/activity-logs", nil, user); r.Status != 403 {
			t.Fatalf("after the permission went = %d", r.Status)
		}
		// An admin flag passes every check.
		c.do("PATCH", "/v1/admin/roles/"+roleID, map[string]any{"is_admin": true}, adm)
		if r := c.do("GET", "/v1/admin/roles", nil, user); r.Status != 200 {
			t.Fatalf("admin-flagged role = %d", r.Status)
		}
		for _, name := range []string{"END_USER", "ADMIN"} {
			var id string
			for _, it := range c.do("GET", "/v1/admin/roles", nil, adm).Body["items"].([]any) {
				if str(it.(map[string]any), "name") == name {
					id = str(it.(map[string]any), "id")
				}
			}
			if r := c.do("DELETE", "/v1/admin/roles/"+id, nil, adm); r.Status != 409 || r.code() != "role_protected" {
				t.Errorf("delete %s = %d", name, r.Status)
			}
		}
		if r := c.do("DELETE", "/v1/admin/roles/"+roleID, nil, adm); r.Status != 204 {
			t.Fatalf("delete role = %d", r.Status)
		}
		if r := c.do("GET", "/v1/admin/roles", nil, user); r.Status != 403 {
			t.Fatalf("after the role went = %d", r.Status)
		}
		if r := c.do("DELETE", "/v1/admin/roles/"+roleID, nil, adm); r.Status != 404 {
			t.Fatalf("delete twice = %d", r.Status)
		}
	})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", "+", "%2B", " ", "%20").Replace(s)
}
