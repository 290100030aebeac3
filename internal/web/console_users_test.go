package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestConsoleUserAccess: a user's page shows their sessions, second factor,
// organisations, subscriptions and client profile; ending one session and
// then all of them is refused without users:write (not even offered) and
// without the form's token, and takes effect at once, checked through the
// API.
func TestConsoleUserAccess(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		adm := c.admin()
		ann, first := c.signup(map[string]any{"email": "ann@example.com"})
		second := c.sessionOf("ann@example.com")
		secret := str(c.do("POST", "/v1/me/mfa/totp", nil, first).Body, "secret")
		code, _ := totp.GenerateCode(secret, clk.now())
		if r := c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code}, first); r.Status != 200 {
			t.Fatalf("confirm = %d %s", r.Status, r.Raw)
		}
		acme := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Acme Inc"}, first).Body, "id")
		if r := c.do("POST", "/v1/admin/subscriptions", map[string]any{"user_id": ann, "plan": "pro",
			"ends_at": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, adm); r.Status != 201 {
			t.Fatalf("grant = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PUT", "/v1/me/client-profile", map[string]any{"display_name": "Ann the client"}, first); r.Status != 200 {
			t.Fatalf("client profile = %d %s", r.Status, r.Raw)
		}
		_, _ = c.narrowAdmin(adm, "READER", "reader@example.com", "users:read")

		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/users/" + ann)
		for _, want := range []string{`<dd id="totp">enabled</dd>`, `<dd id="recovery-left">10</dd>`, "No passkey.",
			`<a href="/admin/orgs/` + acme + `">Acme Inc</a></td><td>business</td><td>owner</td>`, "<td>pro</td><td>active</td><td>manual</td>",
			"<dd>Ann the client</dd>", ">End all sessions</button>"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("the user's page lacks %s", want)
			}
		}
		ids := regexp.MustCompile(`name="session" value="([^"]+)"`).FindAllStringSubmatch(p.Body, -1)
		if p.Status != 200 || len(ids) != 2 {
			t.Fatalf("sessions on the page = %d %v", p.Status, ids)
		}
		if p := b.send("POST", "/admin/users/"+ann+"/sessions", url.Values{"session": {ids[0][1]}}); p.Status != http.StatusForbidden {
			t.Fatalf("end without the form's token = %d", p.Status)
		}
		if r := c.do("GET", "/v1/me", nil, second); r.Status != 200 {
			t.Fatalf("the session after a refused end = %d", r.Status)
		}

		// The narrow administrator sees the sessions but may not end them.
		rd := signedIn(t, c, "reader@example.com")
		p = rd.get("/admin/users/" + ann)
		if p.Status != 200 || !strings.Contains(p.Body, `id="session-list"`) || strings.Contains(p.Body, `/sessions"`) || strings.Contains(p.Body, `id="subs"`) {
			t.Fatalf("the reader's page = %d %s", p.Status, p.Body)
		}
		for _, form := range []url.Values{{"session": {ids[0][1]}}, {}} {
			if p := rd.post("/admin/users/"+ann+"/sessions", form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "This needs the permission") {
				t.Fatalf("the reader ends %v = %d %s", form, p.Status, p.Body)
			}
		}

		p = b.post("/admin/users/"+ann+"/sessions", url.Values{"session": {ids[0][1]}}) // the newest: the second log-in's
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/users/"+ann+"?done=session" {
			t.Fatalf("end one = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/me", nil, second); r.Status != http.StatusUnauthorized {
			t.Fatalf("the ended session = %d", r.Status)
		}
		if r := c.do("GET", "/v1/me", nil, first); r.Status != 200 {
			t.Fatalf("the other session = %d", r.Status)
		}
		if p := b.get("/admin/users/" + ann + "?done=session"); !strings.Contains(p.Body, "The session is ended") || strings.Count(p.Body, `name="session"`) != 1 {
			t.Fatalf("after ending one: %s", p.Body)
		}
		if p := b.post("/admin/users/"+ann+"/sessions", url.Values{"session": {ids[0][1]}}); p.Status != http.StatusNotFound {
			t.Fatalf("end it again = %d", p.Status)
		}
		if p := b.post("/admin/users/"+ann+"/sessions", url.Values{}); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/users/"+ann+"?done=endall" {
			t.Fatalf("end all = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/me", nil, first); r.Status != http.StatusUnauthorized {
			t.Fatalf("the last session after end all = %d", r.Status)
		}
		p = b.get("/admin/users/" + ann + "?done=endall")
		if !strings.Contains(p.Body, "No live session.") || strings.Contains(p.Body, ">End all sessions</button>") {
			t.Fatalf("after ending all: %s", p.Body)
		}
		r := c.do("GET", "/v1/admin/activity-logs?action=admin.sessions_ended", nil, adm)
		if entries, _ := r.Body["items"].([]any); len(entries) != 2 {
			t.Fatalf("trail = %s", r.Raw)
		}
	})
}

// TestConsoleOrgs: the organisations' search and pages, an organisation's
// members, pending invitations and subscriptions, and what is refused.
func TestConsoleOrgs(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com", "username": "bobby"})
		acme := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Acme Inc"}, ann).Body, "id")
		c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Bolt Labs"}, bob)
		join(t, c.db, acme, bobID, "member")
		if r := c.do("POST", "/v1/orgs/"+acme+"/invitations", map[string]any{"email": "cat@example.com", "role": "admin"}, ann); r.Status != 201 {
			t.Fatalf("invite = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/admin/subscriptions", map[string]any{"organization_id": acme, "plan": "team",
			"ends_at": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, adm); r.Status != 201 {
			t.Fatalf("grant = %d %s", r.Status, r.Raw)
		}
		c.narrowAdmin(adm, "EDITOR", "editor@example.com", "newsletter:read")

		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/orgs")
		if p.Status != 200 || !strings.Contains(p.Body, `href="/admin/orgs"`) || strings.Count(p.Body, `<a href="/admin/orgs/0`) != 2 {
			t.Fatalf("orgs = %d %s", p.Status, p.Body)
		}
		p = b.get("/admin/orgs?q=acme")
		if !strings.Contains(p.Body, `<a href="/admin/orgs/`+acme+`">Acme Inc</a></td><td>acme-inc</td><td>business</td><td class="num">2</td>`) || strings.Contains(p.Body, "Bolt") {
			t.Fatalf("orgs?q=acme: %s", p.Body)
		}
		p = b.get("/admin/orgs?user_id=" + bobID)
		if strings.Count(p.Body, `<a href="/admin/orgs/0`) != 2 || !strings.Contains(p.Body, `<td class="num">2</td><td>member</td>`) ||
			!strings.Contains(p.Body, `<td class="num">1</td><td>owner</td>`) {
			t.Fatalf("bob's organisations: %s", p.Body)
		}
		p = b.get("/admin/orgs/" + acme)
		for _, want := range []string{"<h1>Organisation Acme Inc</h1>", `<dd id="members-count">2</dd>`,
			`<a href="/admin/users/` + annID + `">ann@example.com</a></td><td></td><td>owner</td>`,
			`<a href="/admin/users/` + bobID + `">bob@example.com</a></td><td>bobby</td><td>member</td>`,
			"<td>cat@example.com</td><td>admin</td>", "<td>team</td><td>active</td><td>manual</td>"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("the organisation's page lacks %s", want)
			}
		}
		for _, path := range []string{"/admin/orgs/00000000-0000-7000-8000-000000000000", "/admin/orgs/nope"} {
			if p := b.get(path); p.Status != http.StatusNotFound || !strings.Contains(p.Body, `href="/admin/orgs"`) {
				t.Errorf("%s = %d %s", path, p.Status, p.Body)
			}
		}
		if p := b.get("/admin/orgs?cursor=zzz"); p.Status != http.StatusBadRequest {
			t.Errorf("a bad cursor = %d", p.Status)
		}
		e := signedIn(t, c, "editor@example.com")
		if p := e.get("/admin"); strings.Contains(p.Body, `href="/admin/orgs"`) {
			t.Errorf("the editor is offered the organisations")
		}
		for _, path := range []string{"/admin/orgs", "/admin/orgs/" + acme} {
			if p := e.get(path); p.Status != http.StatusForbidden {
				t.Errorf("the editor's %s = %d", path, p.Status)
			}
		}
	})
}

// TestConsoleUsersInBrowser drives Chromium through a user's page
// (testdata/console_users_browser.cjs): their two sessions and TOTP shown,
// one session ended, then all, and their organisation's page with its
// members; checked through the API afterwards. Screenshots are named
// users-* and orgs-*.
func TestConsoleUsersInBrowser(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		adm := c.admin()
		ann, first := c.signup(map[string]any{"email": "ann.lee@example.com", "first_name": "Ann", "last_name": "Lee"})
		second := c.sessionOf("ann.lee@example.com")
		secret := str(c.do("POST", "/v1/me/mfa/totp", nil, first).Body, "secret")
		code, _ := totp.GenerateCode(secret, clk.now())
		if r := c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code}, first); r.Status != 200 {
			t.Fatalf("confirm = %d %s", r.Status, r.Raw)
		}
		org := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Lee Logistics"}, first).Body, "id")
		bob, _ := c.signup(map[string]any{"email": "bob@example.com"})
		join(t, c.db, org, bob, "member")
		c.do("POST", "/v1/orgs/"+org+"/invitations", map[string]any{"email": "cat@example.com", "role": "admin"}, first)
		c.do("POST", "/v1/admin/subscriptions", map[string]any{"organization_id": org, "plan": "team",
			"ends_at": time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)}, adm)
		plan := map[string]string{"admin": "admin@example.com", "password": "correct horse battery", "user": ann,
			"org": org, "org_name": "Lee Logistics", "member_email": "bob@example.com"}
		if pages := consoleInBrowser(t, c, "console_users_browser.cjs", plan); len(pages) != 5 {
			t.Errorf("the browser checked %d pages: %v", len(pages), pages)
		}
		for _, tok := range []string{first, second} {
			if r := c.do("GET", "/v1/me", nil, tok); r.Status != http.StatusUnauthorized {
				t.Errorf("the user's session after the browser = %d", r.Status)
			}
		}
		if r := c.do("GET", "/v1/admin/users/"+ann+"/sessions", nil, adm); len(r.Body["items"].([]any)) != 0 {
			t.Errorf("the user's sessions after the browser: %s", r.Raw)
		}
	})
}
