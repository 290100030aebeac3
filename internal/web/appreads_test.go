package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// apiKey makes an API key with the permissions and returns its id and key.
func (c *client) apiKey(adm, name string, perms ...string) (id, key string) {
	c.t.Helper()
	r := c.do("POST", "/v1/admin/api-keys", map[string]any{"name": name, "permissions": perms}, adm)
	if r.Status != http.StatusCreated {
		c.t.Fatalf("create key %s: %d %s", name, r.Status, r.Raw)
	}
	return str(r.Body, "id"), str(r.Body, "key")
}

// ownActivity returns the user's trail as their export has it.
func (c *client) ownActivity(tok string) []map[string]any {
	c.t.Helper()
	r := c.do("GET", "/v1/me/export", nil, tok)
	var doc struct {
		Activity []map[string]any `json:"activity"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil || r.Status != http.StatusOK {
		c.t.Fatalf("export = %d, %v", r.Status, err)
	}
	return doc.Activity
}

// find returns the entries of an action.
func find(trail []map[string]any, action string) []map[string]any {
	var out []map[string]any
	for _, e := range trail {
		if e["action"] == action {
			out = append(out, e)
		}
	}
	return out
}

// TestAppReadVault: an application's key with vault:reveal reads a user's
// secret (no-store), one without it is 403, an administrator reads it
// without a fresh log-in while the owner's own reveal keeps that rule, ids
// that are not the user's (or not ids) are 404, and the owner's own trail
// names the key, or the administrator, with no secret in it.
func TestAppReadVault(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clk := withClock(db)
		c := start(t, db)
		adm := c.admin()
		admID := str(c.do("GET", "/v1/me", nil, adm).Body, "id")
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		_, bob := c.signup(map[string]any{"email": "bob@example.com"})
		acct := str(c.do("POST", "/v1/me/accounts", map[string]any{"account_name": "Broker"}, ann).Body, "id")
		const secret = "sk-live-ann-0123456789"
		expires := time.Now().Add(240 * time.Hour).UTC().Truncate(time.Second)
		if r := c.do("PUT", "/v1/me/accounts/"+acct+"/credentials/api_key", map[string]any{"secret": secret, "expires_at": expires}, ann); r.Status != http.StatusOK {
			t.Fatalf("put = %d %s", r.Status, r.Raw)
		}
		bobAcct := str(c.do("POST", "/v1/me/accounts", map[string]any{"account_name": "Bob's"}, bob).Body, "id")
		keyID, key := c.apiKey(adm, "back-end", "vault:reveal")
		_, weak := c.apiKey(adm, "reader", "users:read", "synchronizations:reveal")

		path := func(user, account, typ string) string {
			return "/v1/admin/users/" + user + "/accounts/" + account + "/credentials/" + typ + "/reveal"
		}
		r := c.do("POST", path(annID, acct, "api_key"), nil, key)
		if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" || str(r.Body, "secret") != secret {
			t.Fatalf("a key's reveal = %d %v %s", r.Status, r.Header, r.Raw)
		}
		if at, err := time.Parse(time.RFC3339, str(r.Body, "expires_at")); err != nil || !at.Equal(expires) {
			t.Fatalf("expires_at = %s", r.Raw)
		}
		if r := c.do("POST", path(annID, acct, "api_key"), nil, weak); r.Status != http.StatusForbidden || r.code() != "forbidden" {
			t.Fatalf("a key without vault:reveal = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", path(annID, acct, "api_key"), nil, ann); r.Status != http.StatusForbidden || r.code() != "forbidden" {
			t.Fatalf("the owner on the application's route = %d %s", r.Status, r.Raw)
		}
		runScenarios(t, c, []scenario{
			{"bob's account under ann", "POST", path(annID, bobAcct, "api_key"), nil, key, 404, "account_not_found"},
			{"a malformed user id", "POST", path("nobody", acct, "api_key"), nil, key, 404, "account_not_found"},
			{"a malformed account id", "POST", path(annID, "nothing", "api_key"), nil, key, 404, "account_not_found"},
			{"a type not stored", "POST", path(annID, acct, "etp_token"), nil, key, 404, "credential_not_found"},
		})

		// Later: the administrator reads without a fresh log-in; the owner's
		// own reveal still needs one.
		clk.advance(10 * time.Minute)
		if r := c.do("POST", path(annID, acct, "api_key"), nil, adm); r.Status != http.StatusOK || str(r.Body, "secret") != secret {
			t.Fatalf("an administrator's reveal = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/me/accounts/"+acct+"/credentials/api_key/reveal", nil, ann); r.Status != http.StatusForbidden || r.code() != "reauthentication_required" {
			t.Fatalf("the owner's stale reveal = %d %s", r.Status, r.Raw)
		}

		trail := c.ownActivity(ann)
		reads := find(trail, "vault.credential_revealed")
		if len(reads) != 2 {
			t.Fatalf("ann's trail has %d reveals; want 2: %v", len(reads), trail)
		}
		byKey, byAdmin := reads[1], reads[0] // newest first
		meta, _ := byKey["metadata"].(map[string]any)
		if byKey["actor_type"] != "api_key" || byKey["actor_api_key_id"] != keyID || byKey["user_id"] != annID ||
			meta["account_id"] != acct || meta["credential_type"] != "api_key" || meta["revealed_by_user_id"] != nil {
			t.Fatalf("the key's reveal in ann's trail = %v", byKey)
		}
		if meta, _ := byAdmin["metadata"].(map[string]any); byAdmin["actor_api_key_id"] != nil || meta["revealed_by_user_id"] != admID {
			t.Fatalf("the administrator's reveal in ann's trail = %v", byAdmin)
		}
		raw, _ := json.Marshal(trail)
		if strings.Contains(string(raw), secret) {
			t.Fatal("the trail holds the secret")
		}
	})
}

// TestAppReadSync: a key with synchronizations:reveal reads a user's
// synchronization token (no-store) and runs it now: one signed
// synchronization.due webhook with the token, however often it was asked
// for before it went out; without the permission 403; ids not the user's
// 404; each in the owner's trail with the key as actor.
func TestAppReadSync(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		hook := []byte("0123456789abcdef0123456789abcdef")
		rc := &receiver{key: hook, t: t}
		app := httptest.NewServer(rc)
		defer app.Close()
		c := startWith(t, db, options{webhook: app.URL, hookKey: hook})
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		expires := time.Now().Add(240 * time.Hour).UTC().Truncate(time.Second)
		r := c.do("POST", "/v1/me/synchronizations", map[string]any{"service": "Rithmic", "account_id": "R-9", "token": "tok_live_42",
			"token_expires_at": expires.Format(time.RFC3339), "daily_sync_time": "06:30"}, ann)
		sid := str(r.Body, "id")
		bobSid := str(c.do("POST", "/v1/me/synchronizations", map[string]any{"service": "Rithmic", "account_id": "R-1"}, bob).Body, "id")
		keyID, key := c.apiKey(adm, "back-end", "synchronizations:reveal")
		_, weak := c.apiKey(adm, "vault only", "vault:reveal")

		token := func(user, sync string) string {
			return "/v1/admin/users/" + user + "/synchronizations/" + sync + "/token"
		}
		r = c.do("GET", token(annID, sid), nil, key)
		if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" || str(r.Body, "token") != "tok_live_42" {
			t.Fatalf("a key's token read = %d %s", r.Status, r.Raw)
		}
		if at, err := time.Parse(time.RFC3339, str(r.Body, "token_expires_at")); err != nil || !at.Equal(expires) {
			t.Fatalf("token_expires_at = %s", r.Raw)
		}
		runScenarios(t, c, []scenario{
			{"token without the permission", "GET", token(annID, sid), nil, weak, 403, "forbidden"},
			{"bob's under ann", "GET", token(annID, bobSid), nil, key, 404, "synchronization_not_found"},
			{"a malformed user id", "GET", token("nobody", sid), nil, key, 404, "synchronization_not_found"},
			{"no token stored", "GET", token(bobID, bobSid), nil, key, 404, "token_not_found"},
			{"run without the permission", "POST", "/v1/admin/synchronizations/" + sid + "/run", nil, weak, 403, "forbidden"},
			{"run a malformed id", "POST", "/v1/admin/synchronizations/nothing/run", nil, key, 404, "synchronization_not_found"},
			{"run an unknown id", "POST", "/v1/admin/synchronizations/" + annID + "/run", nil, key, 404, "synchronization_not_found"},
		})
		for range 2 {
			if r := c.do("POST", "/v1/admin/synchronizations/"+sid+"/run", nil, key); r.Status != http.StatusAccepted {
				t.Fatalf("run = %d %s", r.Status, r.Raw)
			}
		}
		if n, err := c.jobs.RunDue(context.Background()); n != 1 || err != nil {
			t.Fatalf("ran %d jobs, %v; want the one run", n, err)
		}
		rc.mu.Lock()
		if len(rc.events) != 1 || rc.events[0]["type"] != "synchronization.due" {
			t.Fatalf("webhooks = %v; want one synchronization.due", rc.events)
		}
		if data := rc.events[0]["data"].(map[string]any); data["id"] != sid || data["token"] != "tok_live_42" {
			t.Fatalf("the run's data = %v", data)
		}
		rc.mu.Unlock()

		trail := c.ownActivity(ann)
		for action, n := range map[string]int{"synchronization.token_revealed": 1, "synchronization.run_requested": 2} {
			got := find(trail, action)
			if len(got) != n {
				t.Fatalf("ann's trail has %d %s; want %d: %v", len(got), action, n, trail)
			}
			for _, e := range got {
				if e["actor_type"] != "api_key" || e["actor_api_key_id"] != keyID || e["user_id"] != annID || e["target_id"] != sid {
					t.Fatalf("%s in ann's trail = %v", action, e)
				}
			}
		}
		if raw, _ := json.Marshal(trail); strings.Contains(string(raw), "tok_live_42") {
			t.Fatal("the trail holds the token")
		}
	})
}
