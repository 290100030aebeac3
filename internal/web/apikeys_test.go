package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestAPIKeys: an administrator makes a key, shown once; the key reaches
// the routes whose permission it carries, is 403 elsewhere and
// user_required on the user's own routes, never mints a stronger key, and
// is refused at once after its revocation, in this process and in another
// (PostgreSQL). What it does names it in the trail.
func TestAPIKeys(t *testing.T) {
	twoProcesses(t, func(t *testing.T, a, b *client) {
		adm := a.admin()
		annID, _ := a.signup(map[string]any{"email": "ann@example.com"})

		bad := a.do("POST", "/v1/admin/api-keys", map[string]any{"name": "bot", "permissions": []string{"users:fly"}}, adm)
		if bad.Status != http.StatusUnprocessableEntity || bad.code() != "validation_failed" {
			t.Fatalf("an unknown permission = %d %s", bad.Status, bad.Raw)
		}
		r := a.do("POST", "/v1/admin/api-keys", map[string]any{"name": " bot ", "permissions": []string{"users:read", "notifications:send", "api_keys:write", "users:read"}}, adm)
		if r.Status != http.StatusCreated || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		key, id := str(r.Body, "key"), str(r.Body, "id")
		perms, _ := r.Body["permissions"].([]any)
		if !strings.HasPrefix(key, "udk_") || len(key) != 47 || str(r.Body, "name") != "bot" || len(perms) != 3 || r.Body["revoked_at"] != nil {
			t.Fatalf("created key = %s", r.Raw)
		}
		list := a.do("GET", "/v1/admin/api-keys", nil, adm)
		if list.Status != http.StatusOK || strings.Contains(string(list.Raw), key) || !strings.Contains(string(list.Raw), id) {
			t.Fatalf("list = %d %s", list.Status, list.Raw)
		}

		for _, c := range []*client{a, b} {
			if got := c.do("GET", "/v1/admin/users/"+annID, nil, key); got.Status != http.StatusOK {
				t.Fatalf("a key with users:read = %d %s", got.Status, got.Raw)
			}
		}
		for path, want := range map[string]string{"/v1/me": "user_required", "/v1/me/sessions": "user_required", "/v1/admin/roles": "forbidden", "/v1/admin/api-keys": "forbidden"} {
			if got := a.do("GET", path, nil, key); got.Status != http.StatusForbidden || got.code() != want {
				t.Errorf("GET %s with a key = %d %s, want 403 %s", path, got.Status, got.Raw, want)
			}
		}
		if got := a.do("GET", "/v1/admin/users/"+annID, nil, "", "Cookie", "userd_session="+key); got.Status != http.StatusUnauthorized {
			t.Errorf("a key in the session cookie = %d %s", got.Status, got.Raw)
		}
		if got := a.do("PUT", "/v1/users/"+annID+"/follow", nil, key); got.Status != http.StatusForbidden || got.code() != "user_required" {
			t.Errorf("a key following = %d %s", got.Status, got.Raw)
		}
		sent := a.do("POST", "/v1/admin/notifications", map[string]any{"user_id": annID, "type": "info", "title": "From the app"}, key)
		if sent.Status != http.StatusCreated {
			t.Fatalf("a key with notifications:send = %d %s", sent.Status, sent.Raw)
		}
		// A key mints keys with what it carries, no more.
		if got := a.do("POST", "/v1/admin/api-keys", map[string]any{"name": "child", "permissions": []string{"users:write"}}, key); got.Status != http.StatusForbidden || got.code() != "insufficient_privilege" {
			t.Fatalf("a key minting a stronger key = %d %s", got.Status, got.Raw)
		}
		child := a.do("POST", "/v1/admin/api-keys", map[string]any{"name": "child", "permissions": []string{"users:read"}}, key)
		if child.Status != http.StatusCreated || child.Body["created_by"] != nil {
			t.Fatalf("a key minting a weaker key = %d %s", child.Status, child.Raw)
		}

		trail := a.do("GET", "/v1/admin/activity-logs?action=admin.", nil, adm)
		byKey := 0
		for _, e := range trail.Body["items"].([]any) {
			m := e.(map[string]any)
			if m["actor_type"] == "api_key" && m["actor_api_key_id"] == id && m["user_id"] == nil {
				byKey++
			}
		}
		if byKey != 2 { // the notification sent and the child key made
			t.Errorf("%d trail entries name the key as actor, want 2: %s", byKey, trail.Raw)
		}

		if got := a.do("DELETE", "/v1/admin/api-keys/"+id, nil, adm); got.Status != http.StatusNoContent {
			t.Fatalf("revoke = %d %s", got.Status, got.Raw)
		}
		settle(t, a, b, true, "revoked key", "/v1/admin/users/"+annID, key, func(r response) bool {
			return r.Status == http.StatusUnauthorized && r.code() == "unauthenticated"
		})
		if got := a.do("GET", "/v1/admin/users/"+annID, nil, str(child.Body, "key")); got.Status != http.StatusUnauthorized {
			t.Fatalf("the key that the revoked key made = %d %s", got.Status, got.Raw)
		}
		if got := a.do("DELETE", "/v1/admin/api-keys/"+id, nil, adm); got.Status != http.StatusNoContent {
			t.Fatalf("revoke again = %d %s", got.Status, got.Raw)
		}
		list = a.do("GET", "/v1/admin/api-keys", nil, adm)
		items := list.Body["items"].([]any)
		revoked := slices.IndexFunc(items, func(it any) bool {
			m := it.(map[string]any)
			return m["id"] == id && m["revoked_at"] != nil && m["last_used_at"] != nil
		})
		if len(items) != 2 || revoked < 0 {
			t.Fatalf("list after revocation = %s", list.Raw)
		}
	})
}
