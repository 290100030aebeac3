package web_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
	"github.com/userd/userd/internal/web"
)

// TestOpenAPIDocument checks that the served document is OpenAPI 3.1 and
// describes every route of the contract, and that /docs renders it.
func TestOpenAPIDocument(t *testing.T) {
	c := start(t, dbtest.Open(t, "sqlite"))
	r := c.do("GET", "/openapi.json", nil, "")
	if r.Status != 200 {
		t.Fatalf("/openapi.json = %d", r.Status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q; want 3.1.x", doc.OpenAPI)
	}
	for _, op := range []string{
		"get /healthz", "get /readyz", "post /v1/auth/signup", "post /v1/auth/login", "post /v1/auth/logout",
		"get /v1/me", "patch /v1/me", "delete /v1/me", "get /v1/users/{id}",
		"post /v1/auth/token", "post /v1/auth/password/forgot", "post /v1/auth/password/reset", "post /v1/auth/email/verify",
		"get /.well-known/jwks.json", "post /v1/me/password", "post /v1/me/email/verification", "get /v1/me/sessions",
		"delete /v1/me/sessions/{id}", "get /v1/admin/users", "post /v1/admin/users", "get /v1/admin/users/{id}",
		"patch /v1/admin/users/{id}", "delete /v1/admin/users/{id}", "put /v1/admin/users/{id}/roles/{role}",
		"delete /v1/admin/users/{id}/roles/{role}", "get /v1/admin/roles", "post /v1/admin/roles", "patch /v1/admin/roles/{id}",
		"delete /v1/admin/roles/{id}", "get /v1/admin/activity-logs", "post /v1/admin/notifications",
		"get /v1/me/dashboard-layout", "put /v1/me/dashboard-layout", "patch /v1/me/dashboard-layout", "get /v1/me/notifications", "get /v1/me/notifications/unread-count",
		"post /v1/me/notifications/{id}/read", "post /v1/me/notifications/read-all", "delete /v1/me/notifications/{id}",
		"get /v1/me/notifications/stream", "get /v1/me/referral", "get /v1/me/referral/referred-users", "put /v1/me/referral", "get /v1/me/synchronizations",
		"post /v1/me/synchronizations", "get /v1/me/synchronizations/{id}", "patch /v1/me/synchronizations/{id}",
		"delete /v1/me/synchronizations/{id}", "post /v1/me/synchronizations/{id}/complete", "get /v1/me/accounts",
		"post /v1/me/accounts", "get /v1/me/accounts/{id}", "patch /v1/me/accounts/{id}", "delete /v1/me/accounts/{id}",
		"get /v1/me/accounts/{id}/credentials/{credential_type}", "put /v1/me/accounts/{id}/credentials/{credential_type}",
		"delete /v1/me/accounts/{id}/credentials/{credential_type}", "post /v1/me/accounts/{id}/credentials/{credential_type}/reveal",
		"put /v1/users/{id}/follow", "delete /v1/users/{id}/follow", "get /v1/users/{id}/followers", "get /v1/users/{id}/following",
		"get /v1/me/export", "get /v1/auth/oauth/{provider}/start", "get /v1/auth/oauth/{provider}/callback", "post /v1/auth/mfa/verify",
		"post /v1/me/mfa/totp", "post /v1/me/mfa/totp/confirm", "delete /v1/me/mfa/totp", "post /v1/auth/passkeys/register/begin",
		"post /v1/auth/passkeys/register/finish", "post /v1/auth/passkeys/login/begin", "post /v1/auth/passkeys/login/finish",
		"get /v1/me/passkeys", "delete /v1/me/passkeys/{id}",
		"get /v1/admin/companies", "post /v1/admin/companies", "get /v1/admin/companies/{id}", "patch /v1/admin/companies/{id}",
		"delete /v1/admin/companies/{id}", "get /v1/admin/users/{id}/client-profile", "put /v1/admin/users/{id}/company",
		"get /v1/admin/integration-mappings", "post /v1/admin/integration-mappings", "delete /v1/admin/integration-mappings/{id}",
		"get /v1/admin/twenty-crm-config", "put /v1/admin/twenty-crm-config", "get /v1/admin/seed-status", "put /v1/admin/seed-status",
	} {
		method, path, _ := strings.Cut(op, " ")
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("the document lacks %s", op)
		}
	}
	if strings.Contains(string(r.Raw), `"$schema"`) {
		t.Error("the document advertises $schema links that the server does not serve")
	}
	page := c.do("GET", "/docs", nil, "")
	if page.Status != 200 || !strings.Contains(string(page.Raw), "/v1/auth/signup") || strings.Contains(string(page.Raw), "<script") {
		t.Fatalf("/docs = %d; want a self-contained page listing the routes", page.Status)
	}
}

// TestOpenAPIDeclaresRefusals: the operations that a rate limit counts
// declare 429, and the public ones that refuse a credential declare 401,
// so that generated clients know those problems.
func TestOpenAPIDeclaresRefusals(t *testing.T) {
	c := start(t, dbtest.Open(t, "sqlite"))
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(c.do("GET", "/openapi.json", nil, "").Raw, &doc); err != nil {
		t.Fatal(err)
	}
	declared := map[string]map[string]json.RawMessage{}
	for _, ops := range doc.Paths {
		for _, op := range ops {
			declared[op.OperationID] = op.Responses
		}
	}
	for id, statuses := range web.AlsoAnswers {
		responses, ok := declared[id]
		if !ok {
			t.Errorf("no operation %q", id)
		}
		for _, status := range statuses {
			if _, ok := responses[strconv.Itoa(status)]; !ok {
				t.Errorf("%s does not declare %d", id, status)
			}
		}
	}
	for id, status := range map[string]string{"login": "429", "refresh-token": "401", "vote": "429", "healthz": ""} {
		if _, ok := declared[id][status]; !ok && status != "" {
			t.Errorf("%s does not declare %s", id, status)
		}
		if _, ok := declared[id]["429"]; id == "healthz" && ok {
			t.Error("healthz declares a rate limit it does not have")
		}
	}
}
