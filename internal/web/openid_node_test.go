package web_test

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// appListener listens on a loopback port for a relying-party script, the
// origin of its application: the test registers redirect URIs there before
// the script runs, and hands it the socket as its file descriptor 3.
func appListener(t *testing.T) (origin string, f *os.File) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err = ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return "http://" + ln.Addr().String(), f
}

// makeOAuthClient registers a confidential, not first-party client (so
// that the consent page shows) and returns its id and secret.
func (c *client) makeOAuthClient(adm, name string, redirects, postLogout []string) (id, secret string) {
	c.t.Helper()
	r := c.do("POST", "/v1/admin/oauth-clients", map[string]any{"name": name, "redirect_uris": redirects, "post_logout_redirect_uris": postLogout}, adm)
	if r.Status != 201 || r.Body["client_id"] == nil || r.Body["client_secret"] == nil {
		c.t.Fatalf("create client %s = %d %s", name, r.Status, r.Raw)
	}
	return r.Body["client_id"].(string), r.Body["client_secret"].(string)
}

// nodeJSON runs a relying-party script of testdata with in as its JSON
// input and app as its application's socket, and decodes what it printed
// into out.
func nodeJSON(t *testing.T, node, modules, script string, app *os.File, in map[string]any, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	printed := runNodeFiles(t, node, modules, string(b), []*os.File{app}, script, modules)
	if err := json.Unmarshal(printed, out); err != nil {
		t.Fatalf("%s said %s: %v", script, printed, err)
	}
}

// TestOpenIDClientsInBrowser signs a user in to two relying parties
// nobody here wrote, each in Debian's Chromium on userd's own log-in and
// consent page: openid-client (discovery, PKCE, state and nonce, the ID
// token validated against the JWKS, userinfo, a refresh that rotates, and
// RP-initiated logout that lands on the registered URI and ends the
// browser's userd session) and Auth.js (@auth/core with userd as a generic
// OIDC provider, served on its own loopback origin, whose session then
// holds the user's email and userd id).
func TestOpenIDClientsInBrowser(t *testing.T) {
	node, modules := nodeWithBrowser(t, "openid-client", "@auth/core")
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := start(t, db)
		adm := c.admin()
		const email, password = "grace@example.com", "a long enough password"
		userID, _ := c.signup(map[string]any{"email": email, "password": password})

		app, sock := appListener(t)
		redirect, bye := app+"/openid-client/callback", app+"/openid-client/bye"
		id, secret := c.makeOAuthClient(adm, "Directory", []string{redirect}, []string{bye})
		var rp struct {
			Issuer      string   `json:"issuer"`
			Algs        []string `json:"algs"`
			Consent     string   `json:"consent"`
			Violations  []string `json:"violations"`
			CallbackIss string   `json:"callbackIss"`
			IDToken     struct {
				Sub, Email, Iss, Nonce string
				Aud                    []string
			} `json:"idToken"`
			JWKSKeys   []string `json:"jwksKeys"`
			IDTokenAlg string   `json:"idTokenAlg"`
			TokenType  string   `json:"tokenType"`
			Userinfo   struct {
				Sub, Email string
			} `json:"userinfo"`
			Refreshed            bool `json:"refreshed"`
			RefreshedAccessWorks bool `json:"refreshedAccessWorks"`
			Logout               struct {
				URL           string `json:"url"`
				ExpectedState string `json:"expectedState"`
				Page          string `json:"page"`
			} `json:"logout"`
			LoginFormAgain bool `json:"loginFormAgain"`
		}
		nodeJSON(t, node, modules, "testdata/openid_client_browser.mjs", sock, map[string]any{"issuer": c.url, "app": app, "clientId": id, "clientSecret": secret,
			"redirect": redirect, "postLogout": bye, "email": email, "password": password}, &rp)
		t.Logf("openid-client: %+v", rp)
		if rp.Issuer != c.url || rp.CallbackIss != c.url || rp.IDToken.Iss != c.url || len(rp.IDToken.Aud) != 1 || rp.IDToken.Aud[0] != id || rp.IDTokenAlg != "EdDSA" {
			t.Errorf("issuer %q, iss in the callback %q, ID token iss %q aud %q alg %q", rp.Issuer, rp.CallbackIss, rp.IDToken.Iss, rp.IDToken.Aud, rp.IDTokenAlg)
		}
		if rp.IDToken.Sub != userID || rp.IDToken.Email != email || rp.Userinfo.Sub != userID || rp.Userinfo.Email != email {
			t.Errorf("ID token %+v, userinfo %+v; want %s %s", rp.IDToken, rp.Userinfo, userID, email)
		}
		if len(rp.JWKSKeys) == 0 || slices.ContainsFunc(rp.JWKSKeys, func(k string) bool { return k != "OKP/Ed25519" }) {
			t.Errorf("the JWKS openid-client checked the ID token with: %v", rp.JWKSKeys)
		}
		if want := "Directory asks to sign you in as " + email; !strings.HasPrefix(rp.Consent, want) || !strings.Contains(rp.Consent, "a refresh token") {
			t.Errorf("consent page %q, want %q… with offline_access", rp.Consent, want)
		}
		if len(rp.Violations) != 0 {
			t.Errorf("accessibility of the log-in and consent pages: %v", rp.Violations)
		}
		if !rp.Refreshed || !rp.RefreshedAccessWorks {
			t.Errorf("refresh: a new refresh token %v, its access token works %v", rp.Refreshed, rp.RefreshedAccessWorks)
		}
		if want := bye + "?state=" + url.QueryEscape(rp.Logout.ExpectedState); rp.Logout.URL != want || rp.Logout.ExpectedState == "" || rp.Logout.Page != "Back." {
			t.Errorf("logout landed on %q showing %q, want %q", rp.Logout.URL, rp.Logout.Page, want)
		}
		if !rp.LoginFormAgain {
			t.Error("after the logout the browser is still signed in to userd")
		}

		app, sock = appListener(t)
		callback := app + "/auth/callback/userd"
		id, secret = c.makeOAuthClient(adm, "Notes", []string{callback}, nil)
		var aj struct {
			Authorize map[string]string `json:"authorize"`
			Consent   string            `json:"consent"`
			Callback  struct {
				Path string `json:"path"`
				Code bool   `json:"code"`
				Iss  string `json:"iss"`
			} `json:"callback"`
			Done struct {
				URL  string `json:"url"`
				Text string `json:"text"`
			} `json:"done"`
			Cookies []string `json:"cookies"`
			Session struct {
				User struct {
					Sub   string `json:"sub"`
					Email string `json:"email"`
				} `json:"user"`
				Expires string `json:"expires"`
			} `json:"session"`
		}
		nodeJSON(t, node, modules, "testdata/authjs_browser.mjs", sock, map[string]any{"issuer": c.url, "app": app, "clientId": id, "clientSecret": secret,
			"email": email, "password": password}, &aj)
		t.Logf("Auth.js: %+v", aj)
		if a := aj.Authorize; a["redirect_uri"] != callback || a["response_type"] != "code" || a["code_challenge_method"] != "S256" || a["scope"] != "openid profile email" {
			t.Errorf("Auth.js's authorization request: %v", a)
		}
		if want := "Notes asks to sign you in as " + email; !strings.HasPrefix(aj.Consent, want) {
			t.Errorf("consent page %q, want %q…", aj.Consent, want)
		}
		if aj.Callback.Path != "/auth/callback/userd" || !aj.Callback.Code || aj.Callback.Iss != c.url {
			t.Errorf("the callback: %+v", aj.Callback)
		}
		if aj.Done.URL != app+"/done" || aj.Done.Text != "Signed in." || !slices.Contains(aj.Cookies, "authjs.session-token") {
			t.Errorf("after the callback: %+v, cookies %v", aj.Done, aj.Cookies)
		}
		if aj.Session.User.Email != email || aj.Session.User.Sub != userID || aj.Session.Expires == "" {
			t.Errorf("Auth.js session %+v; want %s %s", aj.Session, userID, email)
		}
	})
}
