package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestMailDeliveries: every mail, sent, and the reset nobody is sent (an
// unknown address, skipped), is listed for mail:read, newest first, in
// pages, filtered by status, address and kind, never with its body; the
// console lists them under the same permission, its navigation offering
// the page only to its holders.
func TestMailDeliveries(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		adm := c.admin()
		annID, _ := c.signup(map[string]any{"email": "ann@example.com"})
		for _, email := range []string{"ann@example.com", "ghost@example.com"} {
			if r := c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": email}, ""); r.Status != http.StatusAccepted {
				t.Fatalf("forgot %s = %d", email, r.Status)
			}
		}
		for range 3 { // the two verifications and ann's reset
			mb.next()
		}
		authtest.Sent(t, db)
		mb.none(100 * time.Millisecond) // nothing for the ghost

		type row struct{ to, kind, status, user string }
		list := func(query string, want ...row) map[string]any {
			t.Helper()
			r := c.do("GET", "/v1/admin/mail-deliveries"+query, nil, adm)
			if r.Status != 200 {
				t.Fatalf("list %s = %d %s", query, r.Status, r.Raw)
			}
			for _, secret := range []string{"token", "udv_", "udp_", "body"} {
				if strings.Contains(string(r.Raw), secret) {
					t.Fatalf("the list shows %q: %s", secret, r.Raw)
				}
			}
			items := r.Body["items"].([]any)
			if len(items) != len(want) {
				t.Fatalf("list %s = %d items; want %d: %s", query, len(items), len(want), r.Raw)
			}
			for i, w := range want {
				it := items[i].(map[string]any)
				user, _ := it["user_id"].(string)
				if got := (row{str(it, "to"), str(it, "kind"), str(it, "status"), user}); got != w {
					t.Errorf("list %s item %d = %+v; want %+v", query, i, got, w)
				}
				if w.status == "sent" && (it["sent_at"] == nil || it["attempts"] != 1.0 || it["last_error"] != nil) {
					t.Errorf("a sent mail %v", it)
				}
			}
			return r.Body
		}
		ghost := row{"ghost@example.com", "reset_password", "skipped", ""}
		annReset := row{"ann@example.com", "reset_password", "sent", annID}
		annVerify := row{"ann@example.com", "verify_email", "sent", annID}
		admVerify := row{"admin@example.com", "verify_email", "sent", str(c.do("GET", "/v1/me", nil, adm).Body, "id")}
		list("", ghost, annReset, annVerify, admVerify)
		list("?status=skipped", ghost)
		list("?to=ann@example.com&kind=reset_password", annReset)
		list("?to=ann@example.com&status=failed")
		page := list("?limit=2", ghost, annReset)
		list("?limit=2&cursor="+page["next_cursor"].(string), annVerify, admVerify)
		if r := c.do("GET", "/v1/admin/mail-deliveries?status=lost", nil, adm); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("an unknown status = %d %s", r.Status, r.Raw)
		}

		_, reader := c.narrowAdmin(adm, "READER", "reader@example.com", "users:read")
		if r := c.do("GET", "/v1/admin/mail-deliveries", nil, reader); r.Status != http.StatusForbidden {
			t.Fatalf("users:read lists mail = %d", r.Status)
		}
		_, postmaster := c.narrowAdmin(adm, "POSTMASTER", "postmaster@example.com", "mail:read")
		if r := c.do("GET", "/v1/admin/mail-deliveries?to=ann@example.com", nil, postmaster); r.Status != 200 || len(r.Body["items"].([]any)) != 2 {
			t.Fatalf("mail:read lists mail = %d %s", r.Status, r.Raw)
		}

		b := signedIn(t, c, "postmaster@example.com")
		if p := b.get("/admin"); !strings.Contains(p.Body, `href="/admin/mail"`) {
			t.Errorf("the postmaster's navigation lacks the mail page: %s", p.Body)
		}
		p := b.get("/admin/mail?status=skipped")
		if p.Status != 200 || !strings.Contains(p.Body, "ghost@example.com") || strings.Contains(p.Body, "ann@example.com") || p.Header.Get("Content-Security-Policy") != consoleCSP {
			t.Fatalf("the mail page, skipped = %d %s", p.Status, p.Body)
		}
		if p := b.get("/admin/mail?status=lost"); p.Status != http.StatusUnprocessableEntity {
			t.Errorf("the mail page with a bad status = %d", p.Status)
		}
		rb := signedIn(t, c, "reader@example.com")
		if p := rb.get("/admin"); strings.Contains(p.Body, `href="/admin/mail"`) {
			t.Errorf("the reader's navigation offers the mail page")
		}
		if p := rb.get("/admin/mail"); p.Status != http.StatusForbidden {
			t.Errorf("the reader's mail page = %d", p.Status)
		}
	})
}
