package web_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// keysOf returns the keys of a list of permissions, with "*" after a
// builtin one.
func keysOf(t *testing.T, items any) []string {
	t.Helper()
	out := []string{}
	for _, it := range items.([]any) {
		p := it.(map[string]any)
		b, ok := p["builtin"].(bool)
		if !ok {
			t.Fatalf("permission without builtin: %v", p)
		}
		out = append(out, str(p, "key")+map[bool]string{true: "*"}[b])
	}
	return out
}

// TestAdminPermissionsHTTP: the application's permissions over HTTP (every
// rule and what each refusal leaves is admin's TestAdminPermissions): the
// statuses and codes of the list, the creation and the deletion; a role may
// carry a new key, and GET /v1/me of its holder lists it until a forced
// deletion takes it; each route needs its permission.
func TestAdminPermissionsHTTP(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adminID, adm := c.signup(map[string]any{"email": "admin@example.com"})
		c.grant(adminID, rbac.AdminRole)
		userID, user := c.signup(map[string]any{"email": "user@example.com"})

		r := c.do("GET", "/v1/admin/permissions", nil, adm)
		seeded := keysOf(t, r.Body["items"])
		if r.Status != 200 || !slices.Contains(seeded, "users:read*") || r.Body["next_cursor"] != nil {
			t.Fatalf("list = %d %s", r.Status, r.Raw)
		}
		for _, k := range seeded {
			if !strings.HasSuffix(k, "*") {
				t.Fatalf("a seeded permission is not builtin: %v", seeded)
			}
		}

		r = c.do("POST", "/v1/admin/permissions", map[string]any{"key": "Items:Create"}, adm)
		if errs, _ := r.Body["errors"].([]any); r.Status != 422 || r.code() != "validation_failed" || len(errs) != 1 ||
			str(errs[0].(map[string]any), "field") != "key" || str(errs[0].(map[string]any), "code") != "invalid_permission_key" {
			t.Fatalf("a bad key = %d %s", r.Status, r.Raw)
		}
		// userd's resources and items:feature are userd's, present or planned.
		for _, key := range []string{"users:read", "billing:read", "items:feature"} {
			r = c.do("POST", "/v1/admin/permissions", map[string]any{"key": key}, adm)
			if errs, _ := r.Body["errors"].([]any); r.Status != 422 || r.code() != "validation_failed" || len(errs) != 1 ||
				str(errs[0].(map[string]any), "field") != "key" || str(errs[0].(map[string]any), "code") != "reserved_permission" {
				t.Fatalf("a reserved key %s = %d %s", key, r.Status, r.Raw)
			}
		}
		r = c.do("POST", "/v1/admin/permissions", map[string]any{"key": "items:create", "description": "Create items"}, adm)
		if want := `{"key":"items:create","description":"Create items","builtin":false}`; r.Status != 201 || string(compact(t, r.Raw)) != want {
			t.Fatalf("create = %d %s; want 201 %s", r.Status, r.Raw, want)
		}
		runScenarios(t, c, []scenario{
			{"a taken key", "POST", "/v1/admin/permissions", map[string]any{"key": "items:create"}, adm, 409, "permission_exists"},
			{"a builtin key taken", "POST", "/v1/admin/permissions", map[string]any{"key": "users:read"}, adm, 422, "validation_failed"},
			{"a role with a key not defined", "POST", "/v1/admin/roles", map[string]any{"name": "MAKER", "permissions": []string{"items:delete"}}, adm, 422, "validation_failed"},
			{"a builtin key deleted", "DELETE", "/v1/admin/permissions/users:read", nil, adm, 409, "permission_builtin"},
			{"an unknown key deleted", "DELETE", "/v1/admin/permissions/items:delete", nil, adm, 404, "permission_not_found"},
			{"a malformed key deleted", "DELETE", "/v1/admin/permissions/Items", nil, adm, 404, "permission_not_found"},
			{"list without roles:read", "GET", "/v1/admin/permissions", nil, user, 403, "forbidden"},
			{"create without roles:write", "POST", "/v1/admin/permissions", map[string]any{"key": "items:read"}, user, 403, "forbidden"},
			{"delete without roles:write", "DELETE", "/v1/admin/permissions/items:create", nil, user, 403, "forbidden"},
		})
		r = c.do("GET", "/v1/admin/permissions", nil, adm)
		if got := keysOf(t, r.Body["items"]); !slices.Contains(got, "items:create") || len(got) != len(seeded)+1 {
			t.Fatalf("list after the creation = %v", got)
		}
		if got := keysOf(t, c.do("GET", "/v1/admin/roles", nil, adm).Body["permissions"]); !slices.Contains(got, "items:create") {
			t.Fatalf("the roles' list of permissions = %v", got)
		}

		r = c.do("POST", "/v1/admin/roles", map[string]any{"name": "MAKER", "permissions": []string{"items:create", "account:read"}}, adm)
		if r.Status != 201 || strings.Join(toStrings(r.Body["permissions"]), ",") != "account:read,items:create" {
			t.Fatalf("create MAKER = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PUT", "/v1/admin/users/"+userID+"/roles/MAKER", nil, adm); r.Status != 204 {
			t.Fatalf("assign MAKER = %d %s", r.Status, r.Raw)
		}
		if me := c.do("GET", "/v1/me", nil, user); strings.Join(toStrings(me.Body["permissions"]), ",") != "account:read,account:write,items:create" {
			t.Fatalf("GET /v1/me of MAKER's holder: permissions %v", me.Body["permissions"])
		}
		if r := c.do("DELETE", "/v1/admin/permissions/items:create", nil, adm); r.Status != 409 || r.code() != "permission_in_use" ||
			!strings.Contains(str(r.Body, "detail"), "Roles or API keys carry") {
			t.Fatalf("delete a carried key = %d %s", r.Status, r.Raw)
		}
		if r := c.do("DELETE", "/v1/admin/permissions/items:create?force=true", nil, adm); r.Status != 204 {
			t.Fatalf("forced deletion = %d %s", r.Status, r.Raw)
		}
		if me := c.do("GET", "/v1/me", nil, user); strings.Join(toStrings(me.Body["permissions"]), ",") != "account:read,account:write" {
			t.Fatalf("GET /v1/me after the deletion: permissions %v", me.Body["permissions"])
		}

		r = c.do("GET", "/v1/admin/activity-logs?action=permission.", nil, adm)
		var trail []string
		for _, it := range r.Body["items"].([]any) {
			e := it.(map[string]any)
			trail = append(trail, str(e, "action")+" "+str(e, "target_type")+" "+str(e, "target_id")+" "+str(e, "user_id"))
		}
		if want := []string{"permission.deleted permission items:create " + adminID, "permission.created permission items:create " + adminID}; !slices.Equal(trail, want) {
			t.Fatalf("trail %v; want %v", trail, want)
		}
	})
}

// TestPermissionRoutesDocumented: the three routes are in the OpenAPI
// document with the permission each needs.
func TestPermissionRoutesDocumented(t *testing.T) {
	c := start(t, dbtest.Open(t, "sqlite"))
	var doc struct {
		Paths map[string]map[string]struct {
			Permission string `json:"x-permission"`
		} `json:"paths"`
	}
	raw := c.do("GET", "/openapi.json", nil, "").Raw
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"while roles or live API keys carry it", "422 reserved_permission", "409 too_many_permissions"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the OpenAPI document does not say %q", want)
		}
	}
	for op, perm := range map[string]string{"get /v1/admin/permissions": "roles:read", "post /v1/admin/permissions": "roles:write",
		"delete /v1/admin/permissions/{key}": "roles:write"} {
		method, path, _ := strings.Cut(op, " ")
		if got, ok := doc.Paths[path][method]; !ok || got.Permission != perm {
			t.Errorf("%s: documented %v with %q; want %q", op, ok, got.Permission, perm)
		}
	}
}

// compact returns raw JSON without insignificant space.
func compact(t *testing.T, raw []byte) []byte {
	t.Helper()
	var v json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}
