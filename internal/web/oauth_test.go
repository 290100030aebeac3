package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/userd/userd/internal/feature/federation"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// noRedirects is a browser that shows redirects instead of following them;
// it keeps cookies, as the log-in's binding cookie needs.
var noRedirects = &http.Client{Jar: newJar(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func newJar() http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // only for bad options
	}
	return jar
}

// startOIDC starts a real OpenID Connect provider on loopback, named "mock",
// and a server that signs in through it.
func startOIDC(t *testing.T, db *sqldb.DB, o options) (*client, *mockoidc.MockOIDC) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	cfg := m.Config()
	o.oidc = []federation.Provider{{Name: "mock", Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret}}
	return startWith(t, db, o), m
}

func get3xx(t *testing.T, u string) *http.Response {
	t.Helper()
	res, err := noRedirects.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestOIDCLogin runs the whole redirect dance over loopback against a real
// OpenID Connect provider started here: PKCE, state and nonce, a user made
// on first log-in, linked by verified email, replayed states refused.
func TestOIDCLogin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c, m := startOIDC(t, db, options{allowed: []string{"http://app.test"}})
		var tamper func(url.Values) // changes the authorization request on its way
		login := func(user *mockoidc.MockUser, redirectTo string) (*http.Response, string) {
			t.Helper()
			m.QueueUser(user)
			start := c.url + "/v1/auth/oauth/mock/start"
			if redirectTo != "" {
				start += "?redirect_to=" + url.QueryEscape(redirectTo)
			}
			res := get3xx(t, start)
			loc := res.Header.Get("Location")
			q, _ := url.Parse(loc)
			if res.StatusCode != 302 || q.Query().Get("code_challenge_method") != "S256" || q.Query().Get("nonce") == "" || q.Query().Get("state") == "" {
				t.Fatalf("start = %d, Location %s", res.StatusCode, loc)
			}
			if tamper != nil {
				u, _ := url.Parse(loc)
				v := u.Query()
				tamper(v)
				u.RawQuery = v.Encode()
				loc = u.String()
			}
			back := get3xx(t, loc).Header.Get("Location")
			if !strings.HasPrefix(back, c.url+"/v1/auth/oauth/mock/callback?") {
				t.Fatalf("the provider sent the browser to %s", back)
			}
			res, err := noRedirects.Get(back)
			if err != nil {
				t.Fatal(err)
			}
			return res, back
		}

		// First log-in makes the user, with the verified email.
		res, back := login(&mockoidc.MockUser{Subject: "sub-ann", Email: "Ann@Example.com", EmailVerified: true}, "")
		r := decode(t, res)
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Set-Cookie"), "userd_session=uds_") {
			t.Fatalf("callback = %d %s", res.StatusCode, r.Raw)
		}
		user := r.Body["user"].(map[string]any)
		tok := str(r.Body["session"].(map[string]any), "token")
		if user["email"] != "ann@example.com" || user["email_verified_at"] == nil || user["is_first_connection"] != true {
			t.Fatalf("user = %v", user)
		}
		if me := c.do("GET", "/v1/me", nil, tok); me.Status != 200 {
			t.Fatalf("the session = %d", me.Status)
		}
		// The same callback again: the state is spent.
		again, _ := http.Get(back)
		if rr := decode(t, again); again.StatusCode != 400 || rr.code() != "invalid_state" {
			t.Fatalf("replayed callback = %d %s", again.StatusCode, rr.Raw)
		}
		// Logging in again finds the same user.
		res, _ = login(&mockoidc.MockUser{Subject: "sub-ann", Email: "ann@example.com", EmailVerified: true}, "")
		if id := str(decode(t, res).Body["user"].(map[string]any), "id"); id != str(user, "id") {
			t.Fatalf("second log-in made user %s; want %s", id, str(user, "id"))
		}
		// A provider that vouches for the email of an unverified password
		// user takes that account over: the password and the sessions of
		// whoever made it open nothing any more. An unverified provider
		// email does not link.
		bobID, bobTok := c.signup(map[string]any{"email": "bob@example.com"})
		res, _ = login(&mockoidc.MockUser{Subject: "sub-bob", Email: "bob@example.com", EmailVerified: true}, "")
		if id := str(decode(t, res).Body["user"].(map[string]any), "id"); id != bobID {
			t.Fatalf("verified email reclaimed %s; want %s", id, bobID)
		}
		if r := c.do("GET", "/v1/me", nil, bobTok); r.Status != 401 {
			t.Fatalf("the pre-registered session after the reclaim = %d", r.Status)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "bob@example.com", "password": "correct horse battery"}, ""); r.Status != 401 {
			t.Fatalf("the pre-registered password after the reclaim = %d", r.Status)
		}
		c.signup(map[string]any{"email": "carol@example.com"})
		res, _ = login(&mockoidc.MockUser{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: false}, "")
		if rr := decode(t, res); res.StatusCode != 409 {
			t.Fatalf("unverified email = %d %s", res.StatusCode, rr.Raw)
		}
		var accounts int
		db.SQL().QueryRow(`SELECT count(*) FROM accounts`).Scan(&accounts)
		if accounts != 2 {
			t.Fatalf("accounts = %d; want 2 (ann, bob)", accounts)
		}
		// With redirect_to: a cookie and a redirect to the application.
		res, _ = login(&mockoidc.MockUser{Subject: "sub-ann", Email: "ann@example.com", EmailVerified: true}, "http://app.test/welcome")
		res.Body.Close()
		if res.StatusCode != 302 || res.Header.Get("Location") != "http://app.test/welcome" || !strings.Contains(res.Header.Get("Set-Cookie"), "userd_session=uds_") {
			t.Fatalf("callback with redirect_to = %d, Location %q, Set-Cookie %q", res.StatusCode, res.Header.Get("Location"), res.Header.Get("Set-Cookie"))
		}
		// A provider whose ID token carries another nonce (here, a tampered
		// authorization request) is refused, and makes no user.
		tamper = func(q url.Values) { q.Set("nonce", "attacker-nonce") }
		res, _ = login(&mockoidc.MockUser{Subject: "sub-eve", Email: "eve@example.com", EmailVerified: true}, "")
		tamper = nil
		if rr := decode(t, res); res.StatusCode != 401 || rr.code() != "invalid_id_token" {
			t.Fatalf("mismatched nonce = %d %s", res.StatusCode, rr.Raw)
		}
		var eves int
		db.SQL().QueryRow(`SELECT count(*) FROM users WHERE email = 'eve@example.com'`).Scan(&eves)
		if eves != 0 {
			t.Fatal("a refused ID token made a user")
		}
		// Bad input.
		for name, path := range map[string]string{
			"foreign redirect": "/v1/auth/oauth/mock/start?redirect_to=" + url.QueryEscape("https://evil.example/x"),
			"unknown provider": "/v1/auth/oauth/nope/start",
			"forged state":     "/v1/auth/oauth/mock/callback?state=st_" + strings.Repeat("A", 43) + "&code=x",
			"garbage state":    "/v1/auth/oauth/mock/callback?state=nope&code=x",
		} {
			r := c.do("GET", path, nil, "")
			want := map[string]int{"foreign redirect": 422, "unknown provider": 404, "forged state": 400, "garbage state": 400}[name]
			if r.Status != want {
				t.Errorf("%s = %d %s; want %d", name, r.Status, r.Raw, want)
			}
		}
	})
}

// decode reads an answer that a test got without the client helper.
func decode(t *testing.T, res *http.Response) response {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{Status: res.StatusCode, Header: res.Header, Raw: b}
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &out.Body); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestOAuthLoginBoundToBrowser: a callback link opened in another browser
// (a victim who opens an attacker's link) is refused, and does not use up
// the state; in the browser that started the log-in it works.
func TestOAuthLoginBoundToBrowser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c, m := startOIDC(t, db, options{})
		attacker := &http.Client{Jar: newJar(), CheckRedirect: noRedirects.CheckRedirect}
		victim := &http.Client{Jar: newJar(), CheckRedirect: noRedirects.CheckRedirect}
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-eve", Email: "eve@example.com", EmailVerified: true})
		get := func(b *http.Client, u string) *http.Response {
			t.Helper()
			res, err := b.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		start := get(attacker, c.url+"/v1/auth/oauth/mock/start")
		start.Body.Close()
		if ck := start.Header.Get("Set-Cookie"); !strings.Contains(ck, "userd_oauth=udb_") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") {
			t.Fatalf("start's cookie = %q", ck)
		}
		callback := get(attacker, start.Header.Get("Location")).Header.Get("Location")
		res := get(victim, callback)
		if r := decode(t, res); r.Status != 400 || r.code() != "invalid_state" || strings.Contains(res.Header.Get("Set-Cookie"), "userd_session") {
			t.Fatalf("the callback in another browser = %d %s (Set-Cookie %q)", r.Status, r.Raw, res.Header.Get("Set-Cookie"))
		}
		if r := decode(t, get(http.DefaultClient, callback)); r.Status != 400 || r.code() != "invalid_state" {
			t.Fatalf("the callback without a cookie = %d %s", r.Status, r.Raw)
		}
		if r := decode(t, get(attacker, callback)); r.Status != 200 {
			t.Fatalf("the callback in the browser that started = %d %s", r.Status, r.Raw)
		}
	})
}

// TestOIDCLinksOnlyVerifiedAccounts: a provider links to an account whose
// email is verified, which keeps its password; an account whose email
// nobody proved passes to the provider's user without its second factor,
// and the trail says so.
func TestOIDCLinksOnlyVerifiedAccounts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c, m := startOIDC(t, db, options{})
		clk := withClock(db)
		login := func(sub, email string) response {
			t.Helper()
			m.QueueUser(&mockoidc.MockUser{Subject: sub, Email: email, EmailVerified: true})
			start := get3xx(t, c.url+"/v1/auth/oauth/mock/start")
			back := get3xx(t, start.Header.Get("Location")).Header.Get("Location")
			res, err := noRedirects.Get(back)
			if err != nil {
				t.Fatal(err)
			}
			return decode(t, res)
		}
		annID, _ := c.signup(map[string]any{"email": "ann@example.com"})
		db.SQL().Exec(`UPDATE users SET email_verified_at = created_at WHERE id = $1`, annID)
		if r := login("sub-ann", "ann@example.com"); r.Status != 200 || str(r.Body["user"].(map[string]any), "id") != annID {
			t.Fatalf("a verified account = %d %s", r.Status, r.Raw)
		}
		c.login("ann@example.com", "correct horse battery") // the owner's password still works
		// Mallory registers bob's address first, with a second factor.
		bobID, tok := c.signup(map[string]any{"email": "bob@example.com"})
		enableTOTP(t, c, clk, tok)
		r := login("sub-bob", "bob@example.com")
		if r.Status != 200 || str(r.Body["user"].(map[string]any), "id") != bobID || r.Body["user"].(map[string]any)["email_verified_at"] == nil {
			t.Fatalf("the reclaim = %d %s", r.Status, r.Raw)
		}
		var factors, hashes, reclaimed, linked int
		db.SQL().QueryRow(`SELECT count(*) FROM mfa_totp WHERE user_id = $1`, bobID).Scan(&factors)
		db.SQL().QueryRow(`SELECT count(*) FROM users WHERE id = $1 AND password_hash IS NOT NULL`, bobID).Scan(&hashes)
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'auth.unverified_account_reclaimed' AND user_id = $1`, bobID).Scan(&reclaimed)
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'auth.account_linked' AND user_id = $1`, annID).Scan(&linked)
		if factors != 0 || hashes != 0 || reclaimed != 1 || linked != 1 {
			t.Fatalf("after the reclaim: %d second factors, %d password hashes, %d reclaim entries, %d link entries", factors, hashes, reclaimed, linked)
		}
		if r := c.do("GET", "/v1/me", nil, tok); r.Status != 401 {
			t.Fatalf("mallory's session after the reclaim = %d", r.Status)
		}
		// Mallory squats carol's address through a provider that does not
		// verify it; carol's verified log-in takes the account, and
		// mallory's provider identity no longer reaches it.
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-mallory", Email: "carol@example.com", EmailVerified: false})
		start := get3xx(t, c.url+"/v1/auth/oauth/mock/start")
		res, err := noRedirects.Get(get3xx(t, start.Header.Get("Location")).Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		squat := decode(t, res)
		carolID := str(squat.Body["user"].(map[string]any), "id")
		if squat.Status != 200 || carolID == "" {
			t.Fatalf("the squat = %d %s", squat.Status, squat.Raw)
		}
		if r := login("sub-carol", "carol@example.com"); r.Status != 200 || str(r.Body["user"].(map[string]any), "id") != carolID {
			t.Fatalf("carol's reclaim = %d %s", r.Status, r.Raw)
		}
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-mallory", Email: "carol@example.com", EmailVerified: false})
		start = get3xx(t, c.url+"/v1/auth/oauth/mock/start")
		res, err = noRedirects.Get(get3xx(t, start.Header.Get("Location")).Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		if r := decode(t, res); r.Status == 200 {
			t.Fatalf("mallory's identity after the reclaim reached %s", r.Raw)
		}
	})
}

// TestOIDCReferral: a log-in started with ?referral= records the referral
// when it makes the user, in the same transaction; an unknown slug is
// refused before the browser leaves; a user who already exists is not
// referred by logging in.
func TestOIDCReferral(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c, m := startOIDC(t, db, options{})
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		if r := c.do("PUT", "/v1/me/referral", map[string]any{"slug": "ann-invites"}, ann); r.Status != 200 {
			t.Fatalf("choose slug = %d %s", r.Status, r.Raw)
		}
		login := func(user *mockoidc.MockUser, referral string) string {
			t.Helper()
			m.QueueUser(user)
			res := get3xx(t, c.url+"/v1/auth/oauth/mock/start?referral="+url.QueryEscape(referral))
			if res.StatusCode != 302 {
				t.Fatalf("start = %d", res.StatusCode)
			}
			res, err := noRedirects.Get(get3xx(t, res.Header.Get("Location")).Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			r := decode(t, res)
			if res.StatusCode != 200 {
				t.Fatalf("callback = %d %s", res.StatusCode, r.Raw)
			}
			return str(r.Body["user"].(map[string]any), "id")
		}
		carol := login(&mockoidc.MockUser{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: true}, "ANN-INVITES")
		login(&mockoidc.MockUser{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: true}, "ann-invites") // again: no new referral
		r := c.do("GET", "/v1/me/referral", nil, ann)
		users, _ := r.Body["referred_users"].([]any)
		if r.Body["referred_count"] != float64(1) || len(users) != 1 || str(users[0].(map[string]any), "id") != carol {
			t.Fatalf("referral after an OIDC sign-up = %s", r.Raw)
		}
		res := get3xx(t, c.url+"/v1/auth/oauth/mock/start?referral=nobody-here")
		if res.StatusCode != 422 {
			t.Fatalf("unknown referral at start = %d", res.StatusCode)
		}
	})
}
