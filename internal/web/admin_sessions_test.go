package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// sessionOf signs a user in again and returns the new session's token.
func (c *client) sessionOf(ident string) string {
	c.t.Helper()
	return str(c.login(ident, "correct horse battery")["session"].(map[string]any), "token")
}

// narrowAdmin makes a role with perms and a user holding it, and returns
// the user's id and token.
func (c *client) narrowAdmin(adm, role, email string, perms ...string) (string, string) {
	c.t.Helper()
	if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": role, "permissions": perms}, adm); r.Status != 201 {
		c.t.Fatalf("create %s = %d %s", role, r.Status, r.Raw)
	}
	id, _ := c.signup(map[string]any{"email": email})
	c.grant(id, role)
	return id, c.sessionOf(email)
}

// TestAdminUserSessions: an administrator lists a user's sessions, ends one
// (its token is refused at once) and then all of them, each audited;
// users:read reads but does not end them, and nobody ends the sessions of a
// user who holds more than they do.
func TestAdminUserSessions(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		ann, first := c.signup(map[string]any{"email": "ann@example.com"})
		second := c.sessionOf("ann@example.com")
		r := c.do("GET", "/v1/admin/users/"+ann+"/sessions", nil, adm)
		items, _ := r.Body["items"].([]any)
		if r.Status != 200 || len(items) != 2 {
			t.Fatalf("sessions = %d %s", r.Status, r.Raw)
		}
		newest := str(items[0].(map[string]any), "id") // the second log-in's
		if p := c.do("GET", "/v1/admin/users/"+ann+"/sessions?limit=1", nil, adm); len(p.Body["items"].([]any)) != 1 || p.Body["next_cursor"] == nil {
			t.Fatalf("a page of one = %s", p.Raw)
		}

		_, reader := c.narrowAdmin(adm, "READER", "reader@example.com", "users:read")
		_, writer := c.narrowAdmin(adm, "WRITER", "writer@example.com", "users:read", "users:write")
		admID := str(c.do("GET", "/v1/me", nil, adm).Body, "id")
		runScenarios(t, c, []scenario{
			{"reader lists", "GET", "/v1/admin/users/" + ann + "/sessions", nil, reader, 200, ""},
			{"reader may not end one", "DELETE", "/v1/admin/users/" + ann + "/sessions/" + newest, nil, reader, 403, "forbidden"},
			{"reader may not end all", "DELETE", "/v1/admin/users/" + ann + "/sessions", nil, reader, 403, "forbidden"},
			{"not above an administrator", "DELETE", "/v1/admin/users/" + admID + "/sessions", nil, writer, 403, "insufficient_privilege"},
			{"unknown user", "GET", "/v1/admin/users/00000000-0000-7000-8000-000000000000/sessions", nil, adm, 404, "user_not_found"},
			{"end for an unknown user", "DELETE", "/v1/admin/users/00000000-0000-7000-8000-000000000000/sessions", nil, adm, 404, "user_not_found"},
			{"not a session id", "DELETE", "/v1/admin/users/" + ann + "/sessions/nope", nil, adm, 404, "session_not_found"},
			{"another user's session", "DELETE", "/v1/admin/users/" + admID + "/sessions/" + newest, nil, adm, 404, "session_not_found"},
		})
		if r := c.do("GET", "/v1/me", nil, adm); r.Status != 200 {
			t.Fatalf("the administrator's own session after the refusals = %d", r.Status)
		}

		if r := c.do("DELETE", "/v1/admin/users/"+ann+"/sessions/"+newest, nil, writer); r.Status != http.StatusNoContent {
			t.Fatalf("end one = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, second); r.Status != http.StatusUnauthorized {
			t.Fatalf("the ended session = %d", r.Status)
		}
		if r := c.do("GET", "/v1/me", nil, first); r.Status != 200 {
			t.Fatalf("the other session = %d", r.Status)
		}
		r = c.do("DELETE", "/v1/admin/users/"+ann+"/sessions", nil, writer)
		if r.Status != 200 || r.Body["count"] != float64(1) {
			t.Fatalf("end all = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, first); r.Status != http.StatusUnauthorized {
			t.Fatalf("the last session after end all = %d", r.Status)
		}
		if r := c.do("GET", "/v1/admin/users/"+ann+"/sessions", nil, adm); len(r.Body["items"].([]any)) != 0 {
			t.Fatalf("sessions after end all = %s", r.Raw)
		}
		r = c.do("GET", "/v1/admin/activity-logs?action=admin.sessions_ended", nil, adm)
		entries, _ := r.Body["items"].([]any)
		if len(entries) != 2 {
			t.Fatalf("trail = %s", r.Raw)
		}
		all, one := entries[0].(map[string]any), entries[1].(map[string]any)
		if all["target_id"] != ann || all["metadata"].(map[string]any)["count"] != float64(1) ||
			one["target_id"] != ann || one["metadata"].(map[string]any)["session_id"] != newest {
			t.Fatalf("trail entries = %s", r.Raw)
		}
	})
}

// TestAdminUserFactors: TOTP's state and the recovery codes left, and the
// passkeys, without a secret.
func TestAdminUserFactors(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		adm := c.admin()
		ann, tok := c.signup(map[string]any{"email": "ann@example.com"})
		r := c.do("GET", "/v1/admin/users/"+ann+"/factors", nil, adm)
		if r.Status != 200 || r.Body["totp_enabled"] != false || r.Body["recovery_codes_left"] != float64(0) || len(r.Body["passkeys"].([]any)) != 0 {
			t.Fatalf("factors before = %d %s", r.Status, r.Raw)
		}
		secret := str(c.do("POST", "/v1/me/mfa/totp", nil, tok).Body, "secret")
		code, _ := totp.GenerateCode(secret, clk.now())
		codes := toStrings(c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code}, tok).Body["recovery_codes"])
		if len(codes) != 10 {
			t.Fatalf("recovery codes: %v", codes)
		}
		if r := c.do("GET", "/v1/admin/users/"+ann+"/factors", nil, adm); r.Body["totp_enabled"] != true || r.Body["recovery_codes_left"] != float64(10) {
			t.Fatalf("factors enrolled = %s", r.Raw)
		}
		// A recovery code spent at a log-in leaves nine.
		clk.advance(30 * time.Second)
		login := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, "")
		if r := c.do("POST", "/v1/auth/mfa/verify", map[string]any{"mfa_token": str(login.Body, "mfa_token"), "recovery_code": codes[0]}, ""); r.Status != 200 {
			t.Fatalf("recovery = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/admin/users/"+ann+"/factors", nil, adm); r.Body["recovery_codes_left"] != float64(9) {
			t.Fatalf("factors after a recovery code = %s", r.Raw)
		}
		addPasskey(t, c.db, ann, "YubiKey")
		r = c.do("GET", "/v1/admin/users/"+ann+"/factors", nil, adm)
		keys, _ := r.Body["passkeys"].([]any)
		if len(keys) != 1 || str(keys[0].(map[string]any), "name") != "YubiKey" || keys[0].(map[string]any)["last_used_at"] != nil {
			t.Fatalf("factors with a passkey = %s", r.Raw)
		}
	})
}

// addPasskey stores a passkey for a user as a finished registration would.
func addPasskey(t *testing.T, db *sqldb.DB, userID, name string) {
	t.Helper()
	ctx := context.Background()
	err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO authenticators (id, user_id, name, credential_id, credential_public_key, counter, transports, credential_backed_up, created_at)
			VALUES ($1, $2, $3, $4, $5, 0, '', false, $6)`, userd.NewID(tx.Now), userID, name, []byte(name), []byte("key"), tx.Now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
