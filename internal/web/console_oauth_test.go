package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestOAuthClientConsole: the console registers an OpenID client (its
// secret shown once, and it authenticates at the token endpoint), lists
// it without the secret, refuses bad input and deletes it once confirmed.
func TestOAuthClientConsole(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := start(t, db)
		adm := c.admin()
		b := signedIn(t, c, "admin@example.com")
		if p := b.get("/admin"); !strings.Contains(p.Body, `href="/admin/oauth-clients"`) {
			t.Fatalf("the navigation lacks the OpenID clients' page")
		}
		if p := b.get("/admin/oauth-clients"); p.Status != 200 || !strings.Contains(p.Body, `id="oauth-client-form"`) || !strings.Contains(p.Body, "No client yet.") {
			t.Fatalf("the page = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/oauth-clients", url.Values{"name": {"App"}, "redirect_uris": {"http://app.example/cb"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("an http redirect off loopback = %d", p.Status)
		}
		b.get("/admin/oauth-clients")
		p := b.post("/admin/oauth-clients", url.Values{"name": {"Directory"}, "redirect_uris": {"https://app.example/cb\r\nhttps://app.example/cb2\r\n"},
			"scopes": {"openid", "email"}})
		m := shownSecret.FindStringSubmatch(p.Body)
		if p.Status != http.StatusCreated || m == nil || !strings.HasPrefix(html.UnescapeString(m[1]), "udcs_") || p.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("create = %d %s", p.Status, p.Body)
		}
		items := c.do("GET", "/v1/admin/oauth-clients", nil, adm).Body["items"].([]any)
		cl := items[0].(map[string]any)
		id := cl["client_id"].(string)
		if len(items) != 1 || len(cl["redirect_uris"].([]any)) != 2 || len(cl["scopes"].([]any)) != 2 || cl["public"] != false {
			t.Fatalf("the client made = %v", items)
		}
		// The secret shown authenticates: a bad code is invalid_grant, not
		// invalid_client.
		r := c.tokenRequest(id, html.UnescapeString(m[1]), url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {"https://app.example/cb"}})
		if r.Status != 400 || r.Body["error"] != "invalid_grant" {
			t.Fatalf("the secret shown at the token endpoint = %d %s", r.Status, r.Raw)
		}
		p = b.get("/admin/oauth-clients")
		if !strings.Contains(p.Body, `id="client-`+id+`"`) || strings.Contains(p.Body, "udcs_") {
			t.Fatalf("the list: %s", p.Body)
		}
		if p := b.post("/admin/oauth-clients/"+id+"/delete", url.Values{}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a deletion without its box = %d", p.Status)
		}
		b.get("/admin/oauth-clients")
		if p := b.post("/admin/oauth-clients/"+id+"/delete", url.Values{"confirm": {"yes"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("delete = %d %s", p.Status, p.Body)
		}
		if n := countRows(t, db, `SELECT count(*) FROM oauth_clients`); n != 0 {
			t.Fatalf("%d clients after the deletion", n)
		}
	})
}
