package web_test

import (
	"testing"
	"time"
)

// TestModerationContract: reports, the review queue and actions over HTTP:
// who may do what, bad input, a removed comment is 404 to everyone but
// moderators, and a suspension stops the user's token at once.
func TestModerationContract(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		adm := c.admin()
		said := str(c.do("POST", "/v1/items/post/comments", map[string]any{"body": "buy now"}, bob).Body, "id")
		const none = "00000000-0000-7000-8000-000000000000"
		runScenarios(t, c, []scenario{
			{"report anonymously", "POST", "/v1/reports", map[string]any{"content_type": "item", "content_id": "post", "reason": "spam"}, "", 401, "unauthenticated"},
			{"bad content type", "POST", "/v1/reports", map[string]any{"content_type": "post", "content_id": "x", "reason": "spam"}, ann, 422, "validation_failed"},
			{"bad reason", "POST", "/v1/reports", map[string]any{"content_type": "item", "content_id": "x", "reason": "meh"}, ann, 422, "validation_failed"},
			{"no such comment", "POST", "/v1/reports", map[string]any{"content_type": "comment", "content_id": none, "reason": "spam"}, ann, 404, "content_not_found"},
			{"no such user", "POST", "/v1/reports", map[string]any{"content_type": "user", "content_id": none, "reason": "spam"}, ann, 404, "content_not_found"},
			{"queue without permission", "GET", "/v1/admin/reports", nil, ann, 403, "forbidden"},
			{"act without permission", "POST", "/v1/admin/moderation-actions", map[string]any{"user_id": bobID, "action": "ban", "reason": "x"}, ann, 403, "forbidden"},
			{"history without permission", "GET", "/v1/admin/users/" + bobID + "/moderation-history", nil, ann, 403, "forbidden"},
			{"act on no one", "POST", "/v1/admin/moderation-actions", map[string]any{"user_id": none, "action": "warn", "reason": "x"}, adm, 404, "user_not_found"},
			{"bad action", "POST", "/v1/admin/moderation-actions", map[string]any{"user_id": bobID, "action": "shame", "reason": "x"}, adm, 422, "validation_failed"},
			{"review no report", "PATCH", "/v1/admin/reports/" + none, map[string]any{"status": "dismissed"}, adm, 404, "report_not_found"},
		})
		r := c.do("POST", "/v1/reports", map[string]any{"content_type": "comment", "content_id": said, "reason": "spam", "details": "ads"}, ann)
		if r.Status != 201 || r.Body["status"] != "pending" || r.Body["reporter_id"] != nil || r.Body["content_id"] != said {
			t.Fatalf("report = %d %s", r.Status, r.Raw)
		}
		report := str(r.Body, "id")
		if r := c.do("POST", "/v1/reports", map[string]any{"content_type": "comment", "content_id": said, "reason": "abuse"}, ann); r.Status != 409 || r.code() != "already_reported" {
			t.Fatalf("again = %d %s", r.Status, r.Raw)
		}
		q := c.do("GET", "/v1/admin/reports?status=pending", nil, adm)
		if got := q.Body["reports"].([]any); q.Status != 200 || len(got) != 1 || got[0].(map[string]any)["reporter_id"] == nil {
			t.Fatalf("queue = %d %s", q.Status, q.Raw)
		}
		g := c.do("GET", "/v1/admin/reports?group=content", nil, adm)
		if got := g.Body["contents"].([]any); len(got) != 1 || got[0].(map[string]any)["reporters"] != float64(1) {
			t.Fatalf("grouped = %s", g.Raw)
		}
		a := c.do("POST", "/v1/admin/moderation-actions", map[string]any{"user_id": bobID, "action": "remove_content", "reason": "Spam.",
			"report_id": report, "content_type": "comment", "content_id": said}, adm)
		if a.Status != 201 || a.Body["action"] != "remove_content" || a.Body["performed_by"] == nil || a.Body["report_id"] != report {
			t.Fatalf("remove = %d %s", a.Status, a.Raw)
		}
		if r := c.do("GET", "/v1/items/post/comments", nil, bob); len(r.Body["comments"].([]any)) != 0 {
			t.Fatalf("the author still sees the removed comment: %s", r.Raw)
		}
		if r := c.do("PATCH", "/v1/items/post/comments/"+said, map[string]any{"body": "x"}, bob); r.Status != 404 {
			t.Fatalf("the author edits the removed comment: %d", r.Status)
		}
		if r := c.do("GET", "/v1/items/post/comments", nil, adm); len(r.Body["comments"].([]any)) != 1 || r.Body["comments"].([]any)[0].(map[string]any)["hidden"] != "removed" {
			t.Fatalf("a moderator sees %s", r.Raw)
		}
		mine := c.do("GET", "/v1/me/reports", nil, ann)
		if got := mine.Body["reports"].([]any)[0].(map[string]any); got["status"] != "resolved" || got["reviewed_by"] != nil {
			t.Fatalf("the reporter sees %s", mine.Raw)
		}
		if it := c.do("GET", "/v1/items/guide", nil, "").Body; it["hidden"] != nil {
			t.Fatalf("an item nobody hid = %v", it)
		}
		if r := c.do("POST", "/v1/admin/moderation-actions", map[string]any{"user_id": bobID, "action": "remove_content", "reason": "Scam.",
			"content_type": "item", "content_id": "guide"}, adm); r.Status != 201 {
			t.Fatalf("remove an item = %d %s", r.Status, r.Raw)
		}
		if it := c.do("GET", "/v1/items?slugs=post,guide", nil, "").Body["items"].([]any); it[0].(map[string]any)["hidden"] != nil || it[1].(map[string]any)["hidden"] != "removed" {
			t.Fatalf("items = %v", it)
		}
		until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		if r := c.do("POST", "/v1/admin/moderation-actions", map[string]any{"user_id": bobID, "action": "suspend", "reason": "Cool off.", "until": until}, adm); r.Status != 201 {
			t.Fatalf("suspend = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, bob); r.Status != 401 && r.Status != 403 {
			t.Fatalf("the suspended user's token still works: %d", r.Status)
		}
		lifts := func() (n int) {
			c.db.SQL().QueryRow(`SELECT count(*) FROM jobs WHERE key = $1 AND done_at IS NULL`, "moderation.lift:"+bobID).Scan(&n)
			return n
		}
		if lifts() != 1 {
			t.Fatalf("%d pending lifts of the timed suspension; want 1", lifts())
		}
		// An administrator who sets the status decides it alone: the lift goes.
		if r := c.do("PATCH", "/v1/admin/users/"+bobID, map[string]any{"status": "banned"}, adm); r.Status != 200 || lifts() != 0 {
			t.Fatalf("ban by an administrator = %d; %d pending lifts", r.Status, lifts())
		}
		h := c.do("GET", "/v1/admin/users/"+bobID+"/moderation-history", nil, adm)
		entries := h.Body["entries"].([]any)
		if h.Status != 200 || len(entries) != 3 || entries[0].(map[string]any)["action"] != "suspend" || entries[0].(map[string]any)["until"] == nil {
			t.Fatalf("history = %d %s", h.Status, h.Raw)
		}
	})
}
