package web_test

import (
	"strings"
	"testing"
)

// TestItemViews: POST /v1/items/{item}/views counts once per item, viewer
// and UTC day, a signed-in viewer apart from anonymous ones; bad input
// counts nothing.
func TestItemViews(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, tok := c.signup(map[string]any{"email": "viewer@example.com"})
		runScenarios(t, c, []scenario{
			{"bad slug", "POST", "/v1/items/a%20b/views", nil, "", 422, "invalid_item"},
			{"empty anonymous_id", "POST", "/v1/items/post-1/views", map[string]any{"anonymous_id": ""}, "", 422, "validation_failed"},
			{"long anonymous_id", "POST", "/v1/items/post-1/views", map[string]any{"anonymous_id": strings.Repeat("x", 201)}, "", 422, "validation_failed"},
			{"unprintable anonymous_id", "POST", "/v1/items/post-1/views", map[string]any{"anonymous_id": "a\tb"}, tok, 422, "validation_failed"},
			{"anonymous_id a number", "POST", "/v1/items/post-1/views", map[string]any{"anonymous_id": 7}, "", 400, "invalid_type"},
		})
		r := c.do("POST", "/v1/items/post-1/views", map[string]any{"anonymous_id": "a\tb"}, "")
		if errs, _ := r.Body["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "anonymous_id" {
			t.Fatalf("field errors: %s", r.Raw)
		}
		runScenarios(t, c, []scenario{
			{"anonymous_id", "POST", "/v1/items/post-1/views", map[string]any{"anonymous_id": "device-1"}, "", 204, ""},
			{"anonymous_id again", "POST", "/v1/items/post-1/views", map[string]any{"anonymous_id": "device-1"}, "", 204, ""},
			{"no body", "POST", "/v1/items/post-1/views", nil, "", 204, ""},
			{"no body again", "POST", "/v1/items/post-1/views", nil, "", 204, ""},
			{"empty body", "POST", "/v1/items/post-1/views", map[string]any{}, "", 204, ""},
			{"signed in", "POST", "/v1/items/post-1/views", map[string]any{"anonymous_id": "device-1"}, tok, 204, ""},
			{"signed in again", "POST", "/v1/items/post-1/views", nil, tok, 204, ""},
			{"another item", "POST", "/v1/items/post-2/views", nil, tok, 204, ""},
		})
		for item, want := range map[string]float64{"post-1": 3, "post-2": 1, "post-3": 0} {
			if r := c.do("GET", "/v1/items/"+item, nil, ""); r.Status != 200 || r.Body["views_count"] != want {
				t.Fatalf("%s = %d %s; want views_count %v", item, r.Status, r.Raw, want)
			}
		}
		var rows int
		c.db.SQL().QueryRow(`SELECT count(*) FROM item_views`).Scan(&rows)
		if rows != 4 {
			t.Fatalf("%d item_views rows; want 4", rows)
		}
	})
}
