package web_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestCallerCacheInvalidation: what authentication remembers of a caller
// (their session, their user, their roles, what the roles grant) changes
// with every write that changes it: in the writing process as soon as the write answers, and in
// another process (PostgreSQL) within moments. Each step writes through
// server a and reads through a at once, then through b.
func TestCallerCacheInvalidation(t *testing.T) {
	twoProcesses(t, func(t *testing.T, a, b *client) {
		adm := a.admin()
		r := a.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		if r.Status != http.StatusCreated {
			t.Fatalf("signup: %d %s", r.Status, r.Raw)
		}
		annID := str(r.Body["user"].(map[string]any), "id")
		session := r.Body["session"].(map[string]any)
		tok, jwt, sessionID := str(session, "token"), str(r.Body, "access_token"), str(session, "id")

		// check asks both servers for /v1/me until want holds, with each
		// credential at a and with the session token at b (the JWT's
		// audience is a).
		check := func(step string, creds []string, want func(response) bool) {
			t.Helper()
			for i, cred := range creds {
				settle(t, a, b, i == 0, step, "/v1/me", cred, want)
			}
		}
		both := []string{tok, jwt}
		status := func(code int) func(response) bool { return func(r response) bool { return r.Status == code } }
		field := func(k, v string) func(response) bool {
			return func(r response) bool { return r.Status == http.StatusOK && str(r.Body, k) == v }
		}
		has := func(k, v string, in bool) func(response) bool {
			return func(r response) bool {
				return r.Status == http.StatusOK && slices.Contains(toStrings(r.Body[k]), v) == in
			}
		}
		check("warm", both, field("email", "ann@example.com"))
		check("warm again", both, field("email", "ann@example.com"))

		if r := a.do("PATCH", "/v1/me", map[string]any{"first_name": "Ann"}, tok); r.Status != http.StatusOK {
			t.Fatalf("patch me: %d %s", r.Status, r.Raw)
		}
		check("own profile change", both, field("first_name", "Ann"))
		if r := a.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"last_name": "Lee"}, adm); r.Status != http.StatusOK {
			t.Fatalf("admin patch: %d %s", r.Status, r.Raw)
		}
		check("admin's profile change", both, field("last_name", "Lee"))

		r = a.do("POST", "/v1/admin/roles", map[string]any{"name": "EDITOR", "description": "edits", "permissions": []string{"users:read"}}, adm)
		if r.Status != http.StatusCreated {
			t.Fatalf("create role: %d %s", r.Status, r.Raw)
		}
		roleID := str(r.Body, "id")
		if r := a.do("PUT", "/v1/admin/users/"+annID+"/roles/EDITOR", nil, adm); r.Status != http.StatusNoContent {
			t.Fatalf("assign: %d %s", r.Status, r.Raw)
		}
		check("role assigned", both, has("roles", "EDITOR", true))
		check("role's permission", both, has("permissions", "users:read", true))
		if r := a.do("PATCH", "/v1/admin/roles/"+roleID, map[string]any{"permissions": []string{"users:read", "roles:read"}}, adm); r.Status != http.StatusOK {
			t.Fatalf("update role: %d %s", r.Status, r.Raw)
		}
		check("role's new permission", both, has("permissions", "roles:read", true))
		if r := a.do("PATCH", "/v1/admin/roles/"+roleID, map[string]any{"name": "WRITER"}, adm); r.Status != http.StatusOK {
			t.Fatalf("rename role: %d %s", r.Status, r.Raw)
		}
		check("role's new name", both, has("roles", "WRITER", true))
		if r := a.do("DELETE", "/v1/admin/users/"+annID+"/roles/WRITER", nil, adm); r.Status != http.StatusNoContent {
			t.Fatalf("unassign: %d %s", r.Status, r.Raw)
		}
		check("role taken", both, has("roles", "WRITER", false))
		a.do("PUT", "/v1/admin/users/"+annID+"/roles/WRITER", nil, adm)
		check("role again", both, has("roles", "WRITER", true))
		if r := a.do("DELETE", "/v1/admin/roles/"+roleID, nil, adm); r.Status != http.StatusNoContent {
			t.Fatalf("delete role: %d %s", r.Status, r.Raw)
		}
		check("role deleted", both, has("roles", "WRITER", false))
		// An administrator holds every permission: one made since too.
		if r := a.do("POST", "/v1/admin/permissions", map[string]any{"key": "invoices:read"}, adm); r.Status != http.StatusCreated {
			t.Fatalf("create permission: %d %s", r.Status, r.Raw)
		}
		settle(t, a, b, true, "administrator's new permission", "/v1/me", adm, has("permissions", "invoices:read", true))

		if r := a.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"status": "suspended"}, adm); r.Status != http.StatusOK {
			t.Fatalf("suspend: %d %s", r.Status, r.Raw)
		}
		// Suspension ends every session.
		check("suspended", both, status(http.StatusUnauthorized))
		a.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"status": "active"}, adm)

		login := a.login("ann@example.com", "correct horse battery")
		tok, sessionID = str(login["session"].(map[string]any), "token"), str(login["session"].(map[string]any), "id")
		both = []string{tok, str(login, "access_token")}
		check("active again", both, status(http.StatusOK))
		login = b.login("ann@example.com", "correct horse battery")
		tok2 := str(login["session"].(map[string]any), "token")
		if r := a.do("DELETE", "/v1/me/sessions/"+sessionID, nil, tok2); r.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.Status, r.Raw)
		}
		check("session revoked", both, status(http.StatusUnauthorized))
		check("other session", []string{tok2}, status(http.StatusOK))

		if r := a.do("DELETE", "/v1/admin/users/"+annID, nil, adm); r.Status != http.StatusNoContent {
			t.Fatalf("delete user: %d %s", r.Status, r.Raw)
		}
		check("user deleted", []string{tok2}, status(http.StatusUnauthorized))
	})
}

// twoProcesses runs body on each engine with two servers a and b: on
// PostgreSQL two processes' worth of services over one database, on SQLite
// one server (one process per file) as both.
func twoProcesses(t *testing.T, body func(t *testing.T, a, b *client)) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			a, b := processes(t, engine)
			body(t, a, b)
		})
	}
}

// settle asks a for path until want holds, at once, and then, when atB, b
// within two seconds: a wrote, and b is another process that hears of it.
func settle(t *testing.T, a, b *client, atB bool, step, path, tok string, want func(response) bool) {
	t.Helper()
	servers := []*client{a}
	if atB {
		servers = append(servers, b)
	}
	for _, c := range servers {
		deadline := time.Now().Add(2 * time.Second)
		for {
			got := c.do("GET", path, nil, tok)
			if want(got) {
				break
			}
			if c == a || time.Now().After(deadline) {
				t.Fatalf("%s: server %s answers %d %s", step, map[bool]string{true: "a", false: "b"}[c == a], got.Status, got.Raw)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestListCacheInvalidation: unread counts, first pages of notifications
// and pages of follow lists change with every write that changes them, and
// with the profiles of the users they show.
func TestListCacheInvalidation(t *testing.T) {
	twoProcesses(t, func(t *testing.T, a, b *client) {
		adm := a.admin()
		annID, ann := a.signup(map[string]any{"email": "ann@example.com"})
		bobID, bob := a.signup(map[string]any{"email": "bob@example.com", "first_name": "Bob"})
		_, cat := a.signup(map[string]any{"email": "cat@example.com"})
		count := func(n int) func(response) bool {
			return func(r response) bool { return r.Status == http.StatusOK && r.Body["count"] == float64(n) }
		}
		// names returns a list page's titles or first names, in order.
		names := func(want ...string) func(response) bool {
			return func(r response) bool {
				items, _ := r.Body["items"].([]any)
				var got []string
				for _, it := range items {
					m := it.(map[string]any)
					got = append(got, str(m, "title")+str(m, "first_name"))
				}
				return r.Status == http.StatusOK && slices.Equal(got, want)
			}
		}
		send := func(title string) string {
			r := a.do("POST", "/v1/admin/notifications", map[string]any{"user_id": annID, "type": "t", "title": title}, adm)
			if r.Status != http.StatusCreated {
				t.Fatalf("send: %d %s", r.Status, r.Raw)
			}
			return str(r.Body["items"].([]any)[0].(map[string]any), "id")
		}
		first := send("one")
		for range 2 { // remembered by both
			settle(t, a, b, true, "count", "/v1/me/notifications/unread-count", ann, count(1))
			settle(t, a, b, true, "page", "/v1/me/notifications?limit=5", ann, names("one"))
			settle(t, a, b, true, "unread page", "/v1/me/notifications?unread=true", ann, names("one"))
		}
		send("two")
		settle(t, a, b, true, "count after a send", "/v1/me/notifications/unread-count", ann, count(2))
		settle(t, a, b, true, "page after a send", "/v1/me/notifications?limit=5", ann, names("two", "one"))
		if r := a.do("POST", "/v1/me/notifications/"+first+"/read", nil, ann); r.Status != http.StatusNoContent {
			t.Fatalf("read: %d %s", r.Status, r.Raw)
		}
		settle(t, a, b, true, "count after a read", "/v1/me/notifications/unread-count", ann, count(1))
		settle(t, a, b, true, "unread page after a read", "/v1/me/notifications?unread=true", ann, names("two"))
		if r := a.do("DELETE", "/v1/me/notifications/"+first, nil, ann); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Raw)
		}
		settle(t, a, b, true, "page after deleting a read one", "/v1/me/notifications?limit=5", ann, names("two"))
		a.do("POST", "/v1/me/notifications/read-all", nil, ann)
		settle(t, a, b, true, "count after read-all", "/v1/me/notifications/unread-count", ann, count(0))

		followers := "/v1/users/" + annID + "/followers"
		if r := a.do("PUT", "/v1/users/"+annID+"/follow", nil, bob); r.Status != http.StatusNoContent {
			t.Fatalf("follow: %d %s", r.Status, r.Raw)
		}
		for range 2 {
			settle(t, a, b, true, "followers", followers, "", names("Bob"))
			settle(t, a, b, true, "following", "/v1/users/"+bobID+"/following", "", names(""))
		}
		a.do("PUT", "/v1/users/"+annID+"/follow", nil, cat)
		settle(t, a, b, true, "followers after a follow", followers, "", names("", "Bob"))
		a.do("PATCH", "/v1/me", map[string]any{"first_name": "Robert"}, bob)
		settle(t, a, b, true, "a follower's new name", followers, "", names("", "Robert"))
		a.do("DELETE", "/v1/users/"+annID+"/follow", nil, cat)
		settle(t, a, b, true, "followers after an unfollow", followers, "", names("Robert"))
		a.do("PATCH", "/v1/me", map[string]any{"first_name": "Ann"}, ann)
		settle(t, a, b, true, "the followed user's new name", "/v1/users/"+bobID+"/following", "", names("Ann"))
		if r := a.do("DELETE", "/v1/me", nil, bob); r.Status != http.StatusNoContent {
			t.Fatalf("delete bob: %d %s", r.Status, r.Raw)
		}
		settle(t, a, b, true, "followers after a follower left", followers, "", names())
	})
}

// TestCallerCacheServes: a caller's second request is answered from memory.
// A change written behind userd's back (no invalidation) shows when
// something invalidates the user, which every userd write does, or after
// five seconds, when authentication reads again.
func TestCallerCacheServes(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		id, tok := c.signup(map[string]any{"email": "ann@example.com", "first_name": "Ann"})
		for i := range 3 {
			if i == 2 {
				// The sign-up's invalidations reach the cache through the
				// database's notifications, which a busy machine may deliver
				// after the first reads: once they are in, the next read is
				// remembered for good.
				time.Sleep(300 * time.Millisecond)
			}
			if r := c.do("GET", "/v1/me", nil, tok); str(r.Body, "first_name") != "Ann" {
				t.Fatalf("me: %d %s", r.Status, r.Raw)
			}
		}
		ctx := context.Background()
		behind := func(name string) {
			err := c.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
				_, err := tx.Exec(ctx, `UPDATE users SET first_name = $1 WHERE id = $2`, name, id)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		behind("Later")
		if r := c.do("GET", "/v1/me", nil, tok); str(r.Body, "first_name") != "Ann" {
			t.Fatalf("me after an uninvalidated write: %s; want the remembered Ann", r.Raw)
		}
		clk.advance(4 * time.Second)
		if r := c.do("GET", "/v1/me", nil, tok); str(r.Body, "first_name") != "Ann" {
			t.Fatalf("me 4 s later: %s; want the remembered Ann", r.Raw)
		}
		clk.advance(time.Second)
		if r := c.do("GET", "/v1/me", nil, tok); str(r.Body, "first_name") != "Later" {
			t.Fatalf("me 5 s later: %s; want Later, read again", r.Raw)
		}
		behind("Behind")
		if r := c.do("PATCH", "/v1/me", map[string]any{"last_name": "Lee"}, tok); r.Status != http.StatusOK {
			t.Fatalf("patch: %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, tok); str(r.Body, "first_name") != "Behind" || str(r.Body, "last_name") != "Lee" {
			t.Fatalf("me after an invalidating write: %s", r.Raw)
		}
	})
}
