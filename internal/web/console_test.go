package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/userd/userd/internal/feature/rbac"
)

// consoleCSP is the console pages' content security policy, exactly.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// browser is a test's console visitor: a cookie of its own, no redirects
// followed.
type browser struct {
	c      *client
	cookie *http.Cookie
	csrf   string
}

// page is a console answer.
type page struct {
	Status int
	Header http.Header
	Body   string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) send(method, path string, form url.Values, headers ...string) page {
	b.c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.c.url+path, body)
	if err != nil {
		b.c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.c.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		b.c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.Name == "userd_console" {
			b.cookie = ck
			if ck.MaxAge < 0 {
				b.cookie = nil
			}
		}
	}
	if m := csrfField.FindStringSubmatch(string(raw)); m != nil {
		b.csrf = m[1]
	}
	return page{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
}

func (b *browser) get(path string) page { return b.send("GET", path, nil) }

// post sends a form with the CSRF token of the last page.
func (b *browser) post(path string, form url.Values) page {
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	return b.send("POST", path, form)
}

// login signs in with a password; it returns the answer to the form.
func (b *browser) login(ident string) page {
	return b.send("POST", "/admin/login", url.Values{"identifier": {ident}, "password": {"correct horse battery"}})
}

// signedIn returns a browser signed in to the console as ident, whom it
// checks got in.
func signedIn(t *testing.T, c *client, ident string) *browser {
	t.Helper()
	b := &browser{c: c}
	if p := b.login(ident); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin" || b.cookie == nil {
		t.Fatalf("console log-in of %s = %d %s", ident, p.Status, p.Body)
	}
	if p := b.get("/admin"); p.Status != 200 {
		t.Fatalf("overview = %d %s", p.Status, p.Body)
	}
	return b
}

// TestConsoleSignIn: the log-in page's headers, the cookie's attributes, a
// wrong password, a user without an administration permission (refused,
// their new session ended), and signing out.
func TestConsoleSignIn(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adminID, _ := c.signup(map[string]any{"email": "root@example.com"})
		c.grant(adminID, rbac.AdminRole)
		_, userTok := c.signup(map[string]any{"email": "ann@example.com"})

		b := &browser{c: c}
		if p := b.get("/admin"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/login" {
			t.Fatalf("overview signed out = %d %v", p.Status, p.Header)
		}
		for _, path := range []string{"/admin/login", "/admin/static/console.css", "/admin/static/console.js"} {
			p := b.get(path)
			if p.Status != 200 || p.Header.Get("Content-Security-Policy") != consoleCSP || p.Header.Get("X-Content-Type-Options") != "nosniff" ||
				p.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Fatalf("GET %s = %d %v", path, p.Status, p.Header)
			}
		}
		// Without a relying party (passkeys off), no passkey is offered.
		if p := b.get("/admin/login"); p.Header.Get("Cache-Control") != "no-store" || strings.Contains(p.Body, "style=") || strings.Contains(p.Body, "<script>") ||
			strings.Contains(p.Body, "passkey") {
			t.Fatalf("log-in page: %v %s", p.Header, p.Body)
		}
		p := b.send("POST", "/admin/login", url.Values{"identifier": {"root@example.com"}, "password": {"wrong password"}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, `role="alert"`) || b.cookie != nil {
			t.Fatalf("wrong password = %d %s", p.Status, p.Body)
		}
		// Someone else's site cannot post the log-in form.
		if p := b.send("POST", "/admin/login", url.Values{"identifier": {"root@example.com"}, "password": {"correct horse battery"}},
			"Sec-Fetch-Site", "cross-site"); p.Status != http.StatusForbidden || b.cookie != nil {
			t.Fatalf("cross-site log-in = %d", p.Status)
		}

		// A user without an administration permission is refused, and the
		// session the password opened is ended: only the sign-up's is left.
		p = b.login("ann@example.com")
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "holds no administration permission") || b.cookie != nil {
			t.Fatalf("non-admin = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/me/sessions", nil, userTok); len(r.Body["items"].([]any)) != 1 {
			t.Fatalf("non-admin's sessions after the refusal: %s", r.Raw)
		}

		p = b.login("root@example.com")
		ck := b.cookie
		if p.Status != http.StatusSeeOther || ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/admin" || ck.Secure ||
			!strings.HasPrefix(ck.Value, "uds_") {
			t.Fatalf("admin log-in = %d, cookie %+v", p.Status, ck)
		}
		if raw := p.Header.Get("Set-Cookie"); !strings.Contains(raw, "SameSite=Strict") || !strings.Contains(raw, "HttpOnly") {
			t.Fatalf("Set-Cookie = %q", raw)
		}
		// The console's token is a session of the API's.
		if r := c.do("GET", "/v1/me", nil, ck.Value); r.Status != 200 || str(r.Body, "id") != adminID {
			t.Fatalf("the console's session on the API = %d %s", r.Status, r.Raw)
		}
		p = b.get("/admin")
		if p.Status != 200 || p.Header.Get("Content-Security-Policy") != consoleCSP || p.Header.Get("Cache-Control") != "no-store" ||
			!strings.Contains(p.Body, `href="/admin/audit"`) || !strings.Contains(p.Body, "root@example.com") {
			t.Fatalf("overview = %d %v %s", p.Status, p.Header, p.Body)
		}
		// Signing out needs the form's token, and ends the session.
		if p := b.post("/admin/logout", url.Values{"csrf": {"forged"}}); p.Status != http.StatusForbidden {
			t.Fatalf("log-out without the token = %d", p.Status)
		}
		if p := b.post("/admin/logout", url.Values{}); p.Status != 200 || b.cookie != nil {
			t.Fatalf("log-out = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/me", nil, ck.Value); r.Status != http.StatusUnauthorized {
			t.Fatalf("the session after log-out = %d", r.Status)
		}
		b.cookie = ck
		if p := b.get("/admin/users"); p.Status != http.StatusSeeOther {
			t.Fatalf("an ended session's cookie = %d", p.Status)
		}
	})
}

// TestConsoleSecondFactor: an administrator with TOTP gives a code after
// the password; a wrong code is refused and keeps the challenge.
func TestConsoleSecondFactor(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		id, tok := c.signup(map[string]any{"email": "root@example.com"})
		c.grant(id, rbac.AdminRole)
		secret := str(c.do("POST", "/v1/me/mfa/totp", nil, tok).Body, "secret")
		code := func() string { s, _ := totp.GenerateCode(secret, clk.now()); return s }
		if r := c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code()}, tok); r.Status != 200 {
			t.Fatalf("confirm = %d %s", r.Status, r.Raw)
		}
		clk.advance(30 * time.Second)
		b := &browser{c: c}
		p := b.login("root@example.com")
		m := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(p.Body)
		if p.Status != 200 || m == nil || b.cookie != nil {
			t.Fatalf("password step = %d %s", p.Status, p.Body)
		}
		p = b.send("POST", "/admin/login/mfa", url.Values{"challenge": {m[1]}, "code": {"000000"}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, m[1]) || b.cookie != nil {
			t.Fatalf("wrong code = %d %s", p.Status, p.Body)
		}
		p = b.send("POST", "/admin/login/mfa", url.Values{"challenge": {m[1]}, "code": {code()}})
		if p.Status != http.StatusSeeOther || b.cookie == nil {
			t.Fatalf("code = %d %s", p.Status, p.Body)
		}
		if p := b.get("/admin/users"); p.Status != 200 {
			t.Fatalf("users after the second factor = %d", p.Status)
		}
	})
}

// TestConsoleCSRF: a write needs the session's token from a page, and the
// same origin.
func TestConsoleCSRF(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adminID, adm := c.signup(map[string]any{"email": "root@example.com"})
		c.grant(adminID, rbac.AdminRole)
		ann, _ := c.signup(map[string]any{"email": "ann@example.com"})
		b := signedIn(t, c, "root@example.com")
		b.get("/admin/users/" + ann)
		give := url.Values{"op": {"give"}, "role": {"OWNER"}}
		other := signedIn(t, c, "root@example.com") // another session: b's token is not its own
		for name, p := range map[string]page{
			"no token":      b.send("POST", "/admin/users/"+ann+"/roles", give),
			"wrong token":   b.send("POST", "/admin/users/"+ann+"/roles", url.Values{"op": {"give"}, "role": {"OWNER"}, "csrf": {b.csrf + "x"}}),
			"cross-site":    b.send("POST", "/admin/users/"+ann+"/roles", url.Values{"op": {"give"}, "role": {"OWNER"}, "csrf": {b.csrf}}, "Sec-Fetch-Site", "cross-site"),
			"other session": other.send("POST", "/admin/users/"+ann+"/roles", url.Values{"op": {"give"}, "role": {"OWNER"}, "csrf": {b.csrf}}),
		} {
			if p.Status != http.StatusForbidden {
				t.Errorf("%s = %d %s", name, p.Status, p.Body)
			}
		}
		if roles := rolesOf(t, c, adm, ann); roles != "END_USER" {
			t.Fatalf("roles after refused writes = %s", roles)
		}
		if p := b.post("/admin/users/"+ann+"/roles", give); p.Status != http.StatusSeeOther {
			t.Fatalf("give = %d %s", p.Status, p.Body)
		}
		if roles := rolesOf(t, c, adm, ann); roles != "END_USER,OWNER" {
			t.Fatalf("roles = %s", roles)
		}
	})
}

// rolesOf reads a user's roles through the API, as an administrator.
func rolesOf(t *testing.T, c *client, adm, id string) string {
	t.Helper()
	r := c.do("GET", "/v1/admin/users/"+id, nil, adm)
	if r.Status != 200 {
		t.Fatalf("get user = %d %s", r.Status, r.Raw)
	}
	return strings.Join(toStrings(r.Body["roles"]), ",")
}

// TestConsoleNarrowAdmin: an administrator who may only read users sees
// the users' pages without any action, no audit log, and a forged write is
// refused.
func TestConsoleNarrowAdmin(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "READER", "permissions": []string{"users:read"}}, adm)
		if r.Status != 201 {
			t.Fatalf("create READER = %d %s", r.Status, r.Raw)
		}
		id, _ := c.signup(map[string]any{"email": "reader@example.com"})
		c.grant(id, "READER")
		ann, _ := c.signup(map[string]any{"email": "ann@example.com"})
		b := signedIn(t, c, "reader@example.com")
		p := b.get("/admin/users?q=ann")
		if p.Status != 200 || !strings.Contains(p.Body, "/admin/users/"+ann) || strings.Contains(p.Body, `href="/admin/audit"`) {
			t.Fatalf("users = %d %s", p.Status, p.Body)
		}
		p = b.get("/admin/users/" + ann)
		if p.Status != 200 || !strings.Contains(p.Body, "ann@example.com") {
			t.Fatalf("user = %d %s", p.Status, p.Body)
		}
		for _, action := range []string{"/roles", "/moderate", "/delete", "Recent activity"} {
			if strings.Contains(p.Body, action) {
				t.Errorf("the page offers %s", action)
			}
		}
		if p := b.get("/admin/audit"); p.Status != http.StatusForbidden {
			t.Errorf("audit = %d", p.Status)
		}
		for path, form := range map[string]url.Values{
			"/roles":    {"op": {"give"}, "role": {"ADMIN"}},
			"/moderate": {"action": {"ban"}, "reason": {"forged"}},
			"/delete":   {"confirm": {"ann@example.com"}},
		} {
			if p := b.post("/admin/users/"+ann+path, form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "This needs the permission") {
				t.Errorf("forged %s = %d %s", path, p.Status, p.Body)
			}
		}
		if r := c.do("GET", "/v1/admin/users/"+ann, nil, adm); r.Status != 200 || str(r.Body, "status") != "active" || rolesOf(t, c, adm, ann) != "END_USER" {
			t.Fatalf("ann after forged writes: %s", r.Raw)
		}
		// Any permission of a /v1/admin route opens the console: here the
		// newsletter's alone, which shows the overview and no users.
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "EDITOR", "permissions": []string{"newsletter:read"}}, adm); r.Status != 201 {
			t.Fatalf("create EDITOR = %d %s", r.Status, r.Raw)
		}
		ed, _ := c.signup(map[string]any{"email": "editor@example.com"})
		c.grant(ed, "EDITOR")
		e := signedIn(t, c, "editor@example.com")
		if p := e.get("/admin"); p.Status != 200 || strings.Contains(p.Body, `href="/admin/users"`) {
			t.Errorf("the editor's overview = %d %s", p.Status, p.Body)
		}
		if p := e.get("/admin/users"); p.Status != http.StatusForbidden {
			t.Errorf("the editor's users = %d", p.Status)
		}
	})
}

// TestConsoleUserActions: suspend (the user's sessions end at once, the
// history keeps the reason and the day), restore, and delete with the typed
// confirmation, each checked through the API.
func TestConsoleUserActions(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		ann, annTok := c.signup(map[string]any{"email": "ann@example.com", "username": "ann"})
		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/users?q=ANN")
		if p.Status != 200 || strings.Count(p.Body, `href="/admin/users/0`) != 1 || !strings.Contains(p.Body, "/admin/users/"+ann) {
			t.Fatalf("search = %d %s", p.Status, p.Body)
		}
		b.get("/admin/users/" + ann)
		until := time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)
		p = b.post("/admin/users/"+ann+"/moderate", url.Values{"action": {"suspend"}, "reason": {"spam links"}, "until": {until}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/users/"+ann+"?done=suspend" {
			t.Fatalf("suspend = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/me", nil, annTok); r.Status != http.StatusUnauthorized {
			t.Fatalf("the suspended user's session = %d %s", r.Status, r.Raw)
		}
		r := c.do("GET", "/v1/admin/users/"+ann+"/moderation-history", nil, adm)
		items, _ := r.Body["entries"].([]any)
		if len(items) != 1 || str(items[0].(map[string]any), "reason") != "spam links" || !strings.HasPrefix(str(items[0].(map[string]any), "until"), until) {
			t.Fatalf("history = %s", r.Raw)
		}
		p = b.get("/admin/users/" + ann + "?done=suspend")
		if !strings.Contains(p.Body, `<dd id="status">suspended</dd>`) || !strings.Contains(p.Body, "spam links") || !strings.Contains(p.Body, "signed out everywhere") {
			t.Fatalf("user page after the suspension: %s", p.Body)
		}
		if p := b.post("/admin/users/"+ann+"/moderate", url.Values{"action": {"suspend"}, "reason": {""}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("suspend without a reason = %d", p.Status)
		}
		if p := b.post("/admin/users/"+ann+"/moderate", url.Values{"action": {"unban"}, "reason": {"appeal upheld"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("restore = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/admin/users/"+ann, nil, adm); str(r.Body, "status") != "active" {
			t.Fatalf("after the restore: %s", r.Raw)
		}
		if p := b.post("/admin/users/"+ann+"/roles", url.Values{"op": {"give"}, "role": {"OWNER"}}); p.Status != http.StatusSeeOther || rolesOf(t, c, adm, ann) != "END_USER,OWNER" {
			t.Fatalf("give = %d", p.Status)
		}
		if p := b.post("/admin/users/"+ann+"/roles", url.Values{"op": {"take"}, "role": {"OWNER"}}); p.Status != http.StatusSeeOther || rolesOf(t, c, adm, ann) != "END_USER" {
			t.Fatalf("take = %d", p.Status)
		}
		if p := b.post("/admin/users/"+ann+"/delete", url.Values{"confirm": {"ann"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Type the user") {
			t.Fatalf("delete with the username for the email = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/users/"+ann+"/delete", url.Values{"confirm": {"ann@example.com"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("delete = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/admin/users/"+ann, nil, adm); r.Status != http.StatusNotFound {
			t.Fatalf("the deleted user = %d", r.Status)
		}
		if p := b.get("/admin/users/" + ann); p.Status != http.StatusNotFound || !strings.Contains(p.Body, `role="alert"`) {
			t.Fatalf("the deleted user's page = %d", p.Status)
		}
		if p := b.get("/admin/users/not-an-id"); p.Status != http.StatusNotFound {
			t.Fatalf("a malformed id = %d", p.Status)
		}
	})
}

// TestConsoleOverviewAndAudit: the overview's counts and chart, per UTC day
// on both engines, and the audit log's filters.
func TestConsoleOverviewAndAudit(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		clk.advance(-40 * 24 * time.Hour)
		c.signup(map[string]any{"email": "old@example.com"}) // before the chart
		clk.advance(38 * 24 * time.Hour)
		c.signup(map[string]any{"email": "bob@example.com"}) // two days ago
		clk.advance(2 * 24 * time.Hour)
		c.admin()
		b := &browser{c: c}
		b.send("POST", "/admin/login", url.Values{"identifier": {"admin@example.com"}, "password": {"wrong"}})
		b = signedIn(t, c, "admin@example.com")
		p := b.get("/admin")
		today, before := clk.now().UTC(), clk.now().UTC().AddDate(0, 0, -2)
		for _, want := range []string{
			"<strong>3</strong> users", "<strong>3</strong> live sessions", "<strong>1</strong> failed log-ins",
			`<title id="svg-title">`, `<desc id="svg-desc">Over the last 30 days: 2 sign-ups and 1 log-ins`,
			"<td>" + today.Format(time.DateOnly) + `</td><td class="num">1</td><td class="num">1</td>`,
			"<td>" + before.Format(time.DateOnly) + `</td><td class="num">1</td><td class="num">0</td>`,
		} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("the overview lacks %s", want)
			}
		}
		if n := strings.Count(p.Body, `<rect class="signups"`); n != 30 {
			t.Errorf("%d days of bars", n)
		}
		p = b.get("/admin/audit?action=auth.&since=" + today.Format(time.DateOnly) + "&until=" + today.Format(time.DateOnly))
		if p.Status != 200 || strings.Count(p.Body, "<td>auth.login</td>") != 1 || strings.Count(p.Body, "<td>auth.login_failed</td>") != 1 ||
			strings.Count(p.Body, "<td>auth.signup</td>") != 1 || strings.Count(p.Body, "<tr><td>") != 4 { // bob's sign-up was two days ago
			t.Fatalf("audit filtered = %d %s", p.Status, p.Body)
		}
		p = b.get("/admin/audit?actor=nobody&since=yesterday")
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Give a user id.") || !strings.Contains(p.Body, `value="nobody"`) {
			t.Fatalf("bad filters = %d %s", p.Status, p.Body)
		}
		p = b.get("/admin/settings")
		if p.Status != 200 || !strings.Contains(p.Body, "<dd>test</dd>") {
			t.Fatalf("settings = %d %s", p.Status, p.Body)
		}
	})
}

// TestConsoleInBrowser drives Debian's Chromium through the console
// (testdata/console_browser.cjs): sign in, find a user with the live
// search, suspend them, give them a role, read the audit log and the
// settings, sign out, and sign in again as an administrator with TOTP. Every
// page is checked by axe-core (no serious or critical violation), must not
// answer 500 or show an unexpected error, and is screenshot: into
// USERD_CONSOLE_SHOTS when set (SQLite's run; the README's docs/console),
// else into a temporary folder.
func TestConsoleInBrowser(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		adminID, _ := c.signup(map[string]any{"email": "root@example.com", "first_name": "Rita", "last_name": "Root"})
		c.grant(adminID, rbac.AdminRole)
		mfaID, mfaTok := c.signup(map[string]any{"email": "mia@example.com"})
		c.grant(mfaID, rbac.AdminRole)
		secret := str(c.do("POST", "/v1/me/mfa/totp", nil, mfaTok).Body, "secret")
		code := func() string { s, _ := totp.GenerateCode(secret, clk.now()); return s }
		if r := c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code()}, mfaTok); r.Status != 200 {
			t.Fatalf("confirm = %d %s", r.Status, r.Raw)
		}
		clk.advance(30 * time.Second) // the browser's code is the next one
		userID, userTok := c.signup(map[string]any{"email": "ann.lee@example.com", "username": "annlee", "first_name": "Ann", "last_name": "Lee"})
		for _, e := range []string{"bob@example.com", "carol@example.com"} {
			c.signup(map[string]any{"email": e})
		}
		plan := map[string]string{"admin": "root@example.com", "password": "correct horse battery", "user": userID, "user_email": "ann.lee@example.com",
			"until": clk.now().UTC().AddDate(0, 0, 7).Format(time.DateOnly), "role": "OWNER", "mfa_admin": "mia@example.com", "secret": secret,
			"skew": strconv.Itoa(int(clk.now().Sub(time.Now()).Seconds()))}
		if pages := consoleInBrowser(t, c, "console_browser.cjs", plan); len(pages) != 11 {
			t.Errorf("the browser checked %d pages: %v", len(pages), pages)
		}
		// What the browser did, through the API.
		if r := c.do("GET", "/v1/me", nil, userTok); r.Status != http.StatusUnauthorized {
			t.Errorf("the suspended user's session = %d", r.Status)
		}
		adm := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "root@example.com", "password": "correct horse battery"}, "")
		tok := str(adm.Body["session"].(map[string]any), "token")
		if r := c.do("GET", "/v1/admin/users/"+userID, nil, tok); str(r.Body, "status") != "suspended" || strings.Join(toStrings(r.Body["roles"]), ",") != "END_USER,OWNER" {
			t.Errorf("the user after the browser: %s", r.Raw)
		}
	})
}

// consoleInBrowser runs a console script of testdata (one that uses
// console_lib.cjs) against c with plan, fails the test for each failure it
// reports and for each page it checked without a screenshot, and returns
// the names of those pages. Screenshots go into USERD_CONSOLE_SHOTS when set
// (on SQLite: the README's docs/console), else into a temporary folder.
func consoleInBrowser(t *testing.T, c *client, script string, plan map[string]string) []string {
	t.Helper()
	node, modules := nodeWithBrowser(t)
	shots := t.TempDir()
	if dir := os.Getenv("USERD_CONSOLE_SHOTS"); dir != "" && strings.HasSuffix(t.Name(), "sqlite") {
		shots = dir
	}
	out := runNode(t, node, modules, string(mustMarshal(t, plan)), "testdata/"+script, c.url, shots)
	var res struct {
		Pages []struct {
			Name string `json:"name"`
		} `json:"pages"`
		Failures []string `json:"failures"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("browser said %s: %v", out, err)
	}
	for _, f := range res.Failures {
		t.Error(f)
	}
	var names []string
	for _, p := range res.Pages {
		if _, err := os.Stat(filepath.Join(shots, p.Name+".png")); err != nil {
			t.Errorf("no screenshot of %s: %v", p.Name, err)
		}
		names = append(names, p.Name)
	}
	return names
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
