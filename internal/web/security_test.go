package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/federation"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// lowLimits returns the settings of a server whose limits are the defaults
// but for what change makes: an HTTP test needs few requests to reach a
// limit, whose exact counting the auth package's own tests check.
func lowLimits(change func(l *auth.Limits)) auth.Config {
	l := auth.DefaultLimits
	change(&l)
	return auth.Config{Limits: l}
}

// rateLimited checks the answer past a limit: 429 rate_limited, as a
// problem document, with a Retry-After in whole seconds within the window.
func rateLimited(t *testing.T, name string, r response, window time.Duration) {
	t.Helper()
	retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if r.Status != http.StatusTooManyRequests || r.code() != "rate_limited" || r.Header.Get("Content-Type") != "application/problem+json" ||
		err != nil || retry < 1 || retry > int(window/time.Second) {
		t.Fatalf("%s = %d %s (Retry-After %q); want 429 rate_limited with a Retry-After within %v", name, r.Status, r.Raw, r.Header.Get("Retry-After"), window)
	}
}

// TestRateLimitRowsStaySmall: a megabyte of identifier gets the answer of
// a wrong password, and a megabyte of email the 202 of any email, without
// writing what the client sent; the longest identifier that can name an
// account becomes a fixed-size key, not a row of its size.
func TestRateLimitRowsStaySmall(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{limits: true})
		rows := func() (n, longest int) {
			db.SQL().QueryRow(`SELECT count(*), COALESCE(max(length(key)), 0) FROM rate_limits`).Scan(&n, &longest)
			return
		}
		huge := strings.Repeat("a", 1000_000)
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": huge, "password": "wrong password!"}, ""); r.Status != 401 || r.code() != "invalid_credentials" {
			t.Fatalf("a 1 MB identifier = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": huge + "@example.com"}, ""); r.Status != 202 {
			t.Fatalf("a 1 MB email = %d", r.Status)
		}
		if n, longest := rows(); n != 1 || longest > 64 { // the address's log-in count only
			t.Fatalf("%d rate-limit rows, the longest key %d bytes", n, longest)
		}
		long := strings.Repeat("a", 308) + "@example.com" // 320 bytes
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": long, "password": "wrong password!"}, ""); r.Status != 401 {
			t.Fatalf("a 320-byte identifier = %d", r.Status)
		}
		if n, longest := rows(); n != 2 || longest > 64 {
			t.Fatalf("%d rate-limit rows, the longest key %d bytes", n, longest)
		}
		var largest int
		db.SQL().QueryRow(`SELECT COALESCE(max(length(metadata)), 0) FROM activity_logs`).Scan(&largest)
		if largest > 1024 {
			t.Fatalf("an audit entry of %d bytes", largest)
		}
	})
}

// enableTOTP enrols and confirms a second factor with a fresh session and
// returns a function that makes a code at the database's time.
func enableTOTP(t *testing.T, c *client, clk *clock, tok string) func() string {
	t.Helper()
	r := c.do("POST", "/v1/me/mfa/totp", nil, tok)
	secret := str(r.Body, "secret")
	if r.Status != 201 {
		t.Fatalf("enrol = %d %s", r.Status, r.Raw)
	}
	code := func() string { s, _ := totp.GenerateCode(secret, clk.now()); return s }
	if r := c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code()}, tok); r.Status != 200 {
		t.Fatalf("confirm = %d %s", r.Status, r.Raw)
	}
	clk.advance(30 * time.Second) // the confirming code is spent
	return code
}

// TestSecondFactorLimitAcrossChallenges: the answers of the second
// factor's limit, which new password log-ins do not renew (the auth
// package's TestMFALimitAcrossChallenges counts it exactly): a wrong code
// answers 422; past the limit even the right code, on a new challenge, and
// disabling the factor answer 429 rate_limited with a Retry-After.
func TestSecondFactorLimitAcrossChallenges(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		cfg := lowLimits(func(l *auth.Limits) { l.MFAFailures.Max = 2 })
		c := startWith(t, db, options{limits: true, auth: cfg})
		clk := withClock(db)
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		code := enableTOTP(t, c, clk, tok)
		challenge := func() string {
			r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, "")
			if r.code() != "mfa_required" {
				t.Fatalf("password log-in = %d %s", r.Status, r.Raw)
			}
			return str(r.Body, "mfa_token")
		}
		for range cfg.Limits.MFAFailures.Max {
			if r := c.do("POST", "/v1/auth/mfa/verify", map[string]any{"mfa_token": challenge(), "code": "000000"}, ""); r.Status != 422 || r.code() != "validation_failed" {
				t.Fatalf("a wrong code = %d %s", r.Status, r.Raw)
			}
		}
		window := cfg.Limits.MFAFailures.Window
		rateLimited(t, "the right code past the limit", c.do("POST", "/v1/auth/mfa/verify", map[string]any{"mfa_token": challenge(), "code": code()}, ""), window)
		rateLimited(t, "disabling past the limit", c.do("DELETE", "/v1/me/mfa/totp", map[string]any{"code": code()}, tok), window)
	})
}

// TestSensitiveChangesNeedFreshLogin: past --reauthentication-max-age a
// session can no longer add or remove a second factor or a passkey, nor
// delete the account: each of those routes answers 403
// reauthentication_required; a new log-in can (the auth package's
// TestRequireRecent checks the rule and its boundary).
func TestSensitiveChangesNeedFreshLogin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{rpOrigin: "auto"})
		clk := withClock(db)
		id, tok := c.signup(map[string]any{"email": "ann@example.com"})
		clk.advance(6 * time.Minute)
		for _, tc := range []struct{ method, path string }{
			{"POST", "/v1/me/mfa/totp"},
			{"POST", "/v1/me/mfa/totp/confirm"},
			{"DELETE", "/v1/me/mfa/totp"},
			{"POST", "/v1/auth/passkeys/register/begin"},
			{"POST", "/v1/auth/passkeys/register/finish"},
			{"DELETE", "/v1/me/passkeys/0193a0c0-0000-7000-8000-000000000000"},
			{"DELETE", "/v1/me"},
		} {
			var body any
			switch tc.path {
			case "/v1/me/mfa/totp/confirm":
				body = map[string]any{"code": "123456"}
			case "/v1/auth/passkeys/register/finish":
				body = map[string]any{"challenge_id": "x", "credential": map[string]any{}}
			}
			if tc.method == "DELETE" && tc.path == "/v1/me/mfa/totp" {
				body = map[string]any{"code": "123456"}
			}
			if r := c.do(tc.method, tc.path, body, tok); r.Status != 403 || r.code() != "reauthentication_required" {
				t.Errorf("%s %s with a stale log-in = %d %s", tc.method, tc.path, r.Status, r.Raw)
			}
		}
		if r := c.do("GET", "/v1/me", nil, tok); r.Status != 200 || str(r.Body, "id") != id {
			t.Fatalf("the account after a refused deletion = %d", r.Status)
		}
		fresh := str(c.login("ann@example.com", "correct horse battery")["session"].(map[string]any), "token")
		if r := c.do("POST", "/v1/me/mfa/totp", nil, fresh); r.Status != 201 {
			t.Fatalf("enrol after a new log-in = %d %s", r.Status, r.Raw)
		}
		if r := c.do("DELETE", "/v1/me", nil, fresh); r.Status != 204 {
			t.Fatalf("delete after a new log-in = %d %s", r.Status, r.Raw)
		}
	})
}

// TestSecurityChangesAreToldToTheOwner: a change of password or second
// factor reaches the owner by mail and as a notification.
func TestSecurityChangesAreToldToTheOwner(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		clk := withClock(db)
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		mb.next() // the verification mail
		expect := func(subject string) {
			t.Helper()
			env := mb.next()
			if env.GetHeader("Subject") != subject || !strings.Contains(env.GetHeader("To"), "ann@example.com") || !strings.Contains(env.Text, subject) {
				t.Fatalf("mail %q to %s; want %q", env.GetHeader("Subject"), env.GetHeader("To"), subject)
			}
		}
		code := enableTOTP(t, c, clk, tok)
		expect(auth.NoticeMFAEnabled.Title)
		if r := c.do("DELETE", "/v1/me/mfa/totp", map[string]any{"code": code()}, tok); r.Status != 204 {
			t.Fatalf("disable = %d %s", r.Status, r.Raw)
		}
		expect(auth.NoticeMFADisabled.Title)
		if r := c.do("POST", "/v1/me/password", map[string]any{"current_password": "correct horse battery", "new_password": "a better passphrase"}, tok); r.Status != 204 {
			t.Fatalf("change password = %d %s", r.Status, r.Raw)
		}
		expect(auth.NoticePasswordChanged.Title)
		r := c.do("GET", "/v1/me/notifications", nil, tok)
		var types []string
		for _, n := range r.Body["items"].([]any) {
			types = append(types, str(n.(map[string]any), "type"))
		}
		want := "security.password_changed security.mfa_disabled security.mfa_enabled"
		if strings.Join(types, " ") != want {
			t.Fatalf("notifications %v; want %s", types, want)
		}
		// A wrong current password tells nobody.
		if r := c.do("POST", "/v1/me/password", map[string]any{"current_password": "nope nope nope", "new_password": "another passphrase"}, tok); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a wrong current password = %d", r.Status)
		}
		mb.none(300 * time.Millisecond)
	})
}

// TestForgotPasswordSameWork: a known and an unknown address cause the
// same writes (a reset token and an audit entry each); only the known one
// gets a mail.
func TestForgotPasswordSameWork(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender(), limits: true})
		c.signup(map[string]any{"email": "ann@example.com"})
		mb.next() // the verification mail
		rows := func() (tokens, entries, limits int) {
			db.SQL().QueryRow(`SELECT count(*) FROM password_reset_tokens`).Scan(&tokens)
			db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'auth.password_reset_requested'`).Scan(&entries)
			db.SQL().QueryRow(`SELECT count(*) FROM rate_limits`).Scan(&limits)
			return
		}
		t0, e0, l0 := rows()
		if r := c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "ann@example.com"}, ""); r.Status != 202 {
			t.Fatalf("known = %d", r.Status)
		}
		t1, e1, l1 := rows()
		if r := c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "nobody@example.com"}, ""); r.Status != 202 {
			t.Fatalf("unknown = %d", r.Status)
		}
		t2, e2, l2 := rows()
		if t1-t0 != 1 || t2-t1 != 1 || e1-e0 != 1 || e2-e1 != 1 || l1-l0 != l2-l1+1 {
			// The first request also made the address's rate-limit row.
			t.Fatalf("writes: known +%d tokens +%d entries +%d limits; unknown +%d +%d +%d", t1-t0, e1-e0, l1-l0, t2-t1, e2-e1, l2-l1)
		}
		if env := mb.next(); !strings.Contains(env.GetHeader("To"), "ann@example.com") {
			t.Fatalf("reset mail to %s", env.GetHeader("To"))
		}
		mb.none(300 * time.Millisecond)
	})
}

// TestSessionCap: a log-in beyond the newest 100 sessions ends the oldest,
// whose token then answers 401, while the new one works (the auth
// package's TestSessionCap counts them and the dead ones).
func TestSessionCap(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		id, first := c.signup(map[string]any{"email": "ann@example.com"})
		for range auth.MaxSessions - 1 {
			if _, err := c.auth.SignIn(context.Background(), id, auth.Client{}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		if r := c.do("GET", "/v1/me", nil, first); r.Status != 200 {
			t.Fatalf("the oldest session at the cap = %d", r.Status)
		}
		last := str(c.login("ann@example.com", "correct horse battery")["session"].(map[string]any), "token")
		if r := c.do("GET", "/v1/me", nil, first); r.Status != 401 || r.code() != "unauthenticated" {
			t.Fatalf("the oldest session = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, last); r.Status != 200 {
			t.Fatalf("the newest session = %d", r.Status)
		}
	})
}

// TestExternalIdentityNeverLinksByEmail: in external identity mode a
// token's email never gives its subject an existing account, verified or
// not; the subject gets a user of its own without that email.
func TestExternalIdentityNeverLinksByEmail(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		p := newIDP(t)
		ext, err := federation.NewExternal(context.Background(), federation.ExternalConfig{JWKSURL: p.srv.URL, Issuer: "https://idp.test/"})
		if err != nil {
			t.Fatal(err)
		}
		c := startWith(t, db, options{external: ext})
		squatter, _ := c.signup(map[string]any{"email": "victim@example.com"})
		now := time.Now()
		tok := p.token(t, "k1", nil, map[string]any{"iss": "https://idp.test/", "sub": "auth0|victim", "email": "victim@example.com",
			"email_verified": true, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		r := c.do("GET", "/v1/me", nil, tok)
		if r.Status != 200 || str(r.Body, "id") == squatter || r.Body["email"] != nil {
			t.Fatalf("the victim's first request = %d %s", r.Status, r.Raw)
		}
		c.login("victim@example.com", "correct horse battery") // the squatter's account is as it was, and theirs alone
	})
}

// TestEmailChangeByAdministrator: an administrator's change of a user's
// email needs the administrator's recent log-in, and the user hears of it
// at the old address and the new one, and in the application.
func TestEmailChangeByAdministrator(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		clk := withClock(db)
		adm := c.admin()
		mb.next()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		mb.next()
		clk.advance(6 * time.Minute)
		if r := c.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"email": "eve@example.com"}, adm); r.Status != 403 || r.code() != "reauthentication_required" {
			t.Fatalf("a stale administrator's change = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"city": "Lyon"}, adm); r.Status != 200 {
			t.Fatalf("a stale administrator's other change = %d %s", r.Status, r.Raw)
		}
		mb.none(300 * time.Millisecond)
		adm = str(c.login("admin@example.com", "correct horse battery")["session"].(map[string]any), "token")
		if r := c.do("PATCH", "/v1/admin/users/"+annID, map[string]any{"email": "ann@new.example"}, adm); r.Status != 200 {
			t.Fatalf("a fresh administrator's change = %d %s", r.Status, r.Raw)
		}
		to := map[string]bool{}
		for range 2 {
			env := mb.next()
			if env.GetHeader("Subject") != auth.NoticeEmailChanged.Title {
				t.Fatalf("mail %q", env.GetHeader("Subject"))
			}
			to[strings.Trim(env.GetHeader("To"), "<>")] = true
		}
		if !to["ann@example.com"] || !to["ann@new.example"] {
			t.Fatalf("told at %v", to)
		}
		r := c.do("GET", "/v1/me/notifications", nil, ann)
		if items := r.Body["items"].([]any); len(items) != 1 || str(items[0].(map[string]any), "type") != "security.email_changed" {
			t.Fatalf("notifications %s", r.Raw)
		}
	})
}

// TestResetReclaimsUnverifiedAccount: a reset link that reaches an address
// nobody had proven gives the account to its owner: the reset answers 204,
// the squatter's session 401, and the owner signs in with the new password
// (the auth package's TestResetReclaimsUnverifiedAccount checks what the
// reclaim removes and records).
func TestResetReclaimsUnverifiedAccount(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		_, squatter := c.signup(map[string]any{"email": "dave@example.com"})
		mb.next() // the verification mail, which the squatter cannot read
		c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "dave@example.com"}, "")
		_, tok := link(t, mb.next())
		if r := c.do("POST", "/v1/auth/password/reset", map[string]any{"token": tok, "password": "daves own secret"}, ""); r.Status != 204 {
			t.Fatalf("reset = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, squatter); r.Status != 401 {
			t.Fatalf("the squatter's session = %d", r.Status)
		}
		r := c.login("dave@example.com", "daves own secret")
		if r["user"].(map[string]any)["email_verified_at"] == nil {
			t.Fatal("the email is not verified after the reset")
		}
	})
}

// TestPasswordChangeLimit: the answers of the limit on current-password
// checks (the auth package's TestChangePasswordLimit counts concurrent
// guesses exactly): a wrong current password answers 422, and past the
// limit even the right one answers 429 rate_limited with a Retry-After.
func TestPasswordChangeLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		cfg := lowLimits(func(l *auth.Limits) { l.LoginFailures.Max = 2 })
		c := startWith(t, db, options{limits: true, auth: cfg})
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		change := func(current string) response {
			return c.do("POST", "/v1/me/password", map[string]any{"current_password": current, "new_password": "a better passphrase"}, tok)
		}
		for range cfg.Limits.LoginFailures.Max {
			if r := change("a wrong guess"); r.Status != 422 || r.code() != "validation_failed" {
				t.Fatalf("a wrong current password = %d %s", r.Status, r.Raw)
			}
		}
		rateLimited(t, "the right password past the limit", change("correct horse battery"), cfg.Limits.LoginFailures.Window)
	})
}
