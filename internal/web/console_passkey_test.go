package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/userd/userd/internal/feature/rbac"
)

// TestConsolePasskey: the log-in page offers a passkey when passkeys are
// configured; an administrator's assertion opens the console like a
// password, once; a cross-site form, a garbage credential and a replayed
// ceremony are refused; a user without an administration permission is
// refused and the session their passkey opened is ended.
func TestConsolePasskey(t *testing.T) {
	enginesWith(t, options{rpOrigin: rpOrigin}, func(t *testing.T, c *client) {
		rootID, rootTok := c.signup(map[string]any{"email": "root@example.com"})
		c.grant(rootID, rbac.AdminRole)
		annID, annTok := c.signup(map[string]any{"email": "ann@example.com"})
		rootAuth, rootCred := registerPasskey(t, c, rootTok, rootID)
		annAuth, annCred := registerPasskey(t, c, annTok, annID)
		form := func(id, credential string) url.Values {
			return url.Values{"challenge_id": {id}, "credential": {credential}}
		}

		b := &browser{c: c}
		if p := b.get("/admin/login"); p.Status != 200 || !strings.Contains(p.Body, `<form method="post" action="/admin/login/passkey" class="card" id="passkey-form" hidden>`) {
			t.Fatalf("log-in page = %d %s", p.Status, p.Body)
		}
		rootCred.Counter = 1
		id, resp := passkeyAssertion(t, c, rootAuth, rootCred)
		valid := form(id, string(resp))
		// Someone else's site cannot post it (and the ceremony is left whole).
		if p := b.send("POST", "/admin/login/passkey", valid, "Sec-Fetch-Site", "cross-site"); p.Status != http.StatusForbidden || b.cookie != nil {
			t.Fatalf("cross-site passkey log-in = %d %s", p.Status, p.Body)
		}
		for name, f := range map[string]url.Values{
			"garbage credential": form(id, `{"id": 1}`),
			"no credential":      form(id, ""),
			"unknown ceremony":   form("udw_x", string(resp)),
		} {
			if p := b.send("POST", "/admin/login/passkey", f); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, `role="alert"`) ||
				!strings.Contains(p.Body, `id="passkey-form"`) || b.cookie != nil {
				t.Errorf("%s = %d %s", name, p.Status, p.Body)
			}
		}

		p := b.send("POST", "/admin/login/passkey", valid)
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin" || b.cookie == nil {
			t.Fatalf("passkey log-in = %d %s", p.Status, p.Body)
		}
		if p := b.get("/admin"); p.Status != 200 || !strings.Contains(p.Body, "Signed in as root@example.com") {
			t.Fatalf("overview after the passkey = %d %s", p.Status, p.Body)
		}
		replay := &browser{c: c}
		if p := replay.send("POST", "/admin/login/passkey", valid); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "not valid any more") ||
			replay.cookie != nil {
			t.Fatalf("a replayed ceremony = %d %s", p.Status, p.Body)
		}

		// A user without an administration permission is refused; only the
		// sign-up's session is left.
		annCred.Counter = 1
		id, resp = passkeyAssertion(t, c, annAuth, annCred)
		other := &browser{c: c}
		if p := other.send("POST", "/admin/login/passkey", form(id, string(resp))); p.Status != http.StatusForbidden ||
			!strings.Contains(p.Body, "holds no administration permission") || other.cookie != nil {
			t.Fatalf("non-admin's passkey = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/me/sessions", nil, annTok); len(r.Body["items"].([]any)) != 1 {
			t.Fatalf("non-admin's sessions after the refusal: %s", r.Raw)
		}
	})
}

// TestConsolePasskeyInBrowser drives Debian's Chromium with a DevTools
// virtual authenticator (testdata/console_passkey_browser.cjs): an
// administrator registers a passkey on the /passkeys page, then signs in
// at /admin/login with "Sign in with a passkey" and lands on the overview.
// Pages pass axe-core and are screenshot with the prefix passkey-. It runs
// on localhost, which WebAuthn takes as a secure context, with the
// passkeys' origin the server's own.
func TestConsolePasskeyInBrowser(t *testing.T) {
	enginesWith(t, options{rpOrigin: "auto"}, func(t *testing.T, c *client) {
		c.url = strings.Replace(c.url, "127.0.0.1", "localhost", 1)
		adm := c.admin()
		plan := map[string]string{"admin": "admin@example.com", "token": adm}
		if pages := consoleInBrowser(t, c, "console_passkey_browser.cjs", plan); len(pages) != 2 {
			t.Errorf("the browser checked %d pages: %v", len(pages), pages)
		}
		r := c.do("GET", "/v1/me/passkeys", nil, adm)
		if items := r.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["last_used_at"] == nil {
			t.Errorf("the administrator's passkeys after the browser: %s", r.Raw)
		}
	})
}
