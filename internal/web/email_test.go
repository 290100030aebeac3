package web_test

import (
	"testing"
)

// TestEmailLookAlikes: once alice@example.com has signed up, a look-alike
// with a Cyrillic "а" or an invisible character is refused (422
// invalid_email) and creates nothing, the fullwidth ａｌｉｃｅ@example.com is
// the same email (409 email_taken) and signs in as alice, and the Cyrillic
// one signs in as nobody.
func TestEmailLookAlikes(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		c.signup(map[string]any{"email": "alice@example.com"})
		for _, email := range []string{"\u0430lice@example.com", "alice@ex\u0430mple.com", "al\u200bice@example.com", "alice@[127.0.0.1]"} {
			r := c.do("POST", "/v1/auth/signup", map[string]any{"email": email, "password": "correct horse battery"}, "")
			errs, _ := r.Body["errors"].([]any)
			if r.Status != 422 || len(errs) != 1 || errs[0].(map[string]any)["code"] != "invalid_email" {
				t.Errorf("signup %q = %d %s; want 422 invalid_email", email, r.Status, r.Raw)
			}
		}
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ａｌｉｃｅ@example.com", "password": "correct horse battery"}, "")
		if r.Status != 409 || r.code() != "email_taken" {
			t.Errorf("signup fullwidth = %d %s; want 409 email_taken", r.Status, r.Raw)
		}
		var n int
		if err := c.db.SQL().QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("users = %d, %v; want 1", n, err)
		}
		login := func(identifier string) int {
			return c.do("POST", "/v1/auth/login", map[string]any{"identifier": identifier, "password": "correct horse battery"}, "").Status
		}
		if got := login("ＡＬＩＣＥ@example.com"); got != 200 {
			t.Errorf("login fullwidth = %d; want 200", got)
		}
		if got := login("\u0430lice@example.com"); got != 401 {
			t.Errorf("login Cyrillic look-alike = %d; want 401", got)
		}
	})
}

// TestEmailInternationalSignup: an all-Cyrillic email signs up and is stored
// with its domain in punycode, and either spelling of the domain signs in.
func TestEmailInternationalSignup(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "Иван@Пример.рф", "password": "correct horse battery"}, "")
		if r.Status != 201 || r.Body["user"].(map[string]any)["email"] != "иван@xn--e1afmkfd.xn--p1ai" {
			t.Fatalf("signup = %d %s; want 201 with иван@xn--e1afmkfd.xn--p1ai", r.Status, r.Raw)
		}
		for _, identifier := range []string{"иван@пример.рф", "ИВАН@xn--e1afmkfd.xn--p1ai"} {
			if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": identifier, "password": "correct horse battery"}, ""); r.Status != 200 {
				t.Errorf("login %q = %d %s; want 200", identifier, r.Status, r.Raw)
			}
		}
	})
}
