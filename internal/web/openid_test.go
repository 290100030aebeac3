package web_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// rpBrowser is a cookie-keeping HTTP client that stops at redirects to
// anywhere but userd, as a browser would hand them to the application.
func rpBrowser(t *testing.T, base string) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(r.URL.String(), base) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// landed returns the query of the application's redirect a response is.
func landed(t *testing.T, res *http.Response, redirect string) url.Values {
	t.Helper()
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, redirect) {
		t.Fatalf("answer %d to %q; want a redirect to %s", res.StatusCode, loc, redirect)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func post(t *testing.T, b *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	res, err := b.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func requestID(t *testing.T, res *http.Response) string {
	t.Helper()
	res.Body.Close()
	id := res.Request.URL.Query().Get("id")
	if res.StatusCode != 200 || id == "" {
		t.Fatalf("log-in page: %d at %s", res.StatusCode, res.Request.URL)
	}
	return id
}

// TestOpenIDProvider drives the authorization code flow with PKCE from a
// relying party nobody here wrote (golang.org/x/oauth2 with
// coreos/go-oidc verifying the ID token against the discovery document and
// the JWKS): log-in and consent on userd's page, iss and state in the
// answer, the code's exchange, userinfo, a remembered consent passing
// prompt=none, refresh rotation and reuse, a replayed code revoking its
// tokens, consents listed and revoked, and end_session.
func TestOpenIDProvider(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := start(t, db)
		ctx := context.Background()
		adm := c.admin()
		redirect := "http://127.0.0.1:1/callback"
		r := c.do("POST", "/v1/admin/oauth-clients", map[string]any{"name": "Directory", "redirect_uris": []string{redirect},
			"post_logout_redirect_uris": []string{"http://127.0.0.1:1/bye"}}, adm)
		if r.Status != 201 || r.Body["client_secret"] == nil {
			t.Fatalf("create client = %d %s", r.Status, r.Raw)
		}
		clientID, secret := r.Body["client_id"].(string), r.Body["client_secret"].(string)
		userID, sess := c.signup(map[string]any{"email": "ada@example.com", "password": "correct horse battery"})

		provider, err := oidc.NewProvider(ctx, c.url)
		if err != nil {
			t.Fatal(err)
		}
		conf := oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}}
		verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
		b := rpBrowser(t, c.url)

		authorize := func(state, nonce, pkce string, extra ...oauth2.AuthCodeOption) *http.Response {
			opts := append([]oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)}, extra...)
			res, err := b.Get(conf.AuthCodeURL(state, opts...))
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		pkce := oauth2.GenerateVerifier()
		id := requestID(t, authorize("s1", "n1", pkce))
		if res := post(t, b, c.url+"/oauth2/login", url.Values{"id": {id}, "identifier": {"ada@example.com"}, "password": {"wrong password!!"}}); res.StatusCode != 401 {
			t.Fatalf("a wrong password = %d", res.StatusCode)
		}
		res := post(t, b, c.url+"/oauth2/login", url.Values{"id": {id}, "identifier": {"ada@example.com"}, "password": {"correct horse battery"}})
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("log-in = %d, want the consent page", res.StatusCode)
		}
		q := landed(t, post(t, b, c.url+"/oauth2/login/consent", url.Values{"id": {id}, "decision": {"allow"}}), redirect)
		if q.Get("state") != "s1" || q.Get("iss") != c.url || q.Get("code") == "" {
			t.Fatalf("authorization response = %v", q)
		}
		code := q.Get("code")
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			Email    string `json:"email"`
			Verified bool   `json:"email_verified"`
		}
		if err := idt.Claims(&claims); err != nil || idt.Subject != userID || idt.Nonce != "n1" || claims.Email != "ada@example.com" {
			t.Fatalf("ID token: sub %s nonce %s claims %+v %v", idt.Subject, idt.Nonce, claims, err)
		}
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil || info.Subject != userID || info.Email != "ada@example.com" {
			t.Fatalf("userinfo = %+v, %v", info, err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token with offline_access")
		}

		// The consent is remembered: prompt=none passes straight through.
		pkce2 := oauth2.GenerateVerifier()
		q = landed(t, authorize("s2", "n2", pkce2, oauth2.SetAuthURLParam("prompt", "none")), redirect)
		if q.Get("code") == "" || q.Get("state") != "s2" {
			t.Fatalf("prompt=none with a remembered consent = %v", q)
		}
		tok2, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce2))
		if err != nil {
			t.Fatal(err)
		}
		// A code presented again fails and revokes what it gave.
		if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce2)); err == nil {
			t.Fatal("a replayed code was exchanged")
		}
		if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok2)); err == nil {
			t.Fatal("the replayed code's access token still works")
		}
		// Without the verifier, a code of a PKCE request is refused.
		pkce3 := oauth2.GenerateVerifier()
		q = landed(t, authorize("s3", "n3", pkce3, oauth2.SetAuthURLParam("prompt", "none")), redirect)
		if _, err := conf.Exchange(ctx, q.Get("code")); err == nil {
			t.Fatal("a PKCE code was exchanged without its verifier")
		}

		// Refresh rotates; the spent token past the grace window revokes
		// the grant.
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
		rr := c.tokenRequest(clientID, secret, form)
		if rr.Status != 200 || rr.Body["refresh_token"] == nil || rr.Body["refresh_token"] == tok.RefreshToken {
			t.Fatalf("refresh = %d %s", rr.Status, rr.Raw)
		}
		if again := c.tokenRequest(clientID, secret, form); again.Status != 200 || again.Body["refresh_token"] != rr.Body["refresh_token"] {
			t.Fatalf("a retry within the grace window = %d %s", again.Status, again.Raw)
		}
		if other := c.tokenRequest(clientID, "udcs_wrong", form); other.Status != 401 {
			t.Fatalf("a refresh with a wrong secret = %d %s", other.Status, other.Raw)
		}
		if _, err := db.SQL().Exec(`UPDATE oauth_tokens SET used_at = $1 WHERE used_at IS NOT NULL`, db.Now().Add(-15*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if reuse := c.tokenRequest(clientID, secret, form); reuse.Status != 400 || reuse.Body["error"] != "invalid_grant" {
			t.Fatalf("a reused refresh token = %d %s", reuse.Status, reuse.Raw)
		}
		next := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rr.Body["refresh_token"].(string)}}
		if after := c.tokenRequest(clientID, secret, next); after.Status != 400 {
			t.Fatalf("the successor after a reuse = %d %s", after.Status, after.Raw)
		}

		// Consents: listed, revoked, and then prompt=none needs consent.
		if l := c.do("GET", "/v1/me/consents", nil, sess); l.Status != 200 || len(l.Body["items"].([]any)) != 1 {
			t.Fatalf("consents = %d %s", l.Status, l.Raw)
		}
		if ex := c.do("GET", "/v1/me/export", nil, sess); ex.Status != 200 || len(ex.Body["oauth_consents"].([]any)) != 1 ||
			ex.Body["oauth_consents"].([]any)[0].(map[string]any)["client_id"] != clientID {
			t.Fatalf("the export's consents = %d %v", ex.Status, ex.Body["oauth_consents"])
		}
		if d := c.do("DELETE", "/v1/me/consents/"+clientID, nil, sess); d.Status != 204 {
			t.Fatalf("revoke consent = %d %s", d.Status, d.Raw)
		}
		if d := c.do("DELETE", "/v1/me/consents/"+clientID, nil, sess); d.Status != 404 {
			t.Fatalf("revoke it again = %d", d.Status)
		}
		q = landed(t, authorize("s4", "n4", oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("prompt", "none")), redirect)
		if q.Get("error") != "consent_required" || q.Get("state") != "s4" || q.Get("iss") != c.url {
			t.Fatalf("prompt=none after the consent's revocation = %v", q)
		}
		// Declined on the consent page: access_denied.
		id = requestID(t, authorize("s5", "n5", oauth2.GenerateVerifier()))
		q = landed(t, post(t, b, c.url+"/oauth2/login/consent", url.Values{"id": {id}, "decision": {"deny"}}), redirect)
		if q.Get("error") != "access_denied" || q.Get("state") != "s5" {
			t.Fatalf("a denied consent = %v", q)
		}
		// A redirect URI that is not registered exactly is never redirected to.
		bad := strings.Replace(conf.AuthCodeURL("s6"), url.QueryEscape(redirect), url.QueryEscape(redirect+"/x"), 1)
		if res, err := b.Get(bad); err != nil || res.StatusCode < 400 || strings.HasPrefix(res.Header.Get("Location"), "http://127.0.0.1:1") {
			t.Fatalf("an unregistered redirect_uri = %v %v", res.StatusCode, err)
		}

		// end_session: the browser's session ends, back to the registered URI.
		end := c.url + "/oauth2/end_session?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"http://127.0.0.1:1/bye"}, "state": {"bye"}}.Encode()
		res, err = b.Get(end)
		if err != nil {
			t.Fatal(err)
		}
		if q := landed(t, res, "http://127.0.0.1:1/bye"); q.Get("state") != "bye" {
			t.Fatalf("end_session = %v", q)
		}
		id = requestID(t, authorize("s7", "n7", oauth2.GenerateVerifier()))
		if id == "" {
			t.Fatal("after end_session the browser is still signed in")
		}
		var audited int
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE user_id = $1 AND action IN ('oauth.consent_given', 'oauth.authorized', 'oauth.token_issued',
			'oauth.code_replayed', 'oauth.refresh_reuse', 'oauth.consent_revoked', 'oauth.refused', 'oauth.token_revoked')`, userID).Scan(&audited)
		if audited < 10 {
			t.Fatalf("%d audit entries for the flows", audited)
		}
	})
}

// tokenRequest posts a form to the token endpoint with the client's
// credentials (client_secret_basic).
func (c *client) tokenRequest(clientID, secret string, form url.Values) response {
	c.t.Helper()
	return c.clientPost("/oauth2/token", clientID, secret, form)
}

// clientPost posts a form to an endpoint of the provider with the client's
// credentials (client_secret_basic); none without a secret.
func (c *client) clientPost(path, clientID, secret string, form url.Values) response {
	c.t.Helper()
	if secret == "" {
		return c.do("POST", path, form.Encode(), "", "Content-Type", "application/x-www-form-urlencoded")
	}
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID) + ":" + url.QueryEscape(secret)))
	return c.do("POST", path, form.Encode(), "", "Content-Type", "application/x-www-form-urlencoded", "Authorization", "Basic "+basic)
}
