package web_test

import (
	"strings"
	"testing"
)

// TestCommentsContract: comments over HTTP: bad input changes nothing,
// replies, pages, another user's comment is 404 to them, a moderator's
// edit, tombstones, and the item's comments_count.
func TestCommentsContract(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, tok := c.signup(map[string]any{"email": "writer@example.com"})
		_, other := c.signup(map[string]any{"email": "other@example.com"})
		adm := c.admin()
		const none = "00000000-0000-7000-8000-000000000000"
		runScenarios(t, c, []scenario{
			{"anonymously", "POST", "/v1/items/a/comments", map[string]any{"body": "hi"}, "", 401, "unauthenticated"},
			{"empty", "POST", "/v1/items/a/comments", map[string]any{"body": ""}, tok, 422, "validation_failed"},
			{"blank", "POST", "/v1/items/a/comments", map[string]any{"body": " \n "}, tok, 422, "validation_failed"},
			{"too long", "POST", "/v1/items/a/comments", map[string]any{"body": strings.Repeat("x", 10_001)}, tok, 422, "validation_failed"},
			{"no body", "POST", "/v1/items/a/comments", nil, tok, 400, "body_required"},
			{"bad slug", "POST", "/v1/items/a%20b/comments", map[string]any{"body": "hi"}, tok, 422, "invalid_item"},
			{"no such parent", "POST", "/v1/items/a/comments", map[string]any{"body": "hi", "parent_id": none}, tok, 404, "comment_not_found"},
			{"bad parent", "POST", "/v1/items/a/comments", map[string]any{"body": "hi", "parent_id": "x"}, tok, 404, "comment_not_found"},
			{"list bad slug", "GET", "/v1/items/a!/comments", nil, "", 422, "invalid_item"},
			{"list bad order", "GET", "/v1/items/a/comments?order=random", nil, "", 422, "validation_failed"},
			{"list bad cursor", "GET", "/v1/items/a/comments?cursor=zz", nil, "", 400, "invalid_cursor"},
			{"replies of none", "GET", "/v1/items/a/comments?parent_id=" + none, nil, "", 404, "comment_not_found"},
			{"edit none", "PATCH", "/v1/items/a/comments/" + none, map[string]any{"body": "x"}, tok, 404, "comment_not_found"},
			{"delete none", "DELETE", "/v1/items/a/comments/" + none, nil, tok, 404, "comment_not_found"},
		})
		for _, table := range []string{"comments", "client_profiles", "item_stats"} {
			var n int
			c.db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
			if n != 0 {
				t.Fatalf("%s has %d rows after bad input", table, n)
			}
		}
		r := c.do("POST", "/v1/items/guide/comments", map[string]any{"body": "<script>alert(1)</script>"}, tok)
		b := r.Body
		author, _ := b["author"].(map[string]any)
		if r.Status != 201 || b["body"] != "<script>alert(1)</script>" || b["item"] != "guide" || b["parent_id"] != nil || b["deleted"] != false ||
			author == nil || author["user_id"] == nil || b["edited_at"] != nil {
			t.Fatalf("post = %d %s", r.Status, r.Raw)
		}
		first := str(b, "id")
		reply := str(c.do("POST", "/v1/items/guide/comments", map[string]any{"body": "agreed", "parent_id": first}, other).Body, "id")
		c.do("POST", "/v1/items/guide/comments", map[string]any{"body": "second"}, other)
		runScenarios(t, c, []scenario{
			{"edit another's", "PATCH", "/v1/items/guide/comments/" + first, map[string]any{"body": "mine now"}, other, 404, "comment_not_found"},
			{"delete another's", "DELETE", "/v1/items/guide/comments/" + first, nil, other, 404, "comment_not_found"},
			{"edit under another item", "PATCH", "/v1/items/other/comments/" + first, map[string]any{"body": "x"}, tok, 404, "comment_not_found"},
			{"edit blank", "PATCH", "/v1/items/guide/comments/" + first, map[string]any{"body": ""}, tok, 422, "validation_failed"},
		})
		list := c.do("GET", "/v1/items/guide/comments?limit=1", nil, "")
		page := list.Body["comments"].([]any)
		if list.Status != 200 || len(page) != 1 || page[0].(map[string]any)["body"] != "second" || list.Body["next_cursor"] == nil {
			t.Fatalf("first page = %d %s", list.Status, list.Raw)
		}
		list = c.do("GET", "/v1/items/guide/comments?limit=1&cursor="+str(list.Body, "next_cursor"), nil, "")
		page = list.Body["comments"].([]any)
		if len(page) != 1 || page[0].(map[string]any)["id"] != first || page[0].(map[string]any)["replies_count"] != float64(1) || list.Body["next_cursor"] != nil {
			t.Fatalf("second page = %d %s", list.Status, list.Raw)
		}
		if r := c.do("PATCH", "/v1/items/guide/comments/"+first, map[string]any{"body": "edited"}, tok); r.Status != 200 || r.Body["body"] != "edited" || r.Body["edited_at"] == nil {
			t.Fatalf("edit = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PATCH", "/v1/items/guide/comments/"+reply, map[string]any{"body": "[moderated]"}, adm); r.Status != 200 || r.Body["body"] != "[moderated]" {
			t.Fatalf("moderator's edit = %d %s", r.Status, r.Raw)
		}
		if r := c.do("DELETE", "/v1/items/guide/comments/"+first, nil, tok); r.Status != 204 {
			t.Fatalf("delete = %d %s", r.Status, r.Raw)
		}
		list = c.do("GET", "/v1/items/guide/comments?order=oldest", nil, "")
		tomb := list.Body["comments"].([]any)[0].(map[string]any)
		if tomb["id"] != first || tomb["deleted"] != true || tomb["body"] != "" || tomb["author"] != nil {
			t.Fatalf("tombstone = %s", list.Raw)
		}
		replies := c.do("GET", "/v1/items/guide/comments?parent_id="+first, nil, "")
		if got := replies.Body["comments"].([]any); len(got) != 1 || got[0].(map[string]any)["body"] != "[moderated]" {
			t.Fatalf("replies = %s", replies.Raw)
		}
		if it := c.do("GET", "/v1/items/guide", nil, "").Body; it["comments_count"] != float64(2) {
			t.Fatalf("item = %v; want 2 comments", it)
		}
	})
}
