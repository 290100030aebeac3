package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFeaturedItems: the featured list is public and holds what is featured
// now, by position; an administrator or a key with items:feature features
// and unfeatures items (audited), anyone else is 403; GET /v1/items/{item}
// says featured: true for an item within its window.
func TestFeaturedItems(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		_, user := c.signup(map[string]any{"email": "ann@example.com"})
		r := c.do("POST", "/v1/admin/api-keys", map[string]any{"name": "cms", "permissions": []string{"items:feature"}}, adm)
		if r.Status != http.StatusCreated {
			t.Fatalf("create key = %d %s", r.Status, r.Raw)
		}
		key, keyID := str(r.Body, "key"), str(r.Body, "id")
		r = c.do("POST", "/v1/admin/api-keys", map[string]any{"name": "other", "permissions": []string{"users:read"}}, adm)
		otherKey := str(r.Body, "key")

		now := time.Now().UTC()
		hourAgo, inHour := now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)
		runScenarios(t, c, []scenario{
			{"anonymous", "PUT", "/v1/admin/featured-items/a", map[string]any{}, "", 401, "unauthenticated"},
			{"a user without the permission", "PUT", "/v1/admin/featured-items/a", map[string]any{}, user, 403, "forbidden"},
			{"a key without the permission", "PUT", "/v1/admin/featured-items/a", map[string]any{}, otherKey, 403, "forbidden"},
			{"unfeature without the permission", "DELETE", "/v1/admin/featured-items/a", nil, otherKey, 403, "forbidden"},
			{"bad slug", "PUT", "/v1/admin/featured-items/a%20b", map[string]any{}, key, 422, "invalid_item"},
			{"negative position", "PUT", "/v1/admin/featured-items/a", map[string]any{"position": -1}, key, 422, "validation_failed"},
			{"until before from", "PUT", "/v1/admin/featured-items/a", map[string]any{"featured_from": inHour, "featured_until": hourAgo}, key, 422, "validation_failed"},
			{"unknown field", "PUT", "/v1/admin/featured-items/a", map[string]any{"rank": 1}, key, 400, "unknown_field"},
		})
		var n int
		c.db.SQL().QueryRow(`SELECT count(*) FROM featured_items`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d featured rows after bad input", n)
		}

		r = c.do("PUT", "/v1/admin/featured-items/guide:v1", map[string]any{"position": 2, "featured_from": hourAgo, "featured_until": inHour}, key)
		if r.Status != http.StatusOK || str(r.Body, "item") != "guide:v1" || r.Body["position"] != float64(2) || str(r.Body, "featured_by") != keyID ||
			str(r.Body, "featured_from") != hourAgo || str(r.Body, "featured_until") != inHour {
			t.Fatalf("feature with a key = %d %s", r.Status, r.Raw)
		}
		r = c.do("PUT", "/v1/admin/featured-items/tool", map[string]any{"position": 1, "featured_by": "editors"}, adm)
		if r.Status != http.StatusOK || str(r.Body, "featured_by") != "editors" || r.Body["featured_from"] != nil || r.Body["featured_until"] != nil {
			t.Fatalf("feature as an administrator = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PUT", "/v1/admin/featured-items/later", map[string]any{"featured_from": inHour}, key); r.Status != http.StatusOK {
			t.Fatalf("feature later = %d %s", r.Status, r.Raw)
		}

		list := func() string {
			t.Helper()
			r := c.do("GET", "/v1/featured-items", nil, "")
			if r.Status != http.StatusOK {
				t.Fatalf("list = %d %s", r.Status, r.Raw)
			}
			var out []string
			for _, it := range r.Body["items"].([]any) {
				out = append(out, str(it.(map[string]any), "item"))
			}
			return strings.Join(out, ",")
		}
		if got := list(); got != "tool,guide:v1" {
			t.Fatalf("featured = %s, want tool,guide:v1", got)
		}
		for item, want := range map[string]bool{"guide:v1": true, "tool": true, "later": false, "never": false} {
			if r := c.do("GET", "/v1/items/"+item, nil, ""); r.Status != http.StatusOK || r.Body["featured"] != want {
				t.Errorf("GET /v1/items/%s = %d %s, want featured %v", item, r.Status, r.Raw, want)
			}
		}
		r = c.do("GET", "/v1/items?slugs=later,tool", nil, user)
		if items, _ := r.Body["items"].([]any); len(items) != 2 || items[0].(map[string]any)["featured"] != false || items[1].(map[string]any)["featured"] != true {
			t.Fatalf("GET /v1/items?slugs= = %d %s", r.Status, r.Raw)
		}

		// Move guide:v1 ahead; unfeature tool, twice.
		if r := c.do("PUT", "/v1/admin/featured-items/guide:v1", map[string]any{"position": 0}, key); r.Status != http.StatusOK {
			t.Fatalf("refeature = %d %s", r.Status, r.Raw)
		}
		for range 2 {
			if r := c.do("DELETE", "/v1/admin/featured-items/tool", nil, key); r.Status != http.StatusNoContent {
				t.Fatalf("unfeature = %d %s", r.Status, r.Raw)
			}
		}
		if got := list(); got != "guide:v1" {
			t.Fatalf("featured = %s, want guide:v1", got)
		}
		if r := c.do("GET", "/v1/items/tool", nil, ""); r.Body["featured"] != false {
			t.Fatalf("an unfeatured item = %s", r.Raw)
		}

		r = c.do("GET", "/v1/admin/activity-logs?action=admin.", nil, adm)
		if r.Status != http.StatusOK {
			t.Fatalf("trail = %d %s", r.Status, r.Raw)
		}
		var featured, unfeatured int
		for _, e := range r.Body["items"].([]any) {
			switch str(e.(map[string]any), "action") {
			case "admin.item_featured":
				featured++
			case "admin.item_unfeatured":
				unfeatured++
			}
		}
		if featured != 4 || unfeatured != 2 {
			t.Fatalf("trail: %d featured, %d unfeatured; want 4, 2: %s", featured, unfeatured, r.Raw)
		}
	})
}

// TestItemsAnswerKept: the anonymous answer of GET /v1/items?slugs= is
// kept, yet a vote, a view, a featuring and a featured window that opens
// between two reads all show at the next read; a signed-in caller's answer
// carries their own vote.
func TestItemsAnswerKept(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		adm := c.admin()
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		items := func(bearer string) []map[string]any {
			t.Helper()
			r := c.do("GET", "/v1/items?slugs=a,b,a", nil, bearer)
			list, _ := r.Body["items"].([]any)
			if r.Status != http.StatusOK || len(list) != 3 {
				t.Fatalf("GET /v1/items = %d %s", r.Status, r.Raw)
			}
			var out []map[string]any
			for _, it := range list {
				out = append(out, it.(map[string]any))
			}
			return out
		}
		if got := items(""); got[0]["upvotes"] != float64(0) || got[1]["featured"] != false || got[0]["my_vote"] != nil {
			t.Fatalf("first read = %v", got)
		}
		if r := c.do("PUT", "/v1/items/a/vote", map[string]any{"value": 1}, ann); r.Status != http.StatusNoContent {
			t.Fatalf("vote = %d %s", r.Status, r.Raw)
		}
		if got := items(""); got[0]["upvotes"] != float64(1) || got[2]["score"] != float64(1) {
			t.Errorf("after a vote = %v", got)
		}
		if got := items(ann); got[0]["my_vote"] != float64(1) || got[1]["my_vote"] != float64(0) {
			t.Errorf("ann's answer = %v", got)
		}
		if r := c.do("POST", "/v1/items/b/views", map[string]any{"anonymous_id": "visitor-1"}, ""); r.Status != http.StatusNoContent {
			t.Fatalf("view = %d %s", r.Status, r.Raw)
		}
		if got := items(""); got[1]["views_count"] != float64(1) {
			t.Errorf("after a view = %v", got)
		}
		// b is featured from 3 s on: within the cache's bound, so the
		// answer that says "not yet" is not kept.
		from := clk.now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
		if r := c.do("PUT", "/v1/admin/featured-items/b", map[string]any{"featured_from": from}, adm); r.Status != http.StatusOK {
			t.Fatalf("feature = %d %s", r.Status, r.Raw)
		}
		if got := items(""); got[1]["featured"] != false {
			t.Errorf("before the window = %v", got)
		}
		clk.advance(4 * time.Second)
		if got := items(""); got[1]["featured"] != true {
			t.Errorf("within the window = %v", got)
		}
	})
}
