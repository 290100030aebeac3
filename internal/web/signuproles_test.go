package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestSignupRoleHTTP keeps the HTTP contract of the roles a sign-up
// chooses (the rules are auth's and admin's package tests): 201 with the
// chosen role alone, 422 role_not_allowed with the field role for one that
// --signup-roles does not list, 409 last_role for the removal of a user's
// last role; and the document describes the body's role.
func TestSignupRoleHTTP(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{auth: auth.Config{SignupRoles: []string{"OWNER", "AGENT", "BROKER"}}})
		adm := c.admin()
		agentID, agent := c.signup(map[string]any{"email": "agent@example.com", "role": "AGENT"})
		if me := c.do("GET", "/v1/me", nil, agent); strings.Join(toStrings(me.Body["roles"]), ",") != "AGENT" {
			t.Fatalf("the roles of a sign-up as AGENT: %s", me.Raw)
		}
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "tc@example.com", "password": "correct horse battery", "role": "TC_ADMIN"}, "")
		if r.Status != http.StatusUnprocessableEntity || r.code() != "role_not_allowed" || !strings.Contains(string(r.Raw), `"field":"role"`) {
			t.Fatalf("a role not listed = %d %s; want 422 role_not_allowed on the field role", r.Status, r.Raw)
		}
		runScenarios(t, c, []scenario{
			{"the last role", "DELETE", "/v1/admin/users/" + agentID + "/roles/AGENT", nil, adm, http.StatusConflict, "last_role"},
			{"a role the user lacks", "DELETE", "/v1/admin/users/" + agentID + "/roles/OWNER", nil, adm, http.StatusNoContent, ""},
		})
		if me := c.do("GET", "/v1/me", nil, agent); strings.Join(toStrings(me.Body["roles"]), ",") != "AGENT" {
			t.Fatalf("the roles after the refused removal: %s", me.Raw)
		}
		if doc := c.do("GET", "/openapi.json", nil, ""); !strings.Contains(string(doc.Raw), "--signup-roles lists") {
			t.Error("the document does not describe the sign-up's role")
		}
	})
}
