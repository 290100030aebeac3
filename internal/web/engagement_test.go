package web_test

import (
	"strings"
	"testing"
)

// TestEngagementContract: items, votes, favorites and the client profile
// over HTTP, bad input first (it must change nothing).
func TestEngagementContract(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, tok := c.signup(map[string]any{"email": "voter@example.com"})
		_, other := c.signup(map[string]any{"email": "other@example.com"})
		long := strings.Repeat("x", 201)
		runScenarios(t, c, []scenario{
			{"profile before any", "GET", "/v1/me/client-profile", nil, tok, 404, "client_profile_not_found"},
			{"vote anonymously", "PUT", "/v1/items/a/vote", map[string]any{"value": 1}, "", 401, "unauthenticated"},
			{"favorite anonymously", "PUT", "/v1/items/a/favorite", nil, "", 401, "unauthenticated"},
			{"favorites anonymously", "GET", "/v1/me/favorites", nil, "", 401, "unauthenticated"},
			{"vote 2", "PUT", "/v1/items/a/vote", map[string]any{"value": 2}, tok, 422, "validation_failed"},
			{"vote 0", "PUT", "/v1/items/a/vote", map[string]any{"value": 0}, tok, 422, "validation_failed"},
			{"vote a string", "PUT", "/v1/items/a/vote", map[string]any{"value": "1"}, tok, 400, "invalid_type"},
			{"vote no body", "PUT", "/v1/items/a/vote", nil, tok, 400, "body_required"},
			{"vote bad slug", "PUT", "/v1/items/a%20b/vote", map[string]any{"value": 1}, tok, 422, "invalid_item"},
			{"vote long slug", "PUT", "/v1/items/" + long + "/vote", map[string]any{"value": 1}, tok, 422, "invalid_item"},
			{"favorite bad slug", "PUT", "/v1/items/%C3%A9/favorite", nil, tok, 422, "invalid_item"},
			{"unvote bad slug", "DELETE", "/v1/items/a!/vote", nil, tok, 422, "invalid_item"},
			{"read bad slug", "GET", "/v1/items/a%2Fb", nil, "", 422, "invalid_item"},
			{"read many, one bad", "GET", "/v1/items?slugs=a,b%20c", nil, "", 422, "invalid_item"},
			{"read many, empty one", "GET", "/v1/items?slugs=a,,b", nil, "", 422, "invalid_item"},
			{"read 101", "GET", "/v1/items?slugs=" + strings.Repeat("a,", 100) + "a", nil, "", 422, "too_many_items"},
			{"profile bad status", "PUT", "/v1/me/client-profile", map[string]any{"status": "banned"}, tok, 422, "validation_failed"},
			{"profile bad website", "PUT", "/v1/me/client-profile", map[string]any{"website": "javascript:alert(1)"}, tok, 422, "validation_failed"},
			{"profile long bio", "PUT", "/v1/me/client-profile", map[string]any{"bio": strings.Repeat("b", 2001)}, tok, 422, "validation_failed"},
			{"profile's plan is not the user's", "PUT", "/v1/me/client-profile", map[string]any{"plan": "gold"}, tok, 400, "unknown_field"},
			{"profile still none", "GET", "/v1/me/client-profile", nil, tok, 404, "client_profile_not_found"},
		})
		for _, table := range []string{"client_profiles", "votes", "favorites", "item_stats"} {
			var n int
			c.db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
			if n != 0 {
				t.Fatalf("%s has %d rows after bad input", table, n)
			}
		}
		runScenarios(t, c, []scenario{
			{"upvote", "PUT", "/v1/items/guide:v1.2/vote", map[string]any{"value": 1}, tok, 204, ""},
			{"upvote again", "PUT", "/v1/items/guide:v1.2/vote", map[string]any{"value": 1}, tok, 204, ""},
			{"other downvotes", "PUT", "/v1/items/guide:v1.2/vote", map[string]any{"value": -1}, other, 204, ""},
			{"favorite", "PUT", "/v1/items/guide:v1.2/favorite", nil, tok, 204, ""},
			{"favorite again", "PUT", "/v1/items/guide:v1.2/favorite", nil, tok, 204, ""},
			{"favorite another", "PUT", "/v1/items/tool_x/favorite", nil, tok, 204, ""},
			{"unvote none", "DELETE", "/v1/items/never/vote", nil, tok, 204, ""},
			{"unfavorite none", "DELETE", "/v1/items/never/favorite", nil, tok, 204, ""},
		})
		want := func(r response, up, down, favs float64) {
			t.Helper()
			b := r.Body
			if r.Status != 200 || b["upvotes"] != up || b["downvotes"] != down || b["score"] != up-down || b["favorites_count"] != favs ||
				b["comments_count"] != float64(0) || b["views_count"] != float64(0) || b["featured"] != false {
				t.Fatalf("item = %d %s; want %v up, %v down, %v favorites", r.Status, r.Raw, up, down, favs)
			}
		}
		r := c.do("GET", "/v1/items/guide:v1.2", nil, "")
		want(r, 1, 1, 1)
		if _, ok := r.Body["my_vote"]; ok || r.Body["favorited_by_me"] != nil {
			t.Fatalf("an anonymous caller was told their vote: %s", r.Raw)
		}
		r = c.do("GET", "/v1/items/guide:v1.2", nil, tok)
		if want(r, 1, 1, 1); r.Body["my_vote"] != float64(1) || r.Body["favorited_by_me"] != true || r.Body["item"] != "guide:v1.2" {
			t.Fatalf("as the voter: %s", r.Raw)
		}
		// Changing a vote moves it between the counts.
		c.do("PUT", "/v1/items/guide:v1.2/vote", map[string]any{"value": -1}, tok)
		want(c.do("GET", "/v1/items/guide:v1.2", nil, ""), 0, 2, 1)
		c.do("DELETE", "/v1/items/guide:v1.2/vote", nil, other)
		c.do("DELETE", "/v1/items/guide:v1.2/favorite", nil, tok)
		r = c.do("GET", "/v1/items/guide:v1.2", nil, tok)
		if want(r, 0, 1, 0); r.Body["my_vote"] != float64(-1) || r.Body["favorited_by_me"] != false {
			t.Fatalf("after changes: %s", r.Raw)
		}

		r = c.do("GET", "/v1/items?slugs=tool_x,nothing,guide:v1.2,tool_x", nil, tok)
		items, _ := r.Body["items"].([]any)
		if r.Status != 200 || len(items) != 4 {
			t.Fatalf("items = %d %s", r.Status, r.Raw)
		}
		for i, slug := range []string{"tool_x", "nothing", "guide:v1.2", "tool_x"} {
			if it := items[i].(map[string]any); it["item"] != slug {
				t.Fatalf("item %d = %v; want %s", i, it["item"], slug)
			}
		}
		if it := items[0].(map[string]any); it["favorites_count"] != float64(1) || it["favorited_by_me"] != true || it["my_vote"] != float64(0) {
			t.Fatalf("tool_x = %v", it)
		}

		c.do("PUT", "/v1/items/third/favorite", nil, tok)
		var seen []string
		cursor := ""
		for {
			r := c.do("GET", "/v1/me/favorites?limit=1"+cursor, nil, tok)
			if r.Status != 200 {
				t.Fatalf("favorites = %d %s", r.Status, r.Raw)
			}
			for _, it := range r.Body["items"].([]any) {
				seen = append(seen, it.(map[string]any)["item"].(string))
			}
			next, _ := r.Body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = "&cursor=" + next
		}
		if strings.Join(seen, ",") != "third,tool_x" {
			t.Fatalf("favorites = %v", seen)
		}

		r = c.do("GET", "/v1/me/client-profile", nil, tok)
		if r.Status != 200 || r.Body["status"] != "active" || r.Body["plan"] != "free" {
			t.Fatalf("profile made by the first vote = %d %s", r.Status, r.Raw)
		}
		id := r.Body["id"]
		r = c.do("PUT", "/v1/me/client-profile", map[string]any{"display_name": "Ada", "website": "https://ada.example/", "status": "inactive"}, tok)
		if r.Status != 200 || r.Body["id"] != id || r.Body["display_name"] != "Ada" || r.Body["status"] != "inactive" || r.Body["plan"] != "free" {
			t.Fatalf("put profile = %d %s", r.Status, r.Raw)
		}
		if r = c.do("GET", "/v1/me/client-profile", nil, tok); r.Body["website"] != "https://ada.example/" {
			t.Fatalf("profile = %s", r.Raw)
		}
	})
}
