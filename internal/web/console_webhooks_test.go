package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

var shownSecret = regexp.MustCompile(`id="secret" class="secret" readonly value="([^"]+)"`)

// secretOn returns the secret a console page shows once.
func secretOn(t *testing.T, p page) string {
	t.Helper()
	m := shownSecret.FindStringSubmatch(p.Body)
	if m == nil || !strings.HasPrefix(html.UnescapeString(m[1]), "whsec_") || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("no secret shown once: %d %v %s", p.Status, p.Header, p.Body)
	}
	return html.UnescapeString(m[1])
}

// TestWebhookConsole: the console's webhook pages make an endpoint (its
// secret shown once), list it, test it against a receiver on loopback,
// rotate its secret, list and retry its deliveries, disable and delete it;
// a reader gets the pages without a form and 403 on a forged POST, and an
// administrator without webhooks:read neither the entry nor the pages.
func TestWebhookConsole(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := start(t, db)
		adm := c.admin()
		rc, hookURL := newHookReceiver(t)
		ctx := context.Background()

		b := signedIn(t, c, "admin@example.com")
		if p := b.get("/admin"); !strings.Contains(p.Body, `href="/admin/webhooks"`) {
			t.Fatalf("the navigation lacks the webhooks page: %s", p.Body)
		}
		p := b.get("/admin/webhooks")
		if p.Status != 200 || !strings.Contains(p.Body, `id="endpoint-form"`) || !strings.Contains(p.Body, `value="user.created"`) ||
			strings.Contains(p.Body, `value="synchronization.due"`) || !strings.Contains(p.Body, "No webhook endpoint yet.") ||
			p.Header.Get("Content-Security-Policy") != consoleCSP {
			t.Fatalf("the webhooks page = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/webhooks", url.Values{"url": {"http://app.example.com/hooks"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("an http URL off loopback = %d", p.Status)
		}
		b.get("/admin/webhooks")
		p = b.post("/admin/webhooks", url.Values{"url": {hookURL}, "description": {"the app"}, "event_types": {"user.created"}})
		if p.Status != http.StatusCreated {
			t.Fatalf("create = %d %s", p.Status, p.Body)
		}
		secret := secretOn(t, p)
		rc.know(secret)
		r := c.do("GET", "/v1/admin/webhook-endpoints", nil, adm)
		items := r.Body["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("endpoints %s", r.Raw)
		}
		ep := items[0].(map[string]any)
		id := str(ep, "id")
		if ep["url"] != hookURL || ep["description"] != "the app" || len(ep["event_types"].([]any)) != 1 {
			t.Fatalf("the endpoint made = %v", ep)
		}
		p = b.get("/admin/webhooks")
		if !strings.Contains(p.Body, `id="endpoint-`+id+`"`) || !strings.Contains(p.Body, "<code>user.created</code>") || !strings.Contains(p.Body, "enabled") ||
			strings.Contains(p.Body, "whsec_") || strings.Contains(p.Body, "/admin/webhooks?") {
			t.Fatalf("the list after the creation: %s", p.Body)
		}

		// A test event, signed with the secret shown.
		p = b.post("/admin/webhooks/"+id+"/test", url.Values{})
		if p.Status != 200 || !strings.Contains(p.Body, "delivered") || !strings.Contains(p.Body, "204") {
			t.Fatalf("test = %d %s", p.Status, p.Body)
		}
		if got := rc.ofType("webhook.test"); len(got) != 1 || got[0].Valid != 1 {
			t.Fatalf("test messages %+v", got)
		}

		// Rotation: a new secret, shown once; the old one still signs.
		b.get("/admin/webhooks")
		next := secretOn(t, b.post("/admin/webhooks/"+id+"/rotate", url.Values{}))
		if next == secret {
			t.Fatal("the rotation kept the secret")
		}
		if r := c.do("GET", "/v1/admin/webhook-endpoints/"+id, nil, adm); r.Body["previous_secret_until"] == nil {
			t.Fatalf("after a rotation: %s", r.Raw)
		}
		c.signup(map[string]any{"email": "ann@example.com"})
		c.jobs.RunDue(ctx)
		got := rc.ofType("user.created")
		if len(got) != 1 || len(got[0].Signatures) != 2 {
			t.Fatalf("user.created messages %+v; want one, signed with both secrets", got)
		}

		// Deliveries: newest first, filtered; Retry only for the catalogue's event.
		p = b.get("/admin/webhooks/deliveries?endpoint=" + id)
		created, tested := strings.Index(p.Body, "<code>user.created</code>"), strings.Index(p.Body, "<code>webhook.test</code>")
		if p.Status != 200 || created < 0 || tested < created || strings.Count(p.Body, `/retry"`) != 1 {
			t.Fatalf("deliveries = %d %s", p.Status, p.Body)
		}
		if p := b.get("/admin/webhooks/deliveries?status=failed"); p.Status != 200 || !strings.Contains(p.Body, "No delivery matches.") {
			t.Fatalf("failed deliveries = %d %s", p.Status, p.Body)
		}
		if p := b.get("/admin/webhooks/deliveries?status=lost"); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a bad status = %d", p.Status)
		}
		var retry, testID string
		for _, it := range c.do("GET", "/v1/admin/webhook-deliveries?endpoint="+id, nil, adm).Body["items"].([]any) {
			d := it.(map[string]any)
			switch d["event_type"] {
			case "user.created":
				retry = str(d, "id")
			case "webhook.test":
				testID = str(d, "id")
			}
		}
		p = b.post("/admin/webhooks/deliveries/"+retry+"/retry", url.Values{})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/webhooks/deliveries?done=retried" {
			t.Fatalf("retry = %d %v", p.Status, p.Header)
		}
		c.jobs.RunDue(ctx)
		if again := rc.ofType("user.created"); len(again) != 2 || again[1].ID != got[0].ID {
			t.Fatalf("after a retry: %+v", again)
		}
		if p := b.post("/admin/webhooks/deliveries/"+testID+"/retry", url.Values{}); p.Status != http.StatusConflict {
			t.Fatalf("retry of a test event = %d", p.Status)
		}
		// An attempt older than the outbox keeps events offers no Retry.
		if err := c.exec(`UPDATE webhook_deliveries SET created_at = $1 WHERE event_type = 'user.created'`, time.Now().Add(-31*24*time.Hour).UTC()); err != nil {
			t.Fatal(err)
		}
		if p := b.get("/admin/webhooks/deliveries?endpoint=" + id); p.Status != 200 || strings.Contains(p.Body, `/retry"`) {
			t.Fatalf("deliveries of an expired event = %d %s", p.Status, p.Body)
		}

		// Disable, then the reader's view.
		p = b.post("/admin/webhooks/"+id+"/enabled", url.Values{"enabled": {"false"}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/webhooks?done=disabled" {
			t.Fatalf("disable = %d %v", p.Status, p.Header)
		}
		if r := c.do("GET", "/v1/admin/webhook-endpoints/"+id, nil, adm); r.Body["enabled"] != false || str(r.Body, "disabled_reason") == "" {
			t.Fatalf("after disabling: %s", r.Raw)
		}
		if p := b.get("/admin/webhooks?done=disabled"); !strings.Contains(p.Body, "disabled: ") || !strings.Contains(p.Body, ">Enable</button>") {
			t.Fatalf("the list of a disabled endpoint: %s", p.Body)
		}

		c.narrowAdmin(adm, "HOOKREADER", "reader@example.com", "webhooks:read")
		c.narrowAdmin(adm, "READER", "users@example.com", "users:read")
		rb := signedIn(t, c, "reader@example.com")
		if p := rb.get("/admin"); !strings.Contains(p.Body, `href="/admin/webhooks"`) {
			t.Fatalf("the reader's navigation lacks the webhooks page")
		}
		for _, path := range []string{"/admin/webhooks", "/admin/webhooks/deliveries"} {
			p := rb.get(path)
			if p.Status != 200 || !strings.Contains(p.Body, hookURL) || strings.Contains(p.Body, `id="endpoint-form"`) ||
				strings.Contains(p.Body, `/retry"`) || strings.Contains(p.Body, `/delete"`) || strings.Contains(p.Body, `/test"`) {
				t.Fatalf("the reader's %s = %d %s", path, p.Status, p.Body)
			}
		}
		for path, form := range map[string]url.Values{
			"/admin/webhooks":                                {"url": {hookURL}},
			"/admin/webhooks/" + id + "/enabled":             {"enabled": {"true"}},
			"/admin/webhooks/" + id + "/rotate":              {},
			"/admin/webhooks/" + id + "/test":                {},
			"/admin/webhooks/" + id + "/delete":              {"confirm": {"yes"}},
			"/admin/webhooks/deliveries/" + retry + "/retry": {},
		} {
			if p := rb.post(path, form); p.Status != http.StatusForbidden {
				t.Errorf("the reader's forged POST %s = %d", path, p.Status)
			}
		}
		if len(rc.ofType("webhook.test")) != 1 {
			t.Fatal("the reader's forged test went out")
		}
		ub := signedIn(t, c, "users@example.com")
		if p := ub.get("/admin"); strings.Contains(p.Body, `href="/admin/webhooks"`) {
			t.Errorf("users:read is offered the webhooks page")
		}
		if p := ub.get("/admin/webhooks"); p.Status != http.StatusForbidden {
			t.Errorf("users:read's webhooks page = %d", p.Status)
		}

		// Deletion, confirmed.
		b.get("/admin/webhooks")
		if p := b.post("/admin/webhooks/"+id+"/delete", url.Values{}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("an unconfirmed deletion = %d", p.Status)
		}
		if p := b.post("/admin/webhooks/"+id+"/delete", url.Values{"confirm": {"yes"}}); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/webhooks?done=deleted" {
			t.Fatalf("delete = %d %v", p.Status, p.Header)
		}
		if r := c.do("GET", "/v1/admin/webhook-endpoints/"+id, nil, adm); r.Status != http.StatusNotFound {
			t.Fatalf("the deleted endpoint = %d", r.Status)
		}
	})
}
