package web_test

import (
	"strings"
	"testing"
)

// TestAuthBadInput: each authentication endpoint refuses malformed,
// missing, oversized and hostile values with a problem, and changes nothing.
func TestAuthBadInput(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		huge := strings.Repeat("A", 1<<20)
		validShape := func(prefix string) string { return prefix + strings.Repeat("A", 43) }
		tests := []scenario{
			{"verify: empty token", "POST", "/v1/auth/email/verify", map[string]any{"token": ""}, "", 401, "invalid_token"},
			{"verify: missing token", "POST", "/v1/auth/email/verify", map[string]any{}, "", 422, "validation_failed"},
			{"verify: wrong alphabet", "POST", "/v1/auth/email/verify", map[string]any{"token": "udv_" + strings.Repeat("*", 43)}, "", 401, "invalid_token"},
			{"verify: wrong length", "POST", "/v1/auth/email/verify", map[string]any{"token": "udv_abc"}, "", 401, "invalid_token"},
			{"verify: unknown", "POST", "/v1/auth/email/verify", map[string]any{"token": validShape("udv_")}, "", 401, "invalid_token"},
			{"verify: SQL in token", "POST", "/v1/auth/email/verify", map[string]any{"token": "' OR 1=1 --"}, "", 401, "invalid_token"},
			{"verify: oversized", "POST", "/v1/auth/email/verify", `{"token":"` + huge + `"}`, "", 413, "body_too_large"},
			{"verify: number", "POST", "/v1/auth/email/verify", map[string]any{"token": 1}, "", 400, "invalid_type"},
			{"reset: unknown token", "POST", "/v1/auth/password/reset", map[string]any{"token": validShape("udp_"), "password": "a brand new secret"}, "", 401, "invalid_token"},
			{"reset: session token", "POST", "/v1/auth/password/reset", map[string]any{"token": tok, "password": "a brand new secret"}, "", 401, "invalid_token"},
			{"reset: extra field", "POST", "/v1/auth/password/reset", map[string]any{"token": validShape("udp_"), "password": "x", "email": "ann@example.com"}, "", 400, "unknown_field"},
			{"forgot: malformed JSON", "POST", "/v1/auth/password/forgot", `{"email":`, "", 400, "malformed_json"},
			{"forgot: not an email", "POST", "/v1/auth/password/forgot", map[string]any{"email": "nonsense"}, "", 202, ""},
			{"forgot: huge email", "POST", "/v1/auth/password/forgot", map[string]any{"email": strings.Repeat("a", 10000) + "@example.com"}, "", 202, ""},
			{"change password: no token", "POST", "/v1/me/password", map[string]any{"current_password": "x", "new_password": "y"}, "", 401, "unauthenticated"},
			{"change password: missing field", "POST", "/v1/me/password", map[string]any{"current_password": "correct horse battery"}, tok, 422, "validation_failed"},
			{"change password: too long", "POST", "/v1/me/password", map[string]any{"current_password": "correct horse battery", "new_password": strings.Repeat("x", 257)}, tok, 422, "validation_failed"},
			{"sessions: limit 0", "GET", "/v1/me/sessions?limit=0", nil, tok, 422, "validation_failed"},
			{"sessions: limit text", "GET", "/v1/me/sessions?limit=ten", nil, tok, 422, "validation_failed"},
			{"sessions: base64 of a non-id", "GET", "/v1/me/sessions?cursor=aGVsbG8", nil, tok, 400, "invalid_cursor"},
			{"revoke: unknown session", "DELETE", "/v1/me/sessions/01900000-0000-7000-8000-000000000000", nil, tok, 404, "session_not_found"},
			{"token: bearer with no scheme", "GET", "/v1/me", nil, "", 401, "unauthenticated"},
			{"token: expired-shaped JWT", "GET", "/v1/me", nil, "eyJhbGciOiJFZERTQSJ9.eyJleHAiOjF9.AAAA", 401, "unauthenticated"},
			{"token: long garbage", "GET", "/v1/me", nil, strings.Repeat("x", 8000), 401, "unauthenticated"},
		}
		runScenarios(t, c, tests)
		// Nothing changed: the password still works, the session still lives.
		if r := c.do("GET", "/v1/me", nil, tok); r.Status != 200 || r.Body["email_verified_at"] != nil {
			t.Fatalf("after bad input: %d %s", r.Status, r.Raw)
		}
		c.login("ann@example.com", "correct horse battery")
		// An Authorization header with another scheme is refused, not ignored.
		if r := c.do("GET", "/v1/me", nil, "", "Authorization", "Basic "+tok); r.Status != 401 {
			t.Fatalf("Basic scheme = %d", r.Status)
		}
	})
}
