package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

const apiSecret = "sk_live_7cF2q9ZrXvLmN4pT8wYbA1sD"

// TestVault: accounts and credentials, metadata without secrets, reveal
// with a recent log-in only, audit, and another user's ids.
func TestVault(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		_, bob := c.signup(map[string]any{"email": "bob@example.com"})
		r := c.do("POST", "/v1/me/accounts", map[string]any{"account_name": "  Binance main "}, ann)
		if r.Status != 201 || str(r.Body, "account_name") != "Binance main" {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		acct := str(r.Body, "id")
		base := "/v1/me/accounts/" + acct + "/credentials/"
		for name, body := range map[string]any{"empty name": map[string]any{"account_name": " "}, "long name": map[string]any{"account_name": strings.Repeat("n", 256)}} {
			if r := c.do("POST", "/v1/me/accounts", body, ann); r.Status != 422 {
				t.Errorf("%s = %d", name, r.Status)
			}
		}
		r = c.do("PUT", base+"api_key", map[string]any{"secret": apiSecret, "expires_at": "2027-01-01T00:00:00Z"}, ann)
		if r.Status != 200 || str(r.Body, "hint") != "••••A1sD" || str(r.Body, "expires_at") != "2027-01-01T00:00:00Z" || strings.Contains(string(r.Raw), apiSecret) {
			t.Fatalf("put = %d %s", r.Status, r.Raw)
		}
		c.do("PUT", base+"api_secret", map[string]any{"secret": "short"}, ann)
		if r := c.do("PUT", base+"API KEY", map[string]any{"secret": "x"}, ann); r.Status != 422 {
			t.Fatalf("bad type = %d", r.Status)
		}
		if r := c.do("PUT", base+"api_key", map[string]any{"secret": ""}, ann); r.Status != 422 {
			t.Fatalf("empty secret = %d", r.Status)
		}
		for _, path := range []string{"/v1/me/accounts", "/v1/me/accounts/" + acct, base + "api_key"} {
			if r := c.do("GET", path, nil, ann); r.Status != 200 || strings.Contains(string(r.Raw), apiSecret) {
				t.Fatalf("GET %s = %d, shows the secret: %v", path, r.Status, strings.Contains(string(r.Raw), apiSecret))
			}
		}
		if r := c.do("GET", "/v1/me/accounts/"+acct, nil, ann); len(r.Body["credentials"].([]any)) != 2 {
			t.Fatalf("account = %s", r.Raw)
		}
		// Another user sees nothing of it.
		for _, req := range []struct{ method, path string }{
			{"GET", "/v1/me/accounts/" + acct}, {"PATCH", "/v1/me/accounts/" + acct}, {"DELETE", "/v1/me/accounts/" + acct},
			{"GET", base + "api_key"}, {"PUT", base + "api_key"}, {"DELETE", base + "api_key"}, {"POST", base + "api_key/reveal"},
		} {
			var body any
			if req.method == "PUT" {
				body = map[string]any{"secret": "stolen"}
			}
			if req.method == "PATCH" {
				body = map[string]any{"account_name": "stolen"}
			}
			if r := c.do(req.method, req.path, body, bob); r.Status != 404 {
				t.Errorf("bob %s %s = %d; want 404", req.method, req.path, r.Status)
			}
		}
		if r := c.do("GET", "/v1/me/accounts", nil, bob); len(r.Body["items"].([]any)) != 0 {
			t.Fatal("bob lists ann's accounts")
		}
		// Reveal: now (fresh log-in), not after 6 minutes, again after a new log-in.
		r = c.do("POST", base+"api_key/reveal", nil, ann)
		if r.Status != 200 || str(r.Body, "secret") != apiSecret || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("reveal = %d %s", r.Status, r.Raw)
		}
		clk.advance(6 * time.Minute)
		if r := c.do("POST", base+"api_key/reveal", nil, ann); r.Status != 403 || r.code() != "reauthentication_required" {
			t.Fatalf("stale reveal = %d %s", r.Status, r.Raw)
		}
		fresh := str(c.login("ann@example.com", "correct horse battery")["session"].(map[string]any), "token")
		if r := c.do("POST", base+"api_key/reveal", nil, fresh); str(r.Body, "secret") != apiSecret {
			t.Fatalf("reveal after log-in = %d", r.Status)
		}
		if r := c.do("POST", base+"nope/reveal", nil, fresh); r.Status != 404 || r.code() != "credential_not_found" {
			t.Fatalf("reveal missing = %d", r.Status)
		}
		var reveals int
		c.db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'vault.credential_revealed'`).Scan(&reveals)
		if reveals != 2 {
			t.Fatalf("reveals audited = %d; want 2", reveals)
		}
		// Rename, delete a credential, delete the account.
		if r := c.do("PATCH", "/v1/me/accounts/"+acct, map[string]any{"account_name": "Main"}, fresh); str(r.Body, "account_name") != "Main" {
			t.Fatalf("rename = %s", r.Raw)
		}
		if r := c.do("DELETE", base+"api_secret", nil, fresh); r.Status != 204 {
			t.Fatalf("delete credential = %d", r.Status)
		}
		if r := c.do("DELETE", "/v1/me/accounts/"+acct, nil, fresh); r.Status != 204 {
			t.Fatalf("delete account = %d", r.Status)
		}
		var creds int
		c.db.SQL().QueryRow(`SELECT count(*) FROM user_credentials`).Scan(&creds)
		if creds != 0 {
			t.Fatalf("credentials after the account went = %d", creds)
		}
	})
}

// TestNoSecretInClear stores a secret (a vault credential, the Twenty CRM
// API key) and a webhook endpoint's two secrets (current and previous), and
// looks for them in every byte of the database: the SQLite files, and every
// table's rows on PostgreSQL.
func TestNoSecretInClear(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			var db *sqldb.DB
			var path string
			if engine == "sqlite" {
				path = dbtest.SQLitePath(t)
				db = mustOpen(t, engine, path)
				db.MigrateUp(t.Context())
			} else {
				db = dbtest.Open(t, engine)
			}
			c := start(t, db)
			_, tok := c.signup(map[string]any{"email": "ann@example.com"})
			acct := str(c.do("POST", "/v1/me/accounts", map[string]any{"account_name": "A"}, tok).Body, "id")
			if r := c.do("PUT", "/v1/me/accounts/"+acct+"/credentials/api_key", map[string]any{"secret": apiSecret}, tok); r.Status != 200 {
				t.Fatalf("put = %d", r.Status)
			}
			adm := c.admin()
			if r := c.do("PUT", "/v1/admin/twenty-crm-config", map[string]any{"base_url": "https://crm.example", "api_key": apiSecret}, adm); r.Status != 200 {
				t.Fatalf("put the Twenty CRM key = %d %s", r.Status, r.Raw)
			}
			id, first := c.makeEndpoint(adm, "https://app.example.com/hooks")
			second := str(c.do("POST", "/v1/admin/webhook-endpoints/"+id+"/rotate-secret", nil, adm).Body, "secret")
			secrets := []string{apiSecret[8:], strings.TrimPrefix(first, "whsec_"), strings.TrimPrefix(second, "whsec_")}
			if engine == "sqlite" {
				files, _ := filepath.Glob(path + "*")
				for _, f := range files {
					b, _ := os.ReadFile(f)
					for _, secret := range secrets {
						if strings.Contains(string(b), secret) {
							t.Fatalf("%s holds a secret in clear", filepath.Base(f))
						}
					}
				}
				if len(files) == 0 {
					t.Fatal("no database files found")
				}
				return
			}
			rows, err := db.SQL().Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
			if err != nil {
				t.Fatal(err)
			}
			var tables []string
			for rows.Next() {
				var name string
				rows.Scan(&name)
				tables = append(tables, name)
			}
			rows.Close()
			for _, table := range tables {
				var dump string
				if err := db.SQL().QueryRow(`SELECT COALESCE(string_agg(t::text, ' '), '') FROM ` + table + ` t`).Scan(&dump); err != nil {
					t.Fatal(err)
				}
				for _, secret := range secrets {
					if strings.Contains(dump, secret) {
						t.Fatalf("table %s holds a secret in clear", table)
					}
				}
			}
		})
	}
}
