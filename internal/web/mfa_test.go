package web_test

import (
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestTOTP: enrol, confirm, log in with the second factor, refuse a reused
// code, use a recovery code once, disable.
func TestTOTP(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		r := c.do("POST", "/v1/me/mfa/totp", nil, tok)
		secret := str(r.Body, "secret")
		if r.Status != 201 || secret == "" || len(str(r.Body, "otpauth_url")) < 20 {
			t.Fatalf("enrol = %d %s", r.Status, r.Raw)
		}
		code := func() string { s, _ := totp.GenerateCode(secret, clk.now()); return s }
		if r := c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": "000000"}, tok); r.Status != 422 {
			t.Fatalf("wrong first code = %d", r.Status)
		}
		r = c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code()}, tok)
		recovery := toStrings(r.Body["recovery_codes"])
		if r.Status != 200 || len(recovery) != 10 {
			t.Fatalf("confirm = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/me/mfa/totp", nil, tok); r.Status != 409 {
			t.Fatalf("enrol again = %d", r.Status)
		}
		login := func() string {
			r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, "")
			if r.Status != 401 || r.code() != "mfa_required" || str(r.Body, "mfa_token") == "" || r.Body["session"] != nil {
				t.Fatalf("password log-in = %d %s", r.Status, r.Raw)
			}
			return str(r.Body, "mfa_token")
		}
		verify := func(challenge string, body map[string]any) response {
			body["mfa_token"] = challenge
			return c.do("POST", "/v1/auth/mfa/verify", body, "")
		}
		// The code used to confirm is spent: the same time step fails.
		ch := login()
		if r := verify(ch, map[string]any{"code": code()}); r.Status != 422 {
			t.Fatalf("a reused code = %d %s", r.Status, r.Raw)
		}
		clk.advance(30 * time.Second)
		r = verify(ch, map[string]any{"code": code()})
		if r.Status != 200 || str(r.Body["session"].(map[string]any), "token") == "" {
			t.Fatalf("verify = %d %s", r.Status, r.Raw)
		}
		if r := verify(ch, map[string]any{"code": code()}); r.Status != 401 || r.code() != "invalid_mfa_token" {
			t.Fatalf("a spent challenge = %d %s", r.Status, r.Raw)
		}
		// A recovery code works once.
		if r := verify(login(), map[string]any{"recovery_code": recovery[0]}); r.Status != 200 {
			t.Fatalf("recovery code = %d %s", r.Status, r.Raw)
		}
		if r := verify(login(), map[string]any{"recovery_code": recovery[0]}); r.Status != 422 {
			t.Fatalf("a used recovery code = %d", r.Status)
		}
		// Five wrong tries burn a challenge.
		ch = login()
		for range 5 {
			verify(ch, map[string]any{"code": "123456"})
		}
		clk.advance(30 * time.Second)
		if r := verify(ch, map[string]any{"code": code()}); r.Status != 401 || r.code() != "invalid_mfa_token" {
			t.Fatalf("a challenge after 5 wrong tries = %d %s", r.Status, r.Raw)
		}
		for _, bad := range []string{"", "udm_nope", "udm_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			if r := verify(bad, map[string]any{"code": code()}); r.Status != 401 {
				t.Errorf("challenge %q = %d", bad, r.Status)
			}
		}
		// Disable needs a fresh code.
		if r := c.do("DELETE", "/v1/me/mfa/totp", map[string]any{"code": "999999"}, tok); r.Status != 422 {
			t.Fatalf("disable with a wrong code = %d", r.Status)
		}
		clk.advance(30 * time.Second)
		if r := c.do("DELETE", "/v1/me/mfa/totp", map[string]any{"code": code()}, tok); r.Status != 204 {
			t.Fatalf("disable = %d %s", r.Status, r.Raw)
		}
		c.login("ann@example.com", "correct horse battery")
	})
}
