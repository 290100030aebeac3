package web_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// clock lets a test move the database's time.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func withClock(db *sqldb.DB) *clock {
	c := &clock{}
	db.SetClock(c.now)
	return c
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// login signs in and returns the whole answer's body.
func (c *client) login(identifier, pw string) map[string]any {
	c.t.Helper()
	r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": identifier, "password": pw}, "")
	if r.Status != 200 {
		c.t.Fatalf("login %s: %d %s", identifier, r.Status, r.Raw)
	}
	return r.Body
}

// TestAccessTokensAndJWKS: sign-up returns an access JWT that a foreign
// resource server can verify with the JWKS alone, and that userd accepts.
func TestAccessTokensAndJWKS(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		access, refresh := str(r.Body, "access_token"), str(r.Body, "refresh_token")
		if !strings.HasPrefix(refresh, "udr_") || r.Body["expires_in"] != float64(900) || r.Body["token_type"] != "Bearer" {
			t.Fatalf("sign-up tokens: %s", r.Raw)
		}
		jwks := c.do("GET", "/.well-known/jwks.json", nil, "")
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(jwks.Raw, &set); err != nil || len(set.Keys) == 0 {
			t.Fatalf("JWKS %s: %v", jwks.Raw, err)
		}
		tok, err := jwt.ParseSigned(access, []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		kid := tok.Headers[0].KeyID
		keys := set.Key(kid)
		if kid == "" || len(keys) != 1 || keys[0].Algorithm != "EdDSA" || keys[0].Use != "sig" {
			t.Fatalf("kid %q not in the JWKS %s", kid, jwks.Raw)
		}
		var claims jwt.Claims
		if err := tok.Claims(keys[0].Key, &claims); err != nil {
			t.Fatalf("the JWKS key does not verify the token: %v", err)
		}
		user := r.Body["user"].(map[string]any)
		if claims.Subject != user["id"] || claims.Issuer != c.url || claims.Expiry.Time().Sub(claims.IssuedAt.Time()) != 15*time.Minute {
			t.Fatalf("claims %+v", claims)
		}
		if me := c.do("GET", "/v1/me", nil, access); me.Status != 200 || me.Body["id"] != user["id"] {
			t.Fatalf("GET /v1/me with the JWT = %d %s", me.Status, me.Raw)
		}
	})
}

// TestForgedAccessTokens: tokens that are not userd's, or no longer valid,
// are refused.
func TestForgedAccessTokens(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		access := str(r.Body, "access_token")
		parsed, _ := jwt.ParseSigned(access, []jose.SignatureAlgorithm{jose.EdDSA})
		kid := parsed.Headers[0].KeyID
		userID := r.Body["user"].(map[string]any)["id"].(string)
		sessionID := r.Body["session"].(map[string]any)["id"].(string)
		now := time.Now()
		good := token.Access{Issuer: c.url, Audience: c.url, Subject: userID, SessionID: sessionID, ID: "x", IssuedAt: now, Expires: now.Add(time.Minute)}
		_, foreign, _ := ed25519.GenerateKey(rand.Reader)
		sign := func(a token.Access, key ed25519.PrivateKey) string {
			s, err := token.SignAccess(a, kid, key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		seg := strings.Split(access, ".")
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"`+kid+`"}`)) + "." + seg[1] + "."
		hs := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"`+kid+`"}`)) + "." + seg[1] + "." + seg[2]
		other := good
		other.Issuer = "https://evil.example"
		for name, tok := range map[string]string{
			"foreign key":           sign(good, foreign),
			"alg none":              none,
			"alg HS256":             hs,
			"tampered payload":      seg[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"`+userID+`","sid":"`+sessionID+`","exp":9999999999}`)) + "." + seg[2],
			"three dots, garbage":   "a.b.c",
			"other issuer (forged)": sign(other, foreign),
		} {
			if r := c.do("GET", "/v1/me", nil, tok); r.Status != 401 || r.code() != "unauthenticated" {
				t.Errorf("%s: %d %s", name, r.Status, r.Raw)
			}
		}
	})
}

// TestAccessTokenExpiryAndLogout: an access token dies with its time and
// with its session.
func TestAccessTokenExpiryAndLogout(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		access, session, refresh := str(r.Body, "access_token"), str(r.Body["session"].(map[string]any), "token"), str(r.Body, "refresh_token")
		// Used while it lives (its verification is remembered), then not.
		for _, step := range []struct {
			after time.Duration
			want  int
		}{{0, 200}, {15 * time.Minute, 200}, {2 * time.Minute, 401}, {0, 401}} {
			clk.advance(step.after) // 17 min in all: past the 15 min life and the minute of leeway
			if r := c.do("GET", "/v1/me", nil, access); r.Status != step.want {
				t.Fatalf("JWT after %v more = %d, want %d", step.after, r.Status, step.want)
			}
		}
		// A refresh gives a fresh access token; logout ends all of them.
		pair := c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": refresh}, "")
		if pair.Status != 200 {
			t.Fatalf("refresh = %d %s", pair.Status, pair.Raw)
		}
		fresh := str(pair.Body, "access_token")
		if r := c.do("GET", "/v1/me", nil, fresh); r.Status != 200 {
			t.Fatalf("fresh JWT = %d", r.Status)
		}
		if r := c.do("POST", "/v1/auth/logout", nil, fresh); r.Status != 204 {
			t.Fatalf("logout with the JWT = %d", r.Status)
		}
		for name, tok := range map[string]string{"JWT": fresh, "session token": session} {
			if r := c.do("GET", "/v1/me", nil, tok); r.Status != 401 {
				t.Errorf("%s after logout = %d", name, r.Status)
			}
		}
		if r := c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": str(pair.Body, "refresh_token")}, ""); r.Status != 401 || r.code() != "invalid_refresh_token" {
			t.Fatalf("refresh after logout = %d %s", r.Status, r.Raw)
		}
	})
}

// TestRefreshRotation: a refresh answers a new pair; a retry within the
// grace window gets the same successor; an older token answers 401
// invalid_refresh_token and ends the session (the auth package's refresh
// tests check the window's edge, concurrent retries and what reuse ends).
func TestRefreshRotation(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		session, r0 := str(r.Body["session"].(map[string]any), "token"), str(r.Body, "refresh_token")
		refresh := func(tok string) response {
			return c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": tok}, "")
		}

		a := refresh(r0)
		r1 := str(a.Body, "refresh_token")
		if a.Status != 200 || r1 == "" || r1 == r0 || str(a.Body, "access_token") == "" || a.Body["expires_in"] != float64(900) || a.Body["token_type"] != "Bearer" {
			t.Fatalf("first refresh = %d %s", a.Status, a.Raw)
		}
		if b := refresh(r0); b.Status != 200 || str(b.Body, "refresh_token") != r1 {
			t.Fatalf("retry within the grace window = %d, successor %q; want 200 and %q", b.Status, str(b.Body, "refresh_token"), r1)
		}
		r2 := str(refresh(r1).Body, "refresh_token")
		if r2 == "" || r2 == r1 {
			t.Fatal("the successor did not rotate")
		}
		// r0 is now two generations old: presenting it is reuse.
		if b := refresh(r0); b.Status != 401 || b.code() != "invalid_refresh_token" {
			t.Fatalf("reuse of an older token = %d %s", b.Status, b.Raw)
		}
		if b := refresh(r2); b.Status != 401 || b.code() != "invalid_refresh_token" {
			t.Fatalf("the latest refresh token after reuse = %d %s", b.Status, b.Raw)
		}
		if me := c.do("GET", "/v1/me", nil, session); me.Status != 401 {
			t.Fatalf("session after reuse = %d; want revoked", me.Status)
		}
	})
}

// TestBadRefreshTokens: malformed and unknown tokens are refused, changing
// nothing.
func TestBadRefreshTokens(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		good := str(r.Body, "refresh_token")
		for name, body := range map[string]any{
			"empty":         map[string]any{"refresh_token": ""},
			"wrong prefix":  map[string]any{"refresh_token": "uds_" + good[4:]},
			"too short":     map[string]any{"refresh_token": good[:len(good)-1]},
			"bad alphabet":  map[string]any{"refresh_token": good[:10] + "!" + good[11:]},
			"unknown":       map[string]any{"refresh_token": "udr_" + strings.Repeat("A", 43)},
			"session token": map[string]any{"refresh_token": str(r.Body["session"].(map[string]any), "token")},
		} {
			if b := c.do("POST", "/v1/auth/token", body, ""); b.Status != 401 || b.code() != "invalid_refresh_token" {
				t.Errorf("%s: %d %s", name, b.Status, b.Raw)
			}
		}
		if b := c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": 5}, ""); b.Status != 400 {
			t.Errorf("wrong type: %d", b.Status)
		}
		if b := c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": good}, ""); b.Status != 200 {
			t.Fatalf("the good token after bad ones = %d", b.Status)
		}
	})
}

// TestSessions lists and revokes sessions, with expiry by idleness and by
// age.
func TestSessions(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		_, first := c.signup(map[string]any{"email": "ann@example.com"})
		var tokens []string
		for range 3 {
			clk.advance(time.Second)
			tokens = append(tokens, str(c.login("ann@example.com", "correct horse battery")["session"].(map[string]any), "token"))
		}
		current := tokens[2]
		page1 := c.do("GET", "/v1/me/sessions?limit=3", nil, current)
		items := page1.Body["items"].([]any)
		if page1.Status != 200 || len(items) != 3 || page1.Body["next_cursor"] == nil {
			t.Fatalf("page 1 = %d %s", page1.Status, page1.Raw)
		}
		if items[0].(map[string]any)["current"] != true || items[1].(map[string]any)["current"] != false {
			t.Fatalf("the newest session should be the current one: %s", page1.Raw)
		}
		page2 := c.do("GET", "/v1/me/sessions?limit=3&cursor="+page1.Body["next_cursor"].(string), nil, current)
		if items := page2.Body["items"].([]any); len(items) != 1 || page2.Body["next_cursor"] != nil {
			t.Fatalf("page 2 = %s", page2.Raw)
		}
		if r := c.do("GET", "/v1/me/sessions?cursor=nonsense", nil, current); r.Status != 400 || r.code() != "invalid_cursor" {
			t.Fatalf("bad cursor = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me/sessions?limit=1000", nil, current); r.Status != 422 {
			t.Fatalf("limit 1000 = %d", r.Status)
		}
		// Revoke the first session; another user cannot revoke any.
		firstID := page2.Body["items"].([]any)[0].(map[string]any)["id"].(string)
		_, bob := c.signup(map[string]any{"email": "bob@example.com"})
		if r := c.do("DELETE", "/v1/me/sessions/"+firstID, nil, bob); r.Status != 404 {
			t.Fatalf("another user's revoke = %d", r.Status)
		}
		if r := c.do("DELETE", "/v1/me/sessions/"+firstID, nil, current); r.Status != 204 {
			t.Fatalf("revoke = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, first); r.Status != 401 {
			t.Fatalf("revoked session = %d", r.Status)
		}
		if r := c.do("DELETE", "/v1/me/sessions/not-an-id", nil, current); r.Status != 404 {
			t.Fatalf("revoke bad id = %d", r.Status)
		}
		// Idle: tokens[0] unused for 8 days dies; current, used daily, lives.
		for range 8 {
			clk.advance(24 * time.Hour)
			if r := c.do("GET", "/v1/me", nil, current); r.Status != 200 {
				t.Fatalf("a session in daily use = %d", r.Status)
			}
		}
		if r := c.do("GET", "/v1/me", nil, tokens[0]); r.Status != 401 {
			t.Fatalf("an idle session = %d; want 401", r.Status)
		}
		// Absolute: past 30 days even a busy session ends.
		for range 23 {
			clk.advance(24 * time.Hour)
			c.do("GET", "/v1/me", nil, current)
		}
		if r := c.do("GET", "/v1/me", nil, current); r.Status != 401 {
			t.Fatalf("a 31-day-old session = %d; want 401", r.Status)
		}
	})
}

// TestChangePassword: the current password is checked, the new one must
// pass the policy, and every other session ends.
func TestChangePassword(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, current := c.signup(map[string]any{"email": "ann@example.com"})
		other := str(c.login("ann@example.com", "correct horse battery")["session"].(map[string]any), "token")
		change := func(cur, next string) response {
			return c.do("POST", "/v1/me/password", map[string]any{"current_password": cur, "new_password": next}, current)
		}
		if r := change("wrong password!", "a brand new secret"); r.Status != 422 || r.Body["errors"].([]any)[0].(map[string]any)["field"] != "current_password" {
			t.Fatalf("wrong current = %d %s", r.Status, r.Raw)
		}
		if r := change("correct horse battery", "password1"); r.Status != 422 || !strings.Contains(string(r.Raw), "password_too_common") {
			t.Fatalf("common new password = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, other); r.Status != 200 {
			t.Fatal("a refused change ended a session")
		}
		if r := change("correct horse battery", "a brand new secret"); r.Status != 204 {
			t.Fatalf("change = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, other); r.Status != 401 {
			t.Fatalf("other session after change = %d", r.Status)
		}
		if r := c.do("GET", "/v1/me", nil, current); r.Status != 200 {
			t.Fatalf("current session after change = %d", r.Status)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, ""); r.Status != 401 {
			t.Fatalf("old password = %d", r.Status)
		}
		c.login("ann@example.com", "a brand new secret")
	})
}

// TestMailFlows runs verification and reset against a real SMTP server.
func TestMailFlows(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})

		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		env := mb.next()
		if !strings.Contains(env.GetHeader("To"), "ann@example.com") || env.GetHeader("Subject") != "Confirm your email address" {
			t.Fatalf("verification mail: to %q, subject %q", env.GetHeader("To"), env.GetHeader("Subject"))
		}
		base, vtok := link(t, env)
		if base != c.url+"/verify-email" {
			t.Fatalf("link base %q; want %s/verify-email", base, c.url)
		}
		if page := c.do("GET", "/verify-email?token="+vtok, nil, ""); page.Status != 200 || !strings.Contains(string(page.Raw), vtok) {
			t.Fatalf("the link's page = %d", page.Status)
		}
		if r := c.do("GET", "/v1/me", nil, tok); r.Body["email_verified_at"] != nil {
			t.Fatal("opening the page verified the email: a mail scanner would do it")
		}
		if r := c.do("POST", "/v1/auth/email/verify", map[string]any{"token": vtok}, ""); r.Status != 204 {
			t.Fatalf("verify = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, tok); r.Body["email_verified_at"] == nil {
			t.Fatal("email_verified_at not set")
		}
		if r := c.do("POST", "/v1/auth/email/verify", map[string]any{"token": vtok}, ""); r.Status != 401 || r.code() != "invalid_token" {
			t.Fatalf("verify twice = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/me/email/verification", nil, tok); r.Status != 409 || r.code() != "email_already_verified" {
			t.Fatalf("resend when verified = %d %s", r.Status, r.Raw)
		}

		// Forgot: the same answer for a stranger, and no mail.
		if r := c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "nobody@example.com"}, ""); r.Status != 202 {
			t.Fatalf("forgot for a stranger = %d", r.Status)
		}
		mb.none(300 * time.Millisecond)
		other := str(c.login("ann@example.com", "correct horse battery")["session"].(map[string]any), "token")
		if r := c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "ANN@example.com"}, ""); r.Status != 202 {
			t.Fatalf("forgot = %d", r.Status)
		}
		env = mb.next()
		base, rtok := link(t, env)
		if base != c.url+"/reset-password" || env.GetHeader("Subject") != "Reset your password" {
			t.Fatalf("reset mail: %s %q", base, env.GetHeader("Subject"))
		}
		// A weak password is refused and the token stays usable.
		if r := c.do("POST", "/v1/auth/password/reset", map[string]any{"token": rtok, "password": "short"}, ""); r.Status != 422 {
			t.Fatalf("weak reset = %d", r.Status)
		}
		if r := c.do("POST", "/v1/auth/password/reset", map[string]any{"token": vtok, "password": "a brand new secret"}, ""); r.Status != 401 {
			t.Fatalf("reset with a verification token = %d", r.Status)
		}
		if r := c.do("POST", "/v1/auth/password/reset", map[string]any{"token": rtok, "password": "a brand new secret"}, ""); r.Status != 204 {
			t.Fatalf("reset = %d %s", r.Status, r.Raw)
		}
		for name, s := range map[string]string{"first session": tok, "second session": other} {
			if r := c.do("GET", "/v1/me", nil, s); r.Status != 401 {
				t.Errorf("%s after reset = %d", name, r.Status)
			}
		}
		if r := c.do("POST", "/v1/auth/password/reset", map[string]any{"token": rtok, "password": "another new secret"}, ""); r.Status != 401 {
			t.Fatalf("reset twice = %d", r.Status)
		}
		c.login("ann@example.com", "a brand new secret")

		var actions []string
		rows, _ := db.SQL().Query(`SELECT action FROM activity_logs ORDER BY id`)
		for rows.Next() {
			var a string
			rows.Scan(&a)
			actions = append(actions, a)
		}
		rows.Close()
		// The stranger's request is audited too: it does the same work.
		want := []string{"auth.signup", "auth.email_verification_sent", "auth.email_verified", "auth.password_reset_requested", "auth.login", "auth.password_reset_requested", "auth.password_reset", "auth.login"}
		if strings.Join(actions, " ") != strings.Join(want, " ") {
			t.Fatalf("activity log:\n got %v\nwant %v", actions, want)
		}
	})
}

// TestRateLimits: the answers of the limits on log-in failures for one
// account and on reset requests for one email (the auth package's
// TestLoginLimitPerAccount counts them exactly): 401 while under the limit,
// then 429 rate_limited with a Retry-After, even for the right password.
func TestRateLimits(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		cfg := lowLimits(func(l *auth.Limits) { l.LoginFailures.Max, l.ForgotPerEmail.Max = 2, 2 })
		c := startWith(t, db, options{limits: true, auth: cfg})
		c.signup(map[string]any{"email": "ann@example.com"})
		for i := range cfg.Limits.LoginFailures.Max {
			if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "wrong password!"}, ""); r.Status != 401 || r.code() != "invalid_credentials" {
				t.Fatalf("failure %d = %d %s", i+1, r.Status, r.Raw)
			}
		}
		rateLimited(t, "the right password past the limit", c.do("POST", "/v1/auth/login", map[string]any{"identifier": "Ann@Example.com", "password": "correct horse battery"}, ""),
			cfg.Limits.LoginFailures.Window)
		// Forgot: per email.
		for i := range cfg.Limits.ForgotPerEmail.Max {
			if r := c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "x@example.com"}, ""); r.Status != 202 {
				t.Fatalf("forgot %d = %d", i, r.Status)
			}
		}
		rateLimited(t, "forgot past the limit", c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "x@example.com"}, ""), cfg.Limits.ForgotPerEmail.Window)
	})
}
