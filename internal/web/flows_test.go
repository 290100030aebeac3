package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestRestartKeepsUsersAndSessions closes the database and the server and
// opens them again: the user and their session token still work.
func TestRestartKeepsUsersAndSessions(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var open func() *sqldb.DB
			switch engine {
			case "sqlite":
				path := dbtest.SQLitePath(t)
				open = func() *sqldb.DB { return mustOpen(t, engine, path) }
			case "postgres":
				url := dbtest.NewPostgresURL(t, true)
				open = func() *sqldb.DB { return mustOpen(t, engine, url) }
			}
			db := open()
			if _, err := db.MigrateUp(ctx); err != nil {
				t.Fatal(err)
			}
			c := start(t, db)
			id, tok := c.signup(map[string]any{"email": "ann@example.com"})
			db.Close()

			c2 := start(t, open())
			r := c2.do("GET", "/v1/me", nil, tok)
			if r.Status != 200 || r.Body["id"] != id {
				t.Fatalf("after restart /v1/me = %d %s", r.Status, r.Raw)
			}
			if r := c2.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, ""); r.Status != 200 {
				t.Fatalf("after restart login = %d %s", r.Status, r.Raw)
			}
		})
	}
}

// TestMe covers reading, changing and deleting the signed-in user.
func TestMe(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		id, tok := c.signup(map[string]any{"email": "ann@example.com", "first_name": "Ann", "city": "Lyon"})
		r := c.do("GET", "/v1/me", nil, tok)
		if r.Body["id"] != id || r.Body["email"] != "ann@example.com" || r.Body["is_first_connection"] != true ||
			r.Body["is_beta"] != false || r.Body["language"] != "en" || r.Body["status"] != "active" || r.Body["city"] != "Lyon" {
			t.Fatalf("GET /v1/me = %s", r.Raw)
		}
		if _, ok := r.Body["password_hash"]; ok {
			t.Fatal("the password hash is exposed")
		}
		r = c.do("PATCH", "/v1/me", map[string]any{"first_name": "  Annie ", "city": "", "language": "pt-br", "is_first_connection": false, "username": "annie"}, tok)
		if r.Status != 200 || r.Body["first_name"] != "Annie" || r.Body["city"] != nil || r.Body["language"] != "pt-BR" ||
			r.Body["is_first_connection"] != false || r.Body["username"] != "annie" || r.Body["last_name"] != nil {
			t.Fatalf("PATCH /v1/me = %d %s", r.Status, r.Raw)
		}
		// A rejected patch changes nothing.
		if r := c.do("PATCH", "/v1/me", map[string]any{"first_name": "Zed", "language": "??"}, tok); r.Status != 422 {
			t.Fatalf("bad PATCH = %d", r.Status)
		}
		if r := c.do("GET", "/v1/me", nil, tok); r.Body["first_name"] != "Annie" {
			t.Fatalf("a rejected PATCH changed first_name to %v", r.Body["first_name"])
		}
		// The public profile shows no email or phone.
		r = c.do("GET", "/v1/users/"+id, nil, "")
		if r.Status != 200 || r.Body["username"] != "annie" {
			t.Fatalf("public profile = %d %s", r.Status, r.Raw)
		}
		for _, private := range []string{"email", "phone_number", "status", "is_beta"} {
			if _, ok := r.Body[private]; ok {
				t.Errorf("public profile shows %s", private)
			}
		}
		if v, ok := r.Body["auth_user_id"]; !ok || v != nil { // public when set (issue 21); she has none
			t.Errorf("public profile's auth_user_id = %v, %v", v, ok)
		}
		// Delete: the user and their sessions go; the token stops working.
		_, other := c.signup(map[string]any{"email": "bob@example.com"})
		if r := c.do("DELETE", "/v1/me", nil, tok); r.Status != 204 {
			t.Fatalf("DELETE /v1/me = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, tok); r.Status != 401 {
			t.Fatalf("after delete GET /v1/me = %d", r.Status)
		}
		if r := c.do("GET", "/v1/users/"+id, nil, ""); r.Status != 404 {
			t.Fatalf("after delete public profile = %d", r.Status)
		}
		var sessions int
		c.db.SQL().QueryRow(`SELECT count(*) FROM sessions`).Scan(&sessions)
		if sessions != 1 {
			t.Fatalf("sessions after delete = %d; want 1 (bob's)", sessions)
		}
		if r := c.do("GET", "/v1/me", nil, other); r.Status != 200 {
			t.Fatalf("another user's session broke: %d", r.Status)
		}
		// The email is free again.
		c.signup(map[string]any{"email": "ann@example.com"})
	})
}

// TestLogout ends the session at once, and only that session.
func TestLogout(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, first := c.signup(map[string]any{"email": "ann@example.com"})
		second := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, "").Body["session"].(map[string]any)["token"].(string)
		r := c.do("POST", "/v1/auth/logout", nil, first)
		if r.Status != 204 || !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Fatalf("logout = %d, Set-Cookie %q", r.Status, r.Header.Get("Set-Cookie"))
		}
		if r := c.do("GET", "/v1/me", nil, first); r.Status != 401 {
			t.Fatalf("logged-out token = %d", r.Status)
		}
		if r := c.do("GET", "/v1/me", nil, second); r.Status != 200 {
			t.Fatalf("other session = %d", r.Status)
		}
	})
}

// TestCookieAuthAndCrossOrigin: the session cookie authenticates; a
// cross-site write with it is refused and changes nothing.
func TestCookieAuthAndCrossOrigin(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		setCookie := r.Header.Get("Set-Cookie")
		for _, attr := range []string{"userd_session=uds_", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(setCookie, attr) {
				t.Fatalf("Set-Cookie %q lacks %s", setCookie, attr)
			}
		}
		cookie := strings.SplitN(setCookie, ";", 2)[0]
		if r := c.do("GET", "/v1/me", nil, "", "Cookie", cookie); r.Status != 200 {
			t.Fatalf("GET with cookie = %d", r.Status)
		}
		r = c.do("PATCH", "/v1/me", map[string]any{"first_name": "Mallory"}, "", "Cookie", cookie, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if r.Status != http.StatusForbidden || r.code() != "csrf_rejected" {
			t.Fatalf("cross-site PATCH with cookie = %d %s", r.Status, r.Raw)
		}
		r = c.do("PATCH", "/v1/me", map[string]any{"first_name": "Ann"}, "", "Cookie", cookie, "Sec-Fetch-Site", "same-origin")
		if r.Status != 200 || r.Body["first_name"] != "Ann" {
			t.Fatalf("same-origin PATCH with cookie = %d %s", r.Status, r.Raw)
		}
	})
}

// TestBcryptUserRehashedOnLogin: an imported bcrypt user logs in with their
// old password and is re-hashed to argon2id.
func TestBcryptUserRehashedOnLogin(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		ctx := context.Background()
		// htpasswd -nbB -C 5 u "correct horse"
		const bcryptHash = "$2y$05$WKEpfI/VvI2WWftY/ccob.6ZVowMSFgHBSUpUfiPlqrPROhN9XFKi"
		err := c.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			_, err := account.Insert(ctx, tx, account.New{Identity: account.Identity{Username: "legacy"}, PasswordHash: bcryptHash})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "legacy", "password": "correct horsf"}, ""); r.Status != 401 {
			t.Fatalf("wrong password = %d", r.Status)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "legacy", "password": "correct horse"}, ""); r.Status != 200 {
			t.Fatalf("bcrypt login = %d %s", r.Status, r.Raw)
		}
		var hash string
		c.db.SQL().QueryRow(`SELECT password_hash FROM users WHERE username = 'legacy'`).Scan(&hash)
		if !strings.HasPrefix(hash, "$argon2id$") {
			t.Fatalf("hash after login = %q; want argon2id", hash)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "legacy", "password": "correct horse"}, ""); r.Status != 200 {
			t.Fatalf("login after rehash = %d", r.Status)
		}
	})
}

// TestSuspendedAndBanned: such users cannot log in, and their sessions stop
// working at once.
func TestSuspendedAndBanned(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		for _, st := range []string{"suspended", "banned"} {
			email := st + "@example.com"
			_, tok := c.signup(map[string]any{"email": email})
			if _, err := c.db.SQL().Exec(`UPDATE users SET status = $1 WHERE email = $2`, st, email); err != nil {
				t.Fatal(err)
			}
			want := "account_" + st
			if r := c.do("GET", "/v1/me", nil, tok); r.Status != 403 || r.code() != want {
				t.Fatalf("%s: GET /v1/me = %d %q", st, r.Status, r.code())
			}
			if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": email, "password": "correct horse battery"}, ""); r.Status != 403 || r.code() != want {
				t.Fatalf("%s: login = %d %q", st, r.Status, r.code())
			}
			// A wrong password still says only invalid_credentials.
			if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": email, "password": "not the password"}, ""); r.Status != 401 {
				t.Fatalf("%s: wrong password = %d", st, r.Status)
			}
		}
	})
}

// TestReadyzReportsPendingMigrations: /readyz answers 503 when a migration
// is not applied.
func TestReadyzReportsPendingMigrations(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		if _, err := c.db.MigrateDown(context.Background()); err != nil {
			t.Fatal(err)
		}
		r := c.do("GET", "/readyz", nil, "")
		if r.Status != 503 || r.code() != "migrations_pending" {
			t.Fatalf("/readyz = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/healthz", nil, ""); r.Status != 200 {
			t.Fatalf("/healthz = %d", r.Status)
		}
	})
}

func mustOpen(t *testing.T, engine, where string) *sqldb.DB {
	t.Helper()
	db, err := dbtest.OpenAt(context.Background(), engine, where)
	if err != nil {
		t.Fatal(fmt.Errorf("open %s: %w", engine, err))
	}
	t.Cleanup(func() { db.Close() })
	return db
}
