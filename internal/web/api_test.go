package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestScenarios is the API's contract as a table, run over loopback HTTP on
// both engines.
func TestScenarios(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		annID, ann := c.signup(map[string]any{"email": "ann@example.com", "username": "Ann", "phone_number": "+14155550100"})
		long := strings.Repeat("x", 101)
		tests := []scenario{
			{"health", "GET", "/healthz", nil, "", 200, ""},
			{"ready", "GET", "/readyz", nil, "", 200, ""},
			{"signup by username only", "POST", "/v1/auth/signup", map[string]any{"username": "bob_1", "password": "correct horse battery"}, "", 201, ""},
			{"signup by phone only", "POST", "/v1/auth/signup", map[string]any{"phone_number": "+33612345678", "password": "correct horse battery"}, "", 201, ""},
			{"signup email taken, other case", "POST", "/v1/auth/signup", map[string]any{"email": "ANN@Example.COM", "password": "correct horse battery"}, "", 409, "email_taken"},
			{"signup username taken, other case", "POST", "/v1/auth/signup", map[string]any{"username": "aNN", "password": "correct horse battery"}, "", 409, "username_taken"},
			{"signup phone taken", "POST", "/v1/auth/signup", map[string]any{"phone_number": "+14155550100", "password": "correct horse battery"}, "", 409, "phone_taken"},
			{"signup no identifier", "POST", "/v1/auth/signup", map[string]any{"password": "correct horse battery"}, "", 422, "validation_failed"},
			{"signup bad email", "POST", "/v1/auth/signup", map[string]any{"email": "not-an-email", "password": "correct horse battery"}, "", 422, "validation_failed"},
			{"signup display-name email", "POST", "/v1/auth/signup", map[string]any{"email": "Eve <eve@example.com>", "password": "correct horse battery"}, "", 422, "validation_failed"},
			{"signup bad phone", "POST", "/v1/auth/signup", map[string]any{"phone_number": "0612345678", "password": "correct horse battery"}, "", 422, "validation_failed"},
			{"signup bad username", "POST", "/v1/auth/signup", map[string]any{"username": "a b", "password": "correct horse battery"}, "", 422, "validation_failed"},
			{"signup short password", "POST", "/v1/auth/signup", map[string]any{"email": "c@example.com", "password": "short"}, "", 422, "validation_failed"},
			{"signup long password", "POST", "/v1/auth/signup", map[string]any{"email": "c@example.com", "password": strings.Repeat("p", 257)}, "", 422, "validation_failed"},
			{"signup password is email", "POST", "/v1/auth/signup", map[string]any{"email": "carol@example.com", "password": "Carol@example.com"}, "", 422, "validation_failed"},
			{"signup name too long", "POST", "/v1/auth/signup", map[string]any{"email": "c@example.com", "password": "correct horse battery", "first_name": long}, "", 422, "validation_failed"},
			{"signup bad language", "POST", "/v1/auth/signup", map[string]any{"email": "c@example.com", "password": "correct horse battery", "language": "not a tag"}, "", 422, "validation_failed"},
			{"signup bad avatar", "POST", "/v1/auth/signup", map[string]any{"email": "c@example.com", "password": "correct horse battery", "avatar_url": "javascript:alert(1)"}, "", 422, "validation_failed"},
			{"signup malformed JSON", "POST", "/v1/auth/signup", `{"email":`, "", 400, "malformed_json"},
			{"signup unknown field", "POST", "/v1/auth/signup", map[string]any{"email": "c@example.com", "password": "correct horse battery", "is_admin": true}, "", 400, "unknown_field"},
			{"signup wrong type", "POST", "/v1/auth/signup", map[string]any{"email": 42, "password": "correct horse battery"}, "", 400, "invalid_type"},
			{"signup missing password", "POST", "/v1/auth/signup", map[string]any{"email": "c@example.com"}, "", 422, "validation_failed"},
			{"signup empty body", "POST", "/v1/auth/signup", "", "", 400, "body_required"},
			{"signup oversized body", "POST", "/v1/auth/signup", `{"email":"` + strings.Repeat("a", 1<<20) + `"}`, "", 413, "body_too_large"},
			{"login by email", "POST", "/v1/auth/login", map[string]any{"identifier": "Ann@Example.com", "password": "correct horse battery"}, "", 200, ""},
			{"login by username", "POST", "/v1/auth/login", map[string]any{"identifier": "ANN", "password": "correct horse battery"}, "", 200, ""},
			{"login by phone", "POST", "/v1/auth/login", map[string]any{"identifier": "+14155550100", "password": "correct horse battery"}, "", 200, ""},
			{"login wrong password", "POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "wrong horse battery"}, "", 401, "invalid_credentials"},
			{"login unknown user", "POST", "/v1/auth/login", map[string]any{"identifier": "nobody@example.com", "password": "correct horse battery"}, "", 401, "invalid_credentials"},
			{"login empty identifier", "POST", "/v1/auth/login", map[string]any{"identifier": "", "password": "x"}, "", 401, "invalid_credentials"},
			{"login unknown field", "POST", "/v1/auth/login", map[string]any{"identifier": "ann", "password": "x", "remember": true}, "", 400, "unknown_field"},
			{"me without token", "GET", "/v1/me", nil, "", 401, "unauthenticated"},
			{"me with garbage token", "GET", "/v1/me", nil, "garbage", 401, "unauthenticated"},
			{"me with unknown token", "GET", "/v1/me", nil, "uds_" + strings.Repeat("A", 43), 401, "unauthenticated"},
			{"me", "GET", "/v1/me", nil, ann, 200, ""},
			{"patch me bad field", "PATCH", "/v1/me", map[string]any{"avatar_url": "ftp://x"}, ann, 422, "validation_failed"},
			{"patch me email refused", "PATCH", "/v1/me", map[string]any{"email": "new@example.com"}, ann, 400, "unknown_field"},
			{"patch me username taken", "PATCH", "/v1/me", map[string]any{"username": "BOB_1"}, ann, 409, "username_taken"},
			{"public profile", "GET", "/v1/users/" + annID, nil, "", 200, ""},
			{"public profile upper-case id", "GET", "/v1/users/" + strings.ToUpper(annID), nil, "", 200, ""},
			{"public profile bad id", "GET", "/v1/users/not-a-uuid", nil, "", 404, "user_not_found"},
			{"public profile unknown id", "GET", "/v1/users/01900000-0000-7000-8000-000000000000", nil, "", 404, "user_not_found"},
			{"unknown path", "GET", "/v1/nope", nil, "", 404, "not_found"},
		}
		runScenarios(t, c, tests)
		// Bad input changed nothing: only ann, bob_1 and the phone user exist.
		var n int
		if err := c.db.SQL().QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil || n != 3 {
			t.Fatalf("users = %d, %v; want 3", n, err)
		}
	})
}

// TestProblemFields checks the fields of validation and conflict problems.
func TestProblemFields(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		c.signup(map[string]any{"email": "ann@example.com"})
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "bad", "phone_number": "123", "password": "short"}, "")
		got := map[string]string{}
		for _, e := range r.Body["errors"].([]any) {
			f := e.(map[string]any)
			got[f["field"].(string)] = f["code"].(string)
			if f["message"] == "" {
				t.Errorf("field %v has no message", f["field"])
			}
		}
		want := map[string]string{"email": "invalid_email", "phone_number": "invalid_phone", "password": "password_too_short"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("errors[%s] = %q; want %q (all: %v)", k, got[k], v, got)
			}
		}
		r = c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		errs, _ := r.Body["errors"].([]any)
		if r.Status != 409 || len(errs) != 1 || errs[0].(map[string]any)["field"] != "email" {
			t.Fatalf("conflict = %d %s; want 409 naming the email field", r.Status, r.Raw)
		}
	})
}

// TestLoginSameAnswerForUnknownAndWrong checks that log-in does not tell an
// unknown identifier from a wrong password.
func TestLoginSameAnswerForUnknownAndWrong(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		c.signup(map[string]any{"email": "ann@example.com"})
		wrong := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "wrong password!"}, "")
		unknown := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "zed@example.com", "password": "wrong password!"}, "")
		if wrong.Status != http.StatusUnauthorized || string(wrong.Raw) != string(unknown.Raw) {
			t.Fatalf("wrong password: %d %s\nunknown user: %d %s", wrong.Status, wrong.Raw, unknown.Status, unknown.Raw)
		}
	})
}
