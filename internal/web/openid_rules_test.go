package web_test

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// relying is a relying party of a test: a client of the provider and a browser.
type relying struct {
	t                *testing.T
	c                *client
	b                *http.Client
	id, secret, uri  string
	scopes           string
	verifier, issuer string
	lastID           string // the request id of the last page
}

// newRP registers a client by the API and returns it with a fresh browser.
func newRP(t *testing.T, c *client, adm string, body map[string]any) *relying {
	t.Helper()
	r := c.do("POST", "/v1/admin/oauth-clients", body, adm)
	if r.Status != 201 {
		t.Fatalf("create client = %d %s", r.Status, r.Raw)
	}
	p := &relying{t: t, c: c, b: rpBrowser(t, c.url), id: r.Body["client_id"].(string), uri: body["redirect_uris"].([]string)[0], issuer: c.url,
		scopes: "openid email profile offline_access"}
	if s, ok := r.Body["client_secret"].(string); ok {
		p.secret = s
	}
	return p
}

// authURL is an authorization request with PKCE S256 and extra parameters.
func (p *relying) authURL(state string, extra ...string) string {
	p.verifier = oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {p.id}, "redirect_uri": {p.uri}, "scope": {p.scopes}, "state": {state},
		"nonce": {"n-" + state}, "code_challenge": {oauth2.S256ChallengeFromVerifier(p.verifier)}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			q.Del(extra[i])
			continue
		}
		q.Set(extra[i], extra[i+1])
	}
	return p.c.url + "/oauth2/authorize?" + q.Encode()
}

// open GETs u in the browser and returns the answer and its body.
func (p *relying) open(u string) (*http.Response, string) {
	p.t.Helper()
	res, err := p.b.Get(u)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// signIn runs an authorization request through userd's page, signing in
// and allowing the consent when asked, and returns the application's
// redirect's query.
func (p *relying) signIn(u, email, pw string) url.Values {
	p.t.Helper()
	res, body := p.open(u)
	for range 3 {
		if strings.HasPrefix(res.Header.Get("Location"), p.uri) {
			return landed(p.t, res, p.uri)
		}
		id := res.Request.URL.Query().Get("id")
		if id == "" {
			id = p.lastID
		}
		p.lastID = id
		var form url.Values
		var to string
		switch {
		case strings.Contains(body, `name="decision"`):
			form, to = url.Values{"id": {id}, "decision": {"allow"}}, "/oauth2/login/consent"
		case strings.Contains(body, `name="password"`):
			form, to = url.Values{"id": {id}, "identifier": {email}, "password": {pw}}, "/oauth2/login"
		default:
			p.t.Fatalf("page %d at %s: %s", res.StatusCode, res.Request.URL, body)
		}
		r, err := p.b.PostForm(p.c.url+to, form)
		if err != nil {
			p.t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		res, body = r, string(b)
	}
	p.t.Fatalf("no redirect to the application after three pages")
	return nil
}

// exchange trades a code for tokens.
func (p *relying) exchange(code string) response {
	p.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p.uri}, "code_verifier": {p.verifier}}
	if p.secret == "" {
		form.Set("client_id", p.id)
	}
	return p.c.clientPost("/oauth2/token", p.id, p.secret, form)
}

// claims decodes a JWT's payload (the go-oidc test verifies signatures).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOpenIDPublicClientAndPrompts: a public, first-party client must use
// PKCE with S256 and needs no secret and no consent; prompt=login and
// max_age make the page ask again; the roles and organizations scopes
// carry the user's roles and organisations.
func TestOpenIDPublicClientAndPrompts(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		p := newRP(t, c, adm, map[string]any{"name": "SPA", "redirect_uris": []string{"http://localhost:1/cb"}, "public": true, "first_party": true,
			"scopes": []string{"openid", "email", "offline_access", "roles", "organizations"}})
		p.scopes = "openid email offline_access roles organizations"
		if p.secret != "" {
			t.Fatal("a public client got a secret")
		}
		userID, tok := c.signup(map[string]any{"email": "pat@example.com", "password": "correct horse battery"})
		if r := c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Acme", "slug": "acme"}, tok); r.Status != 201 {
			t.Fatalf("create org = %d %s", r.Status, r.Raw)
		}
		for _, extra := range [][]string{{"code_challenge", "", "code_challenge_method", ""}, {"code_challenge_method", "plain"}} {
			res, _ := p.open(p.authURL("nopkce", extra...))
			if q := landed(t, res, p.uri); q.Get("error") != "invalid_request" || q.Get("state") != "nopkce" || q.Get("iss") != c.url {
				t.Fatalf("%v: answer %v", extra, q)
			}
		}
		q := p.signIn(p.authURL("a"), "pat@example.com", "correct horse battery")
		r := p.exchange(q.Get("code"))
		if r.Status != 200 || r.Body["refresh_token"] == nil {
			t.Fatalf("public exchange = %d %s", r.Status, r.Raw)
		}
		idt := claims(t, r.Body["id_token"].(string))
		orgs, _ := idt["organizations"].([]any)
		if idt["sub"] != userID || idt["email"] != "pat@example.com" || len(orgs) != 1 || orgs[0].(map[string]any)["slug"] != "acme" ||
			orgs[0].(map[string]any)["role"] != "owner" || idt["roles"] == nil {
			t.Fatalf("ID token claims = %v", idt)
		}
		at := claims(t, r.Body["access_token"].(string))
		if at["aud"] == nil || at["client_id"] != p.id || at["sub"] != userID {
			t.Fatalf("access token claims = %v", at)
		}
		// userd's own API refuses the provider's access token.
		if me := c.do("GET", "/v1/me", nil, r.Body["access_token"].(string)); me.Status != 401 {
			t.Fatalf("/v1/me with an OpenID access token = %d", me.Status)
		}
		ref := c.clientPost("/oauth2/token", p.id, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Body["refresh_token"].(string)}, "client_id": {p.id}})
		if ref.Status != 200 {
			t.Fatalf("public refresh = %d %s", ref.Status, ref.Raw)
		}
		// Signed in: straight through, unless prompt=login or max_age=0.
		if res, _ := p.open(p.authURL("b")); !strings.HasPrefix(res.Header.Get("Location"), p.uri) {
			t.Fatalf("signed in: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		for _, extra := range [][]string{{"prompt", "login"}, {"max_age", "0"}} {
			res, body := p.open(p.authURL("c", extra...))
			if res.StatusCode != 200 || !strings.Contains(body, `name="password"`) {
				t.Fatalf("%v: %d, want the log-in page", extra, res.StatusCode)
			}
			q := p.signIn(p.authURL("c", extra...), "pat@example.com", "correct horse battery")
			r := p.exchange(q.Get("code"))
			if r.Status != 200 {
				t.Fatalf("%v: exchange = %d %s", extra, r.Status, r.Raw)
			}
			if amr := claims(t, r.Body["id_token"].(string))["amr"]; len(amr.([]any)) != 1 || amr.([]any)[0] != "pwd" {
				t.Fatalf("%v: amr = %v", extra, amr)
			}
		}
		if res, _ := p.open(p.authURL("d", "max_age", "3600")); !strings.HasPrefix(res.Header.Get("Location"), p.uri) {
			t.Fatalf("max_age=3600 just after a log-in: %d", res.StatusCode)
		}
	})
}

// TestOpenIDCodeAndRefreshRaces: eight exchanges of one code at once
// leave no live grant (each replay revokes), and eight refreshes of one
// token at once all get the same successor, stored once.
func TestOpenIDCodeAndRefreshRaces(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		p := newRP(t, c, adm, map[string]any{"name": "App", "redirect_uris": []string{"https://app.example/cb"}})
		c.signup(map[string]any{"email": "ray@example.com", "password": "correct horse battery"})
		q := p.signIn(p.authURL("a"), "ray@example.com", "correct horse battery")
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 8 {
			wg.Go(func() {
				if r := p.exchange(q.Get("code")); r.Status == 200 {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if ok > 1 {
			t.Fatalf("%d exchanges of one code passed", ok)
		}
		if n := countRows(t, c.db, `SELECT count(*) FROM oauth_grants`); n != 0 {
			t.Fatalf("%d grants live after a replayed code", n)
		}
		q = p.signIn(p.authURL("b"), "ray@example.com", "correct horse battery")
		r := p.exchange(q.Get("code"))
		if r.Status != 200 {
			t.Fatalf("exchange = %d %s", r.Status, r.Raw)
		}
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Body["refresh_token"].(string)}}
		got := make([]any, 8)
		for i := range got {
			wg.Go(func() {
				if rr := c.tokenRequest(p.id, p.secret, form); rr.Status == 200 {
					got[i] = rr.Body["refresh_token"]
				}
			})
		}
		wg.Wait()
		for _, g := range got {
			if g == nil || g != got[0] {
				t.Fatalf("concurrent refreshes got %v", got)
			}
		}
		if n := countRows(t, c.db, `SELECT count(*) FROM oauth_tokens WHERE kind = 'refresh' AND used_at IS NULL`); n != 1 {
			t.Fatalf("%d unspent refresh tokens; want the one successor", n)
		}
		// A spent token presented again within the grace window, after its
		// successor was spent too, is a reuse: the grant ends.
		next := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {got[0].(string)}}
		if rr := c.tokenRequest(p.id, p.secret, next); rr.Status != 200 {
			t.Fatalf("refresh with the successor = %d %s", rr.Status, rr.Raw)
		}
		if rr := c.tokenRequest(p.id, p.secret, form); rr.Status != 400 || rr.Body["error"] != "invalid_grant" {
			t.Fatalf("the first token again, its successor spent = %d %s", rr.Status, rr.Raw)
		}
		if n := countRows(t, c.db, `SELECT count(*) FROM oauth_grants`); n != 0 {
			t.Fatalf("%d grants after a refresh token's reuse; want it revoked", n)
		}
	})
}

// TestOpenIDIntrospectAndRevoke: introspection (RFC 7662) answers for the
// client's own live tokens; revocation (RFC 7009) of an access token stops
// it at once, of a refresh token ends its grant; another client learns
// nothing and revokes nothing.
func TestOpenIDIntrospectAndRevoke(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		p := newRP(t, c, adm, map[string]any{"name": "App", "redirect_uris": []string{"https://app.example/cb"}})
		other := newRP(t, c, adm, map[string]any{"name": "Other", "redirect_uris": []string{"https://other.example/cb"}})
		userID, sess := c.signup(map[string]any{"email": "ivy@example.com", "password": "correct horse battery"})
		r := p.exchange(p.signIn(p.authURL("a"), "ivy@example.com", "correct horse battery").Get("code"))
		access, refresh := r.Body["access_token"].(string), r.Body["refresh_token"].(string)
		in := c.clientPost("/oauth2/introspect", p.id, p.secret, url.Values{"token": {access}})
		if in.Status != 200 || in.Body["active"] != true || in.Body["sub"] != userID || in.Body["client_id"] != p.id || in.Body["email"] != "ivy@example.com" {
			t.Fatalf("introspect = %d %s", in.Status, in.Raw)
		}
		if o := c.clientPost("/oauth2/introspect", other.id, other.secret, url.Values{"token": {access}}); o.Body["active"] != false {
			t.Fatalf("another client's introspection = %s", o.Raw)
		}
		if o := c.clientPost("/oauth2/introspect", p.id, "udcs_wrong", url.Values{"token": {access}}); o.Status != 401 {
			t.Fatalf("introspection with a wrong secret = %d", o.Status)
		}
		if rv := c.clientPost("/oauth2/revoke", other.id, other.secret, url.Values{"token": {refresh}}); rv.Status != 200 {
			t.Fatalf("another client's revocation = %d %s", rv.Status, rv.Raw)
		}
		if n := countRows(t, c.db, `SELECT count(*) FROM oauth_grants`); n != 1 {
			t.Fatalf("another client's revocation ended %d grants", 1-n)
		}
		if rv := c.clientPost("/oauth2/revoke", p.id, p.secret, url.Values{"token": {access}, "token_type_hint": {"access_token"}}); rv.Status != 200 {
			t.Fatalf("revoke access = %d %s", rv.Status, rv.Raw)
		}
		if in := c.clientPost("/oauth2/introspect", p.id, p.secret, url.Values{"token": {access}}); in.Body["active"] != false {
			t.Fatalf("a revoked access token introspects %s", in.Raw)
		}
		if ui := c.do("GET", "/oauth2/userinfo", nil, access); ui.Status != 401 {
			t.Fatalf("userinfo with a revoked token = %d", ui.Status)
		}
		if rv := c.clientPost("/oauth2/revoke", p.id, p.secret, url.Values{"token": {refresh}}); rv.Status != 200 {
			t.Fatalf("revoke refresh = %d %s", rv.Status, rv.Raw)
		}
		if rr := c.tokenRequest(p.id, p.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}); rr.Status != 400 {
			t.Fatalf("refresh after its revocation = %d %s", rr.Status, rr.Raw)
		}
		if n := countRows(t, c.db, `SELECT count(*) FROM oauth_grants`); n != 0 {
			t.Fatalf("%d grants after the refresh token's revocation", n)
		}
		// A password change ends every grant of the user: no application
		// keeps a refresh token past it.
		r = p.exchange(p.signIn(p.authURL("b"), "ivy@example.com", "correct horse battery").Get("code"))
		if r.Status != 200 {
			t.Fatalf("exchange = %d %s", r.Status, r.Raw)
		}
		if pw := c.do("POST", "/v1/me/password", map[string]any{"current_password": "correct horse battery", "new_password": "another horse battery"}, sess); pw.Status != 204 {
			t.Fatalf("change password = %d %s", pw.Status, pw.Raw)
		}
		if rr := c.tokenRequest(p.id, p.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Body["refresh_token"].(string)}}); rr.Status != 400 {
			t.Fatalf("refresh after a password change = %d %s", rr.Status, rr.Raw)
		}
		if ui := c.do("GET", "/oauth2/userinfo", nil, r.Body["access_token"].(string)); ui.Status != 401 {
			t.Fatalf("userinfo after a password change = %d", ui.Status)
		}
	})
}

// TestOpenIDClientsAPI: bad input is refused and changes nothing; reading
// and deleting need their permissions; a deleted client's tokens stop.
func TestOpenIDClientsAPI(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		_, user := c.signup(map[string]any{"email": "sam@example.com"})
		runScenarios(t, c, []scenario{
			{name: "no name", method: "POST", path: "/v1/admin/oauth-clients", body: map[string]any{"redirect_uris": []string{"https://a.example/cb"}}, token: adm, wantStatus: 422, wantCode: "validation_failed"},
			{name: "no redirect", method: "POST", path: "/v1/admin/oauth-clients", body: map[string]any{"name": "A"}, token: adm, wantStatus: 422, wantCode: "validation_failed"},
			{name: "http off loopback", method: "POST", path: "/v1/admin/oauth-clients", body: map[string]any{"name": "A", "redirect_uris": []string{"http://a.example/cb"}}, token: adm, wantStatus: 422, wantCode: "validation_failed"},
			{name: "fragment", method: "POST", path: "/v1/admin/oauth-clients", body: map[string]any{"name": "A", "redirect_uris": []string{"https://a.example/cb#x"}}, token: adm, wantStatus: 422, wantCode: "validation_failed"},
			{name: "wildcard", method: "POST", path: "/v1/admin/oauth-clients", body: map[string]any{"name": "A", "redirect_uris": []string{"https://*.example/cb"}}, token: adm, wantStatus: 422, wantCode: "validation_failed"},
			{name: "unknown scope", method: "POST", path: "/v1/admin/oauth-clients", body: map[string]any{"name": "A", "redirect_uris": []string{"https://a.example/cb"}, "scopes": []string{"openid", "admin"}}, token: adm, wantStatus: 422, wantCode: "validation_failed"},
			{name: "no openid", method: "POST", path: "/v1/admin/oauth-clients", body: map[string]any{"name": "A", "redirect_uris": []string{"https://a.example/cb"}, "scopes": []string{"email"}}, token: adm, wantStatus: 422, wantCode: "validation_failed"},
			{name: "a user", method: "POST", path: "/v1/admin/oauth-clients", body: map[string]any{"name": "A", "redirect_uris": []string{"https://a.example/cb"}}, token: user, wantStatus: 403, wantCode: "forbidden"},
			{name: "list as a user", method: "GET", path: "/v1/admin/oauth-clients", token: user, wantStatus: 403, wantCode: "forbidden"},
			{name: "unknown", method: "GET", path: "/v1/admin/oauth-clients/udc_nothing", token: adm, wantStatus: 404, wantCode: "oauth_client_not_found"},
			{name: "unknown consent", method: "DELETE", path: "/v1/me/consents/udc_nothing", token: user, wantStatus: 404, wantCode: "consent_not_found"},
		})
		if n := countRows(t, c.db, `SELECT count(*) FROM oauth_clients`); n != 0 {
			t.Fatalf("refused requests made %d clients", n)
		}
		p := newRP(t, c, adm, map[string]any{"name": "App", "redirect_uris": []string{"https://app.example/cb"}, "scopes": []string{"openid", "email"}})
		if l := c.do("GET", "/v1/admin/oauth-clients", nil, adm); len(l.Body["items"].([]any)) != 1 || strings.Contains(string(l.Raw), "secret") {
			t.Fatalf("list = %s", l.Raw)
		}
		c.signup(map[string]any{"email": "tia@example.com", "password": "correct horse battery"})
		p.scopes = "openid email"
		// client_secret_post: the secret in the form.
		code := p.signIn(p.authURL("a"), "tia@example.com", "correct horse battery").Get("code")
		r := c.clientPost("/oauth2/token", "", "", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p.uri},
			"code_verifier": {p.verifier}, "client_id": {p.id}, "client_secret": {p.secret}})
		if r.Status != 200 || r.Body["refresh_token"] != nil {
			t.Fatalf("client_secret_post exchange without offline_access = %d %s", r.Status, r.Raw)
		}
		if d := c.do("DELETE", "/v1/admin/oauth-clients/"+p.id, nil, adm); d.Status != 204 {
			t.Fatalf("delete = %d", d.Status)
		}
		if ui := c.do("GET", "/oauth2/userinfo", nil, r.Body["access_token"].(string)); ui.Status != 401 {
			t.Fatalf("userinfo after the client's deletion = %d", ui.Status)
		}
	})
}

// TestOpenIDTokenLimit: the token and authorization endpoints refuse past
// their limits per address with 429 and Retry-After.
func TestOpenIDTokenLimit(t *testing.T) {
	enginesWith(t, options{limits: true}, func(t *testing.T, c *client) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {"nothing"}, "client_id": {"udc_nothing"}}
		last := response{}
		for range 121 {
			last = c.clientPost("/oauth2/token", "", "", form)
		}
		if last.Status != 429 || last.Header.Get("Retry-After") == "" {
			t.Fatalf("the 121st token request = %d %s", last.Status, last.Raw)
		}
		// Each authorization request is stored: the endpoint has its own
		// count.
		for range 120 {
			last = c.do("GET", "/oauth2/authorize?client_id=udc_nothing", nil, "")
		}
		if last.Status == 429 {
			t.Fatal("the token endpoint's count reached the authorization endpoint")
		}
		if last = c.do("GET", "/oauth2/authorize?client_id=udc_nothing", nil, ""); last.Status != 429 || last.Body["error"] != "temporarily_unavailable" {
			t.Fatalf("the 121st authorization request = %d %s", last.Status, last.Raw)
		}
	})
}

// formValue finds the value of a hidden input in a page.
func formValue(t *testing.T, body, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="`+name+`" value="`)
	if !ok {
		t.Fatalf("no %s in the page: %s", name, body)
	}
	v, _, _ := strings.Cut(rest, `"`)
	return html.UnescapeString(v)
}

// postPage posts a form of the log-in page and returns the answer and its
// body.
func (p *relying) postPage(path string, form url.Values) (*http.Response, string) {
	p.t.Helper()
	res, err := p.b.PostForm(p.c.url+path, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// TestOpenIDSecondFactorsAndConsent: on userd's page a TOTP user gives
// their code after the password, and a passkey signs in alone; the ID
// token's amr says so; prompt=consent asks again for a consent given.
func TestOpenIDSecondFactorsAndConsent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{rpOrigin: rpOrigin})
		clk := withClock(c.db)
		adm := c.admin()
		p := newRP(t, c, adm, map[string]any{"name": "App", "redirect_uris": []string{"https://app.example/cb"}})
		_, tok := c.signup(map[string]any{"email": "tom@example.com", "password": "correct horse battery"})
		code := enableTOTP(t, c, clk, tok)

		res, body := p.open(p.authURL("a"))
		id := res.Request.URL.Query().Get("id")
		res, body = p.postPage("/oauth2/login", url.Values{"id": {id}, "identifier": {"tom@example.com"}, "password": {"correct horse battery"}})
		ch := formValue(t, body, "challenge")
		if res.StatusCode != 200 || ch == "" {
			t.Fatalf("password of a TOTP user = %d", res.StatusCode)
		}
		if res, body := p.postPage("/oauth2/login/mfa", url.Values{"id": {id}, "challenge": {ch}, "code": {"000000"}}); res.StatusCode != 422 || formValue(t, body, "challenge") != ch {
			t.Fatalf("a wrong code = %d, want the code's form again", res.StatusCode)
		}
		res, body = p.postPage("/oauth2/login/mfa", url.Values{"id": {id}, "challenge": {ch}, "code": {code()}})
		if res.StatusCode != 200 || !strings.Contains(body, `name="decision"`) {
			t.Fatalf("the right code = %d, want the consent page", res.StatusCode)
		}
		q := landed(t, func() *http.Response {
			r, err := p.b.PostForm(c.url+"/oauth2/login/consent", url.Values{"id": {id}, "decision": {"allow"}})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}(), p.uri)
		r := p.exchange(q.Get("code"))
		if amr := claims(t, r.Body["id_token"].(string))["amr"]; r.Status != 200 || len(amr.([]any)) != 3 || amr.([]any)[1] != "otp" {
			t.Fatalf("amr after TOTP = %v (%d)", amr, r.Status)
		}
		// prompt=consent shows the consent page to a user who gave it.
		if res, body := p.open(p.authURL("b", "prompt", "consent")); res.StatusCode != 200 || !strings.Contains(body, `name="decision"`) {
			t.Fatalf("prompt=consent = %d", res.StatusCode)
		}

		// A passkey, in a browser of its own.
		pkID, pkTok := c.signup(map[string]any{"email": "kay@example.com"})
		auth, cred := registerPasskey(t, c, pkTok, pkID)
		p2 := newRP(t, c, adm, map[string]any{"name": "App 2", "redirect_uris": []string{"https://app2.example/cb"}, "first_party": true})
		res, _ = p2.open(p2.authURL("c"))
		id = res.Request.URL.Query().Get("id")
		ceremony, assertion := passkeyAssertion(t, c, auth, cred)
		res, err := p2.b.PostForm(c.url+"/oauth2/login/passkey", url.Values{"id": {id}, "challenge_id": {ceremony}, "credential": {string(assertion)}})
		if err != nil {
			t.Fatal(err)
		}
		q = landed(t, res, p2.uri)
		r = p2.exchange(q.Get("code"))
		if idt := claims(t, r.Body["id_token"].(string)); idt["sub"] != pkID || idt["amr"].([]any)[0] != "hwk" {
			t.Fatalf("passkey ID token = %v", idt)
		}
	})
}

// TestOpenIDSocialLogin: the log-in page offers the configured providers;
// a log-in through one (a real OpenID Connect provider on loopback) comes
// back to the page signed in, and the request goes on to the consent and
// the application.
func TestOpenIDSocialLogin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c, m := startOIDC(t, db, options{})
		p := newRP(t, c, c.admin(), map[string]any{"name": "App", "redirect_uris": []string{"https://app.example/cb"}})
		p.b.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(r.URL.String(), p.uri) {
				return http.ErrUseLastResponse
			}
			return nil
		}
		_, body := p.open(p.authURL("a"))
		_, rest, ok := strings.Cut(body, `<a href="/v1/auth/oauth/mock/start?`)
		if !ok {
			t.Fatalf("the log-in page offers no provider: %s", body)
		}
		q, _, _ := strings.Cut(rest, `"`)
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-sue", Email: "sue@example.com", EmailVerified: true})
		res, body := p.open(c.url + "/v1/auth/oauth/mock/start?" + html.UnescapeString(q))
		if res.StatusCode != 200 || !strings.Contains(body, `name="decision"`) || !strings.Contains(body, "sue@example.com") {
			t.Fatalf("back from the provider: %d at %s", res.StatusCode, res.Request.URL)
		}
		id := res.Request.URL.Query().Get("id")
		res, err := p.b.PostForm(c.url+"/oauth2/login/consent", url.Values{"id": {id}, "decision": {"allow"}})
		if err != nil {
			t.Fatal(err)
		}
		r := p.exchange(landed(t, res, p.uri).Get("code"))
		if idt := claims(t, r.Body["id_token"].(string)); r.Status != 200 || idt["email"] != "sue@example.com" {
			t.Fatalf("ID token after a social log-in = %v (%d)", idt, r.Status)
		}
	})
}
