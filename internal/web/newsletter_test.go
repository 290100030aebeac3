package web_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// oneClick posts body with contentType to rawURL, as a mail provider's
// one-click unsubscription does (no cookie, no Origin).
func oneClick(t *testing.T, rawURL, contentType string, body io.Reader) (int, string) {
	t.Helper()
	res, err := http.Post(rawURL, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var listUnsubscribe = regexp.MustCompile(`^<(http://[^>]+/v1/newsletter/unsubscribe\?token=(udnu_[A-Za-z0-9_-]{43}))>$`)

// TestNewsletterFlow: a subscription's mail arrives over SMTP with the
// one-click headers and a confirmation link; confirmed, the address is in
// the CSV with its unsubscribe URL; a form POST to that URL unsubscribes,
// and again changes nothing.
func TestNewsletterFlow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		adm := c.admin()
		mb.next() // the administrator's verification mail
		if r := c.do("POST", "/v1/newsletter/subscribe", map[string]any{"email": "Reader@Example.com"}, ""); r.Status != 202 {
			t.Fatalf("subscribe = %d %s", r.Status, r.Raw)
		}
		env := mb.next()
		if env.GetHeader("To") != "<reader@example.com>" || env.GetHeader("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Fatalf("mail to %q, List-Unsubscribe-Post %q", env.GetHeader("To"), env.GetHeader("List-Unsubscribe-Post"))
		}
		m := listUnsubscribe.FindStringSubmatch(env.GetHeader("List-Unsubscribe"))
		if m == nil || !strings.HasPrefix(m[1], c.url+"/") {
			t.Fatalf("List-Unsubscribe = %q", env.GetHeader("List-Unsubscribe"))
		}
		unsubURL, unsub := m[1], m[2]
		if !strings.Contains(env.Text, c.url+"/newsletter/unsubscribe?token="+unsub) {
			t.Fatalf("the body lacks the unsubscribe link:\n%s", env.Text)
		}
		base, tok := link(t, env)
		if base != c.url+"/newsletter/confirm" {
			t.Fatalf("confirmation link %s", base)
		}
		csvOf := func() (response, [][]string) {
			r := c.do("GET", "/v1/admin/newsletter-subscribers?format=csv", nil, adm)
			rows, err := csv.NewReader(bytes.NewReader(r.Raw)).ReadAll()
			if err != nil {
				t.Fatalf("csv %q: %v", r.Raw, err)
			}
			return r, rows
		}
		if _, rows := csvOf(); len(rows) != 1 || strings.Join(rows[0], ",") != "email,confirmed_at,unsubscribe_url" {
			t.Fatalf("csv before confirmation = %q", rows)
		}
		if status, body := c.postForm("/newsletter/confirm", url.Values{"token": {tok}}, "cross-site"); status != 403 {
			t.Fatalf("cross-site confirmation page = %d %.200s", status, body)
		}
		r := c.do("POST", "/v1/newsletter/confirm", map[string]any{"token": tok}, "")
		if r.Status != 200 || str(r.Body, "status") != "confirmed" {
			t.Fatalf("confirm = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/newsletter/confirm", map[string]any{"token": tok}, ""); r.Status != 404 || r.code() != "invalid_token" {
			t.Fatalf("confirm again = %d %s", r.Status, r.Raw)
		}
		r, rows := csvOf()
		if r.Status != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			r.Header.Get("Content-Disposition") != `attachment; filename="newsletter-subscribers.csv"` || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("csv = %d %v", r.Status, r.Header)
		}
		if len(rows) != 2 || rows[1][0] != "reader@example.com" || rows[1][2] != unsubURL {
			t.Fatalf("csv rows = %q", rows)
		}
		if at, err := time.Parse(time.RFC3339, rows[1][1]); err != nil || time.Since(at) > time.Minute {
			t.Fatalf("confirmed_at %q", rows[1][1])
		}
		list := c.do("GET", "/v1/admin/newsletter-subscribers?status=confirmed", nil, adm)
		items, _ := list.Body["items"].([]any)
		if list.Status != 200 || len(items) != 1 || str(items[0].(map[string]any), "unsubscribe_url") != unsubURL || list.Body["next_cursor"] != nil {
			t.Fatalf("list = %d %s", list.Status, list.Raw)
		}

		// One click, as a provider sends it; then again; then as JSON.
		for range 2 {
			if status, body := oneClick(t, unsubURL, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click")); status != 200 ||
				!strings.Contains(body, `"status":"unsubscribed"`) {
				t.Fatalf("one-click = %d %s", status, body)
			}
		}
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		mw.WriteField("List-Unsubscribe", "One-Click")
		mw.Close()
		if status, body := oneClick(t, unsubURL, mw.FormDataContentType(), &form); status != 200 {
			t.Fatalf("one-click multipart = %d %s", status, body)
		}
		if r := c.do("GET", "/newsletter/unsubscribe?token="+unsub, nil, ""); r.Status != 200 || !strings.Contains(string(r.Raw), unsub) ||
			!strings.HasPrefix(r.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("unsubscribe page = %d %v", r.Status, r.Header)
		}
		if status, body := c.postForm("/newsletter/unsubscribe", url.Values{"token": {unsub}}, "same-origin"); status != 200 || !strings.Contains(body, "You are unsubscribed") {
			t.Fatalf("unsubscribe page's form = %d %.300s", status, body)
		}
		if r := c.do("POST", "/v1/newsletter/unsubscribe", map[string]any{"token": unsub}, ""); r.Status != 200 || str(r.Body, "status") != "unsubscribed" {
			t.Fatalf("json unsubscribe = %d %s", r.Status, r.Raw)
		}
		if _, rows := csvOf(); len(rows) != 1 {
			t.Fatalf("csv after unsubscribing = %q", rows)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'newsletter.unsubscribed'`); n != 1 {
			t.Fatalf("%d unsubscription entries", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'newsletter.exported' AND actor_user_id IS NOT NULL`); n != 3 {
			t.Fatalf("%d export entries", n)
		}
		mb.none(100 * time.Millisecond)
	})
}

// TestNewsletterAnswers: subscribing answers 202 with the same body and
// headers whether the address is new, pending, confirmed or unsubscribed;
// a bad email is 422; the unsubscribe URL refuses other bodies than JSON
// and forms, and bad tokens.
func TestNewsletterAnswers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		subscribe := func(email string) response {
			t.Helper()
			return c.do("POST", "/v1/newsletter/subscribe", map[string]any{"email": email}, "")
		}
		// shape is what an answer tells: its status, headers and body,
		// without the date and the request's id.
		shape := func(r response) string {
			h := r.Header.Clone()
			h.Del("Date")
			h.Del("X-Request-Id")
			var b strings.Builder
			h.Write(&b)
			return b.String() + string(r.Raw)
		}
		first := subscribe("new@example.com")
		if first.Status != 202 || !strings.Contains(string(first.Raw), "confirmation link") {
			t.Fatalf("subscribe = %d %s", first.Status, first.Raw)
		}
		mb.next()
		subscribe("confirmed@example.com")
		_, tok := link(t, mb.next())
		c.do("POST", "/v1/newsletter/confirm", map[string]any{"token": tok}, "")
		subscribe("gone@example.com")
		unsub := listUnsubscribe.FindStringSubmatch(mb.next().GetHeader("List-Unsubscribe"))[2]
		c.do("POST", "/v1/newsletter/unsubscribe", map[string]any{"token": unsub}, "")
		for _, email := range []string{"NEW@example.com", "confirmed@example.com", "gone@example.com", "another@example.com"} {
			if r := subscribe(email); r.Status != 202 || shape(r) != shape(first) {
				t.Fatalf("subscribe %s = %d\n%s\nwant\n%s", email, r.Status, shape(r), shape(first))
			}
		}
		for range 3 { // pending, unsubscribed and new get a mail; confirmed none
			mb.next()
		}
		mb.none(200 * time.Millisecond)

		runScenarios(t, c, []scenario{
			{"subscribe: bad email", "POST", "/v1/newsletter/subscribe", map[string]any{"email": "not an email"}, "", 422, "validation_failed"},
			{"subscribe: no email", "POST", "/v1/newsletter/subscribe", map[string]any{}, "", 422, "validation_failed"},
			{"confirm: unknown", "POST", "/v1/newsletter/confirm", map[string]any{"token": "udnc_" + strings.Repeat("A", 43)}, "", 404, "invalid_token"},
			{"confirm: garbage", "POST", "/v1/newsletter/confirm", map[string]any{"token": "x"}, "", 404, "invalid_token"},
			{"unsubscribe: unknown", "POST", "/v1/newsletter/unsubscribe", map[string]any{"token": "udnu_" + strings.Repeat("A", 43)}, "", 404, "invalid_token"},
			{"unsubscribe: no token", "POST", "/v1/newsletter/unsubscribe", map[string]any{}, "", 404, "invalid_token"},
			{"unsubscribe: bad json", "POST", "/v1/newsletter/unsubscribe", `{"token":`, "", 400, "malformed_json"},
			{"unsubscribe: unknown field", "POST", "/v1/newsletter/unsubscribe", map[string]any{"token": unsub, "email": "x"}, "", 400, "malformed_json"},
		})
		if status, _ := oneClick(t, c.url+"/v1/newsletter/unsubscribe?token="+unsub, "text/plain", strings.NewReader("List-Unsubscribe=One-Click")); status != 415 {
			t.Fatalf("text/plain one-click = %d", status)
		}
		if status, _ := oneClick(t, c.url+"/v1/newsletter/subscribe", "application/x-www-form-urlencoded", strings.NewReader("email=x%40example.com")); status != 415 {
			t.Fatalf("a form to subscribe = %d", status)
		}
	})
}

// TestNewsletterLimits: past the limit for one email, subscribing answers
// 429, whatever the letter case.
func TestNewsletterLimits(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{limits: true})
		for i := range 5 {
			if r := c.do("POST", "/v1/newsletter/subscribe", map[string]any{"email": "flood@example.com"}, ""); r.Status != 202 {
				t.Fatalf("subscribe %d = %d %s", i, r.Status, r.Raw)
			}
		}
		r := c.do("POST", "/v1/newsletter/subscribe", map[string]any{"email": "FLOOD@example.com"}, "")
		if r.Status != 429 || r.code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("sixth = %d %s %v", r.Status, r.Raw, r.Header)
		}
	})
}

// TestNewsletterAdministration: the subscribers' routes need their
// permissions (403 without); deletion erases a subscriber; the CSV keeps a
// spreadsheet from reading a cell as a formula.
func TestNewsletterAdministration(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		readerID, reader := c.signup(map[string]any{"email": "reader@example.com"})
		c.do("POST", "/v1/admin/roles", map[string]any{"name": "NEWSLETTER_READER", "permissions": []string{"newsletter:read"}}, adm)
		c.do("PUT", "/v1/admin/users/"+readerID+"/roles/NEWSLETTER_READER", nil, adm)
		for _, email := range []string{"=cmd@example.com", "plain@example.com"} {
			c.do("POST", "/v1/newsletter/subscribe", map[string]any{"email": email}, "")
		}
		var id string
		c.db.SQL().QueryRow(`SELECT id FROM newsletter_subscriptions WHERE email = 'plain@example.com'`).Scan(&id)
		if _, err := c.db.SQL().Exec(`UPDATE newsletter_subscriptions SET status = 'confirmed', confirmed_at = updated_at`); err != nil {
			t.Fatal(err)
		}
		runScenarios(t, c, []scenario{
			{"list: no permission", "GET", "/v1/admin/newsletter-subscribers", nil, ann, 403, "forbidden"},
			{"csv: no permission", "GET", "/v1/admin/newsletter-subscribers?format=csv", nil, ann, 403, "forbidden"},
			{"list: anonymous", "GET", "/v1/admin/newsletter-subscribers", nil, "", 401, "unauthenticated"},
			{"list: bad status", "GET", "/v1/admin/newsletter-subscribers?status=gone", nil, reader, 422, "validation_failed"},
			{"delete: reader", "DELETE", "/v1/admin/newsletter-subscribers/" + id, nil, reader, 403, "forbidden"},
			{"delete: no permission", "DELETE", "/v1/admin/newsletter-subscribers/" + id, nil, ann, 403, "forbidden"},
		})
		r := c.do("GET", "/v1/admin/newsletter-subscribers?format=csv", nil, reader)
		rows, err := csv.NewReader(bytes.NewReader(r.Raw)).ReadAll()
		if err != nil || r.Status != 200 || len(rows) != 3 || rows[1][0] != "'=cmd@example.com" || rows[2][0] != "plain@example.com" {
			t.Fatalf("csv = %d %q %v", r.Status, rows, err)
		}
		page := c.do("GET", "/v1/admin/newsletter-subscribers?limit=1", nil, reader)
		next := str(page.Body, "next_cursor")
		if page.Status != 200 || next == "" || page.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("first page = %d %s", page.Status, page.Raw)
		}
		page = c.do("GET", "/v1/admin/newsletter-subscribers?limit=1&cursor="+next, nil, reader)
		if items := page.Body["items"].([]any); len(items) != 1 || str(items[0].(map[string]any), "email") != "=cmd@example.com" || page.Body["next_cursor"] != nil {
			t.Fatalf("second page = %s", page.Raw)
		}
		if r := c.do("DELETE", "/v1/admin/newsletter-subscribers/"+id, nil, adm); r.Status != 204 {
			t.Fatalf("delete = %d %s", r.Status, r.Raw)
		}
		if r := c.do("DELETE", "/v1/admin/newsletter-subscribers/"+id, nil, adm); r.Status != 404 || r.code() != "newsletter_subscriber_not_found" {
			t.Fatalf("delete again = %d %s", r.Status, r.Raw)
		}
		if n := dbtest.Count(t, c.db, `SELECT count(*) FROM newsletter_subscriptions`); n != 1 {
			t.Fatalf("%d rows after the erasure", n)
		}
	})
}

// TestNewsletterInExport: a user's export holds the subscription of their
// verified email (without its unsubscribe URL), and null before it is
// verified; deleting the user deletes the subscription.
func TestNewsletterInExport(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		c.do("POST", "/v1/newsletter/subscribe", map[string]any{"email": "ANN@example.com"}, "")
		export := func() map[string]any {
			r := c.do("GET", "/v1/me/export", nil, ann)
			if r.Status != 200 {
				t.Fatalf("export = %d %s", r.Status, r.Raw)
			}
			sub, _ := r.Body["newsletter_subscription"].(map[string]any)
			if _, ok := r.Body["newsletter_subscription"]; !ok {
				t.Fatal("the export has no newsletter_subscription")
			}
			return sub
		}
		if sub := export(); sub != nil {
			t.Fatalf("an unverified email's subscription in the export: %v", sub)
		}
		if _, err := c.db.SQL().Exec(`UPDATE users SET email_verified_at = created_at WHERE id = $1`, annID); err != nil {
			t.Fatal(err)
		}
		sub := export()
		if sub == nil || sub["email"] != "ann@example.com" || sub["status"] != "pending" || sub["unsubscribe_url"] != nil {
			t.Fatalf("the export's subscription = %v", sub)
		}
		if r := c.do("DELETE", "/v1/me", nil, ann); r.Status != 204 {
			t.Fatalf("delete = %d %s", r.Status, r.Raw)
		}
		if n := dbtest.Count(t, c.db, `SELECT count(*) FROM newsletter_subscriptions`); n != 0 {
			t.Fatal("the deleted user's subscription stays")
		}
	})
}

// TestNewsletterDocumented: the OpenAPI document describes the newsletter's
// routes, the unsubscribe URL's JSON and form bodies, and the subscribers'
// JSON and CSV answers.
func TestNewsletterDocumented(t *testing.T) {
	c := start(t, dbtest.Open(t, "sqlite"))
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(c.do("GET", "/openapi.json", nil, "").Raw, &doc); err != nil {
		t.Fatal(err)
	}
	for path, methods := range map[string][]string{"/v1/newsletter/subscribe": {"post"}, "/v1/newsletter/confirm": {"post"},
		"/v1/newsletter/unsubscribe": {"post"}, "/v1/admin/newsletter-subscribers": {"get"}, "/v1/admin/newsletter-subscribers/{id}": {"delete"}} {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("the document lacks %s %s", m, path)
			}
		}
	}
	body := doc.Paths["/v1/newsletter/unsubscribe"]["post"].RequestBody.Content
	for ct, want := range map[string]string{"application/json": "UnsubscribeBody", "application/x-www-form-urlencoded": "One-Click", "multipart/form-data": "One-Click"} {
		if !strings.Contains(string(body[ct]), want) {
			t.Errorf("the unsubscribe body %s = %s", ct, body[ct])
		}
	}
	if len(body) != 3 {
		t.Errorf("the unsubscribe bodies = %v", body)
	}
	answer := doc.Paths["/v1/admin/newsletter-subscribers"]["get"].Responses["200"].Content
	if _, ok := answer["text/csv"]; !ok || !strings.Contains(string(answer["application/json"]), "NewsletterSubscribers") {
		t.Errorf("the subscribers' answer = %v", answer)
	}
}

// FuzzUnsubscribeBody: whatever body, JSON or form, the unsubscribe URL
// answers a JSON object, never a 5xx, and unsubscribes no one without the
// token.
func FuzzUnsubscribeBody(f *testing.F) {
	for _, seed := range []string{`{"token":"udnu_x"}`, `{"token":1}`, `{"token":"` + "udnu_" + strings.Repeat("A", 43) + `"}`, `{}`, `{`, `null`, `[]`, `""`,
		"List-Unsubscribe=One-Click", "%zz", ""} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	db := dbtest.Open(f, "sqlite")
	h, _ := newHandler(f, db, "http://userd.test", options{ctx: f.Context()})
	f.Fuzz(func(t *testing.T, body string, asJSON bool) {
		req := httptest.NewRequest("POST", "/v1/newsletter/unsubscribe?token=udnu_"+strings.Repeat("B", 43), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if asJSON {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code >= 500 {
			t.Fatalf("body %q: %d %q", body, rec.Code, rec.Body.String())
		}
		if rec.Code == http.StatusOK {
			t.Fatalf("body %q unsubscribed without a token: %s", body, rec.Body.String())
		}
	})
}
