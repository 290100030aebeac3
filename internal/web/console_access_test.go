package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/testkit/authtest"
)

// apiRole returns a role as GET /v1/admin/roles lists it, or nil.
func apiRole(t *testing.T, c *client, adm, name string) map[string]any {
	t.Helper()
	r := c.do("GET", "/v1/admin/roles", nil, adm)
	if r.Status != 200 {
		t.Fatalf("list roles = %d %s", r.Status, r.Raw)
	}
	for _, it := range r.Body["items"].([]any) {
		if ro := it.(map[string]any); str(ro, "name") == name {
			return ro
		}
	}
	return nil
}

// apiPermission reports whether GET /v1/admin/permissions lists key.
func apiPermission(t *testing.T, c *client, adm, key string) bool {
	t.Helper()
	r := c.do("GET", "/v1/admin/permissions", nil, adm)
	for _, it := range r.Body["items"].([]any) {
		if str(it.(map[string]any), "key") == key {
			return true
		}
	}
	return false
}

// TestConsoleRoles: the roles' page lists every role with its holders and
// permissions; a role is made with permissions ticked, changed, refused a
// bad name, and deleted once its name is typed (never END_USER or ADMIN);
// an application's permission is defined, refused deletion while a role
// carries it (said plainly), and deleted with force. Each is checked
// through the API.
func TestConsoleRoles(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		c.signup(map[string]any{"email": "ann@example.com"})
		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/roles")
		for _, want := range []string{`<caption>Roles, by name</caption>`, `>END_USER</a></td><td>`, `<td class="num">2</td>`, `<code>users:read</code>`,
			`href="/admin/roles/new"`, `action="/admin/permissions"`, `href="/admin/roles"`} {
			if p.Status != 200 || !strings.Contains(p.Body, want) {
				t.Fatalf("roles page = %d, lacks %s:\n%s", p.Status, want, p.Body)
			}
		}
		p = b.get("/admin/roles/new")
		if p.Status != 200 || strings.Count(p.Body, `name="permissions"`) < 20 || strings.Contains(p.Body, " checked") || !strings.Contains(p.Body, "<legend>users</legend>") {
			t.Fatalf("new role page = %d %s", p.Status, p.Body)
		}
		p = b.post("/admin/roles", url.Values{"name": {"SUPPORT"}, "description": {"Helps users"}, "permissions": {"users:read", "api_keys:read"}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/roles?done=created" {
			t.Fatalf("create = %d %s", p.Status, p.Body)
		}
		ro := apiRole(t, c, adm, "SUPPORT")
		if ro == nil || str(ro, "description") != "Helps users" || strings.Join(toStrings(ro["permissions"]), ",") != "api_keys:read,users:read" || ro["is_admin"] != false {
			t.Fatalf("SUPPORT through the API: %v", ro)
		}
		id := str(ro, "id")
		if p := b.get("/admin/roles?done=created"); !strings.Contains(p.Body, "The role is created.") || !strings.Contains(p.Body, `href="/admin/roles/`+id+`">SUPPORT</a>`) {
			t.Fatalf("roles after the creation: %s", p.Body)
		}
		p = b.get("/admin/roles/" + id)
		if p.Status != 200 || strings.Count(p.Body, " checked>") != 2 || !strings.Contains(p.Body, `value="users:read" checked>`) || !strings.Contains(p.Body, `action="/admin/roles/`+id+`/delete"`) {
			t.Fatalf("role page = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/roles/"+id, url.Values{"description": {"Reads users"}, "permissions": {"users:read"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("update = %d %s", p.Status, p.Body)
		}
		if ro := apiRole(t, c, adm, "SUPPORT"); str(ro, "description") != "Reads users" || strings.Join(toStrings(ro["permissions"]), ",") != "users:read" {
			t.Fatalf("SUPPORT after the change: %v", ro)
		}
		if p := b.post("/admin/roles", url.Values{"name": {"lower"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "A role name is 2 to 64 capital letters") ||
			!strings.Contains(p.Body, `href="/admin/roles"`) {
			t.Fatalf("a bad name = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/roles", url.Values{"name": {"SUPPORT"}}); p.Status != http.StatusConflict {
			t.Fatalf("a taken name = %d", p.Status)
		}
		if p := b.post("/admin/roles/"+id+"/delete", url.Values{"confirm": {"support"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Type the role") {
			t.Fatalf("delete with the wrong name = %d %s", p.Status, p.Body)
		}
		admin := str(apiRole(t, c, adm, "ADMIN"), "id")
		if p := b.get("/admin/roles/" + admin); p.Status != 200 || strings.Contains(p.Body, "/delete") {
			t.Fatalf("ADMIN's page offers its deletion: %s", p.Body)
		}
		if p := b.post("/admin/roles/"+admin+"/delete", url.Values{"confirm": {"ADMIN"}}); p.Status != http.StatusConflict || apiRole(t, c, adm, "ADMIN") == nil {
			t.Fatalf("a forged deletion of ADMIN = %d", p.Status)
		}
		if p := b.get("/admin/roles/not-an-id"); p.Status != http.StatusNotFound {
			t.Fatalf("an unknown role = %d", p.Status)
		}

		// An application's permission, carried by a role.
		if p := b.post("/admin/permissions", url.Values{"key": {"items:create"}, "description": {"Create items"}}); p.Status != http.StatusSeeOther || !apiPermission(t, c, adm, "items:create") {
			t.Fatalf("create permission = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/permissions", url.Values{"key": {"users:fly"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a reserved permission = %d", p.Status)
		}
		if p := b.post("/admin/roles/"+id, url.Values{"description": {"Reads users"}, "permissions": {"users:read", "items:create"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("give the permission = %d %s", p.Status, p.Body)
		}
		p = b.get("/admin/roles")
		if !strings.Contains(p.Body, `action="/admin/permissions/items:create/delete"`) || strings.Contains(p.Body, `action="/admin/permissions/users:read/delete"`) {
			t.Fatalf("the permissions' forms: %s", p.Body)
		}
		p = b.post("/admin/permissions/items:create/delete", url.Values{})
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, "Roles or API keys carry this permission, so it was not deleted.") || !apiPermission(t, c, adm, "items:create") {
			t.Fatalf("delete a permission in use = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/permissions/items:create/delete", url.Values{"force": {"on"}}); p.Status != http.StatusSeeOther || apiPermission(t, c, adm, "items:create") {
			t.Fatalf("delete with force = %d %s", p.Status, p.Body)
		}
		if ro := apiRole(t, c, adm, "SUPPORT"); strings.Join(toStrings(ro["permissions"]), ",") != "users:read" {
			t.Fatalf("SUPPORT after the forced deletion: %v", ro)
		}
		if p := b.post("/admin/roles/"+id+"/delete", url.Values{"confirm": {"SUPPORT"}}); p.Status != http.StatusSeeOther || apiRole(t, c, adm, "SUPPORT") != nil {
			t.Fatalf("delete = %d %s", p.Status, p.Body)
		}
	})
}

var keySecret = regexp.MustCompile(`value="(udk_[^"]+)"`)

// TestConsoleAPIKeys: a key is made with permissions and a last day, and
// shown once on the answer (not stored, in no cookie, in no address); it
// works on the API until it is revoked, after a confirmation; the list
// pages newest first with revoked keys.
func TestConsoleAPIKeys(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/api-keys")
		if p.Status != 200 || !strings.Contains(p.Body, "No API key yet.") || !strings.Contains(p.Body, `value="users:read"`) {
			t.Fatalf("keys page = %d %s", p.Status, p.Body)
		}
		day := time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
		p = b.post("/admin/api-keys", url.Values{"name": {"billing back-end"}, "permissions": {"users:read", "roles:read"}, "expires": {day}})
		m := keySecret.FindStringSubmatch(p.Body)
		if p.Status != http.StatusCreated || m == nil || p.Header.Get("Cache-Control") != "no-store" || p.Header.Get("Location") != "" ||
			len(p.Header.Values("Set-Cookie")) != 0 || !strings.Contains(p.Body, "data-shown-once") {
			t.Fatalf("create = %d %v %s", p.Status, p.Header, p.Body)
		}
		key := m[1]
		if r := c.do("GET", "/v1/admin/users", nil, key); r.Status != 200 {
			t.Fatalf("the key on the API = %d %s", r.Status, r.Raw)
		}
		r := c.do("GET", "/v1/admin/api-keys", nil, adm)
		it := r.Body["items"].([]any)[0].(map[string]any)
		id := str(it, "id")
		if str(it, "name") != "billing back-end" || !strings.HasPrefix(str(it, "expires_at"), time.Now().UTC().AddDate(0, 0, 31).Format(time.DateOnly)+"T00:00:00") {
			t.Fatalf("the key through the API: %v", it)
		}
		p = b.get("/admin/api-keys")
		if strings.Contains(p.Body, key) || strings.Contains(p.Body, key[len(key)-10:]) || !strings.Contains(p.Body, `<tr id="key-`+id+`">`) || !strings.Contains(p.Body, `<td class="state">active</td>`) {
			t.Fatalf("the list after the creation: %s", p.Body)
		}
		if p := b.post("/admin/api-keys/"+id+"/revoke", url.Values{}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Tick the box") {
			t.Fatalf("revoke unconfirmed = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/api-keys/"+id+"/revoke", url.Values{"confirm": {"yes"}}); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/api-keys?done=revoked" {
			t.Fatalf("revoke = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/admin/users", nil, key); r.Status != http.StatusUnauthorized {
			t.Fatalf("the revoked key on the API = %d", r.Status)
		}
		p = b.get("/admin/api-keys?done=revoked")
		if !strings.Contains(p.Body, `<td class="state">revoked `) || !strings.Contains(p.Body, "The API key is revoked") || strings.Contains(p.Body, `action="/admin/api-keys/`+id+`/revoke"`) {
			t.Fatalf("the list after the revocation: %s", p.Body)
		}
		for _, bad := range []url.Values{{"name": {""}}, {"name": {"x"}, "expires": {"soon"}}, {"name": {"x"}, "permissions": {"no:such"}}} {
			if p := b.post("/admin/api-keys", bad); p.Status != http.StatusUnprocessableEntity || keySecret.MatchString(p.Body) {
				t.Errorf("create %v = %d %s", bad, p.Status, p.Body)
			}
		}
		if p := b.post("/admin/api-keys/not-an-id/revoke", url.Values{"confirm": {"yes"}}); p.Status != http.StatusNotFound {
			t.Fatalf("revoke an unknown key = %d", p.Status)
		}

		// Pages of 25, newest first.
		for i := range 26 {
			if r := c.do("POST", "/v1/admin/api-keys", map[string]any{"name": "key " + string(rune('a'+i)), "permissions": []string{"users:read"}}, adm); r.Status != 201 {
				t.Fatalf("create key %d = %d %s", i, r.Status, r.Raw)
			}
		}
		p = b.get("/admin/api-keys")
		next := regexp.MustCompile(`href="/admin/api-keys\?cursor=([^"]+)" rel="next"`).FindStringSubmatch(p.Body)
		if strings.Count(p.Body, `<tr id="key-`) != 25 || next == nil || strings.Index(p.Body, "key z") > strings.Index(p.Body, "key b") {
			t.Fatalf("first page: %s", p.Body)
		}
		p = b.get("/admin/api-keys?cursor=" + next[1])
		if strings.Count(p.Body, `<tr id="key-`) != 2 || !strings.Contains(p.Body, "key a<br>") || !strings.Contains(p.Body, "billing back-end") || strings.Contains(p.Body, `rel="next"`) {
			t.Fatalf("second page: %s", p.Body)
		}
	})
}

// notificationTitles returns the titles of a user's notifications, newest
// first, through the API.
func notificationTitles(t *testing.T, c *client, tok string) []string {
	t.Helper()
	r := c.do("GET", "/v1/me/notifications", nil, tok)
	if r.Status != 200 {
		t.Fatalf("notifications = %d %s", r.Status, r.Raw)
	}
	var out []string
	for _, it := range r.Body["items"].([]any) {
		out = append(out, str(it.(map[string]any), "title"))
	}
	return out
}

// TestConsoleNotifications: the composer sends to one user (by email or
// legacy id), a list, or every holder of a role, and says how many got it;
// each recipient has it through the API and nobody else does; a recipient
// who is nobody, or bad data, is refused with the form kept as typed.
func TestConsoleNotifications(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		ann, annTok := c.signup(map[string]any{"email": "ann@example.com"})
		bob, bobTok := c.signup(map[string]any{"email": "bob@example.com"})
		_, cidTok := c.signup(map[string]any{"email": "cid@example.com"})
		if _, err := c.db.SQL().Exec(`UPDATE users SET legacy_id = 'crm-7' WHERE id = $1`, bob); err != nil {
			t.Fatal(err)
		}
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "CREW", "permissions": []string{}}, adm); r.Status != 201 {
			t.Fatalf("create CREW = %d", r.Status)
		}
		c.grant(ann, "CREW")
		c.grant(bob, "CREW")
		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/notifications")
		if p.Status != 200 || !strings.Contains(p.Body, "<option>CREW</option>") || !strings.Contains(p.Body, `value="console.message"`) {
			t.Fatalf("composer = %d %s", p.Status, p.Body)
		}
		send := func(to, field, value, title string) page {
			return b.post("/admin/notifications", url.Values{"to": {to}, field: {value}, "type": {"console.message"}, "title": {title}, "description": {"Body"},
				"data": {`{"url": "https://example.com"}`}})
		}
		for _, tc := range []struct{ to, field, value, title, want string }{
			{"one", "user", "ANN@example.com", "To ann", "sent=1"},
			{"one", "user", "crm-7", "To bob", "sent=1"},
			{"list", "users", "ann@example.com\r\n\r\n" + bob + "\r\ncrm-7\r\n", "To both", "sent=2"},
			{"role", "role", "CREW", "To the crew", "sent=2"},
		} {
			if p := send(tc.to, tc.field, tc.value, tc.title); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/notifications?"+tc.want {
				t.Fatalf("send %s = %d %v %s", tc.title, p.Status, p.Header, p.Body)
			}
		}
		if p := b.get("/admin/notifications?sent=2"); !strings.Contains(p.Body, "Sent: 2 users got the notification.") {
			t.Fatalf("the notice: %s", p.Body)
		}
		for who, want := range map[string]struct {
			tok    string
			titles []string
		}{"ann": {annTok, []string{"To the crew", "To both", "To ann"}}, "bob": {bobTok, []string{"To the crew", "To both", "To bob"}}, "cid": {cidTok, nil}} {
			if got := notificationTitles(t, c, want.tok); !slices.Equal(got, want.titles) {
				t.Errorf("%s's notifications %v; want %v", who, got, want.titles)
			}
		}
		p = send("list", "users", "ann@example.com\nnobody@example.com", "Never")
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `No user is &#34;nobody@example.com&#34;.`) || !strings.Contains(p.Body, "nobody@example.com</textarea>") ||
			!strings.Contains(p.Body, `value="Never"`) || !strings.Contains(p.Body, `value="list" checked`) {
			t.Fatalf("an unknown recipient = %d %s", p.Status, p.Body)
		}
		p = b.post("/admin/notifications", url.Values{"to": {"one"}, "user": {ann}, "type": {"x"}, "title": {"Never"}, "data": {"[1]"}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("data not an object = %d %s", p.Status, p.Body)
		}
		if p := send("role", "role", "NOBODY", "Never"); p.Status != http.StatusNotFound {
			t.Fatalf("an unknown role = %d", p.Status)
		}
		if got := notificationTitles(t, c, annTok); len(got) != 3 {
			t.Fatalf("refused sendings sent: %v", got)
		}
	})
}

// TestConsoleSettingsPage: the settings show the engine and its version,
// Go's, the migration applied and the signing keys, and no flags when the
// process was given none (cmd/userd's TestSettingsHideSecrets serves them).
func TestConsoleSettingsPage(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		c.admin()
		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/settings")
		engine := regexp.MustCompile(`Database engine</dt><dd>(sqlite 3\.|postgres 1)`)
		if p.Status != 200 || !engine.MatchString(p.Body) || !regexp.MustCompile(`Migration</dt><dd>[1-9][0-9]*</dd>`).MatchString(p.Body) ||
			!strings.Contains(p.Body, "<dt>Go</dt><dd>go1.") || !regexp.MustCompile(`<tr><td><code>[A-Z0-9]{16}</code></td><td>[0-9-]+ [0-9:]+ UTC</td><td>0 minutes</td><td>signs now`).MatchString(p.Body) ||
			!strings.Contains(p.Body, "This process was not told its flags.") || !strings.Contains(p.Body, "This process was not told about its master key.") {
			t.Fatalf("settings = %d %s", p.Status, p.Body)
		}
	})
}

// TestConsoleAccessNarrow: an administrator who may read roles and API keys
// but change neither, nor send notifications, sees no form that would, and
// each forged write is refused, as is every write without the CSRF token;
// the pages they may not read are refused and not in their navigation.
func TestConsoleAccessNarrow(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "VIEWER", "permissions": []string{"roles:read", "api_keys:read"}}, adm); r.Status != 201 {
			t.Fatalf("create VIEWER = %d %s", r.Status, r.Raw)
		}
		id, _ := c.signup(map[string]any{"email": "viewer@example.com"})
		c.grant(id, "VIEWER")
		r := c.do("POST", "/v1/admin/api-keys", map[string]any{"name": "live", "permissions": []string{"users:read"}}, adm)
		keyID := str(r.Body, "id")
		endUser := str(apiRole(t, c, adm, rbac.DefaultRole), "id")
		b := signedIn(t, c, "viewer@example.com")
		p := b.get("/admin")
		if !strings.Contains(p.Body, `href="/admin/roles"`) || !strings.Contains(p.Body, `href="/admin/api-keys"`) || strings.Contains(p.Body, `href="/admin/notifications"`) {
			t.Fatalf("the viewer's navigation: %s", p.Body)
		}
		for path, absent := range map[string][]string{
			"/admin/roles":                 {`href="/admin/roles/new"`, `action="/admin/permissions`, "<form method=\"post\" action=\"/admin/roles"},
			"/admin/roles/" + endUser:      {`name="permissions"`, "/delete", `action="/admin/roles/`},
			"/admin/api-keys":              {`action="/admin/api-keys`, "Create an API key"},
			"/admin/api-keys?cursor=bogus": nil,
		} {
			p := b.get(path)
			if path == "/admin/api-keys?cursor=bogus" {
				if p.Status != http.StatusUnprocessableEntity && p.Status != http.StatusBadRequest {
					t.Errorf("a bad cursor = %d", p.Status)
				}
				continue
			}
			if p.Status != 200 {
				t.Errorf("GET %s = %d", path, p.Status)
			}
			for _, a := range absent {
				if strings.Contains(p.Body, a) {
					t.Errorf("GET %s offers %s", path, a)
				}
			}
		}
		for _, path := range []string{"/admin/roles/new", "/admin/notifications"} {
			if p := b.get(path); p.Status != http.StatusForbidden {
				t.Errorf("GET %s = %d", path, p.Status)
			}
		}
		writes := map[string]url.Values{
			"/admin/roles":                         {"name": {"FORGED"}},
			"/admin/roles/" + endUser:              {"description": {"forged"}},
			"/admin/roles/" + endUser + "/delete":  {"confirm": {"END_USER"}},
			"/admin/permissions":                   {"key": {"forged:perm"}},
			"/admin/permissions/users:read/delete": {"force": {"on"}},
			"/admin/api-keys":                      {"name": {"forged"}},
			"/admin/api-keys/" + keyID + "/revoke": {"confirm": {"yes"}},
			"/admin/notifications":                 {"to": {"one"}, "user": {id}, "type": {"x"}, "title": {"forged"}},
		}
		for path, form := range writes {
			if p := b.post(path, form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "This needs the permission") {
				t.Errorf("forged POST %s = %d %s", path, p.Status, p.Body)
			}
		}
		// Without the form's token, even a full administrator is refused.
		a := signedIn(t, c, "admin@example.com")
		for path, form := range writes {
			if p := a.send("POST", path, form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "The form is stale") {
				t.Errorf("POST %s without the token = %d", path, p.Status)
			}
		}
		if apiRole(t, c, adm, "FORGED") != nil || apiPermission(t, c, adm, "forged:perm") || str(apiRole(t, c, adm, rbac.DefaultRole), "description") == "forged" {
			t.Fatal("a refused write changed the roles")
		}
		r = c.do("GET", "/v1/admin/api-keys", nil, adm)
		if items := r.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["revoked_at"] != nil {
			t.Fatalf("the keys after refused writes: %s", r.Raw)
		}
		if got := notificationTitles(t, c, adm); len(got) != 0 {
			t.Fatalf("a refused sending sent: %v", got)
		}
	})
}

// TestConsoleAccessInBrowser drives Debian's Chromium through the roles, API
// keys, notifications, settings, mail and webhooks (testdata/console_access_browser.cjs):
// it creates a role with two permissions, creates an API key (shown once:
// a reload does not show it again), revokes it (the API refuses it with
// 401 from then on), sends a notification to a role's holders, reads
// the settings, lists the sent mail, makes a webhook endpoint (its secret
// shown once), sends it a test event that a receiver on loopback gets and
// finds it in the deliveries; every page passes axe-core and is screenshot with the
// prefix access-. What it did is checked here through the API.
func TestConsoleAccessInBrowser(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		ann, annTok := c.signup(map[string]any{"email": "ann@example.com"})
		_, bobTok := c.signup(map[string]any{"email": "bob@example.com"})
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "CREW", "description": "The crew", "permissions": []string{"account:read"}}, adm); r.Status != 201 {
			t.Fatalf("create CREW = %d %s", r.Status, r.Raw)
		}
		c.grant(ann, "CREW")
		rc, hookURL := newHookReceiver(t)
		plan := map[string]string{"admin": "admin@example.com", "password": "correct horse battery", "new_role": "SUPPORT", "perms": "users:read,api_keys:read",
			"notify_role": "CREW", "holders": "1", "title": "Crew meeting at noon", "mails": "3", "hook_url": hookURL}
		authtest.Sent(t, c.db) // the three sign-ups' verification mails
		if pages := consoleInBrowser(t, c, "console_access_browser.cjs", plan); len(pages) != 16 {
			t.Errorf("the browser checked %d pages: %v", len(pages), pages)
		}
		if ro := apiRole(t, c, adm, "SUPPORT"); ro == nil || strings.Join(toStrings(ro["permissions"]), ",") != "api_keys:read,users:read" {
			t.Errorf("SUPPORT after the browser: %v", ro)
		}
		r := c.do("GET", "/v1/admin/api-keys", nil, adm)
		if items := r.Body["items"].([]any); len(items) != 1 || str(items[0].(map[string]any), "name") != "browser test key" || items[0].(map[string]any)["revoked_at"] == nil {
			t.Errorf("the keys after the browser: %s", r.Raw)
		}
		if got := notificationTitles(t, c, annTok); !slices.Equal(got, []string{"Crew meeting at noon"}) {
			t.Errorf("the holder's notifications: %v", got)
		}
		if got := notificationTitles(t, c, bobTok); len(got) != 0 {
			t.Errorf("a non-holder's notifications: %v", got)
		}
		if got := rc.ofType("webhook.test"); len(got) != 1 || len(got[0].Signatures) != 1 {
			t.Errorf("the receiver got %+v; want one signed test event", got)
		}
	})
}
