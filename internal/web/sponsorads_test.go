package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSponsorAds: a user submits an ad (201 pending, text as written) and
// lists their ads; a holder of sponsor_ads:review (a role's or an API
// key's) finds it in the queue and decides, the sponsor is notified, and
// the approved ad is in the public list within its window; everyone else
// is 401 or 403, and bad input is 422 or 404, writing nothing.
func TestSponsorAds(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		revID, rev := c.signup(map[string]any{"email": "rev@example.com"})
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "AD_REVIEWER", "permissions": []string{"sponsor_ads:review"}}, adm); r.Status != http.StatusCreated {
			t.Fatalf("create role = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PUT", "/v1/admin/users/"+revID+"/roles/AD_REVIEWER", nil, adm); r.Status != http.StatusNoContent {
			t.Fatalf("assign role = %d %s", r.Status, r.Raw)
		}
		r := c.do("POST", "/v1/admin/api-keys", map[string]any{"name": "ads", "permissions": []string{"sponsor_ads:review"}}, adm)
		key, keyID := str(r.Body, "key"), str(r.Body, "id")
		otherKey := str(c.do("POST", "/v1/admin/api-keys", map[string]any{"name": "other", "permissions": []string{"users:read"}}, adm).Body, "key")

		now := time.Now().UTC().Truncate(time.Second)
		hourAgo, inHour, inDay := now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format(time.RFC3339)
		body := func(change map[string]any) map[string]any {
			b := map[string]any{"item_slug": "guide:v1", "title": "Best guide", "target_url": "https://example.com/go", "starts_at": hourAgo, "ends_at": inHour}
			for k, v := range change {
				if v == nil {
					delete(b, k)
				} else {
					b[k] = v
				}
			}
			return b
		}
		missing := "/v1/admin/sponsor-ads/" + strings.Repeat("0", 8) + "-0000-7000-8000-000000000000"
		runScenarios(t, c, []scenario{
			{"anonymous submits", "POST", "/v1/me/sponsor-ads", body(nil), "", 401, "unauthenticated"},
			{"a key submits", "POST", "/v1/me/sponsor-ads", body(nil), key, 403, "user_required"},
			{"bad slug", "POST", "/v1/me/sponsor-ads", body(map[string]any{"item_slug": "a b"}), ann, 422, "validation_failed"},
			{"no title", "POST", "/v1/me/sponsor-ads", body(map[string]any{"title": nil}), ann, 422, "validation_failed"},
			{"long title", "POST", "/v1/me/sponsor-ads", body(map[string]any{"title": strings.Repeat("x", 201)}), ann, 422, "validation_failed"},
			{"javascript target", "POST", "/v1/me/sponsor-ads", body(map[string]any{"target_url": "javascript:alert(1)"}), ann, 422, "validation_failed"},
			{"image with userinfo", "POST", "/v1/me/sponsor-ads", body(map[string]any{"image_url": "https://u@example.com/a.png"}), ann, 422, "validation_failed"},
			{"ends before it starts", "POST", "/v1/me/sponsor-ads", body(map[string]any{"ends_at": hourAgo, "starts_at": inHour}), ann, 422, "validation_failed"},
			{"ended", "POST", "/v1/me/sponsor-ads", body(map[string]any{"starts_at": now.Add(-2 * time.Hour).Format(time.RFC3339), "ends_at": hourAgo}), ann, 422, "validation_failed"},
			{"no window", "POST", "/v1/me/sponsor-ads", body(map[string]any{"ends_at": nil}), ann, 422, "validation_failed"},
			{"unknown field", "POST", "/v1/me/sponsor-ads", body(map[string]any{"status": "approved"}), ann, 400, "unknown_field"},
			{"anonymous lists", "GET", "/v1/me/sponsor-ads", nil, "", 401, "unauthenticated"},
			{"anonymous reviews", "PATCH", missing, map[string]any{"status": "approved"}, "", 401, "unauthenticated"},
			{"a user without the permission reviews", "PATCH", missing, map[string]any{"status": "approved"}, ann, 403, "forbidden"},
			{"a key without the permission reviews", "PATCH", missing, map[string]any{"status": "approved"}, otherKey, 403, "forbidden"},
			{"a user without the permission lists", "GET", "/v1/admin/sponsor-ads", nil, ann, 403, "forbidden"},
			{"unknown ad", "PATCH", missing, map[string]any{"status": "approved"}, rev, 404, "sponsor_ad_not_found"},
			{"not an id", "PATCH", "/v1/admin/sponsor-ads/42", map[string]any{"status": "approved"}, rev, 404, "sponsor_ad_not_found"},
			{"back to pending", "PATCH", missing, map[string]any{"status": "pending"}, rev, 422, "validation_failed"},
			{"queue with a bad status", "GET", "/v1/admin/sponsor-ads?status=open", nil, rev, 422, "validation_failed"},
			{"active with a bad slug", "GET", "/v1/sponsor-ads/active?item=a%20b", nil, "", 422, "invalid_item"},
		})
		var n int
		c.db.SQL().QueryRow(`SELECT count(*) FROM sponsor_ads`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d sponsor ads after bad input", n)
		}
		r = c.do("POST", "/v1/me/sponsor-ads", body(map[string]any{"title": `<b>Best</b> "guide"`, "description": "<script>x()</script>", "image_url": "https://cdn.example.com/a.png"}), ann)
		if r.Status != http.StatusCreated || str(r.Body, "status") != "pending" || str(r.Body, "title") != `<b>Best</b> "guide"` || str(r.Body, "description") != "<script>x()</script>" ||
			str(r.Body, "item_slug") != "guide:v1" || str(r.Body, "image_url") != "https://cdn.example.com/a.png" || str(r.Body, "target_url") != "https://example.com/go" ||
			str(r.Body, "starts_at") != hourAgo || str(r.Body, "ends_at") != inHour || r.Body["review_note"] != nil || r.Body["reviewed_at"] != nil {
			t.Fatalf("submit = %d %s", r.Status, r.Raw)
		}
		if _, ok := r.Body["reviewed_by"]; ok {
			t.Fatalf("the sponsor sees who reviewed: %s", r.Raw)
		}
		adID := str(r.Body, "id")
		later := str(c.do("POST", "/v1/me/sponsor-ads", body(map[string]any{"item_slug": "tool", "starts_at": inHour, "ends_at": inDay}), ann).Body, "id")

		// The sponsor's list pages newest first.
		r = c.do("GET", "/v1/me/sponsor-ads?limit=1", nil, ann)
		if items, _ := r.Body["items"].([]any); r.Status != http.StatusOK || len(items) != 1 || str(items[0].(map[string]any), "id") != later || r.Body["next_cursor"] == nil {
			t.Fatalf("first page = %d %s", r.Status, r.Raw)
		}
		r = c.do("GET", "/v1/me/sponsor-ads?limit=1&cursor="+str(r.Body, "next_cursor"), nil, ann)
		if items, _ := r.Body["items"].([]any); len(items) != 1 || str(items[0].(map[string]any), "id") != adID || r.Body["next_cursor"] != nil {
			t.Fatalf("second page = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me/sponsor-ads", nil, rev); len(r.Body["items"].([]any)) != 0 {
			t.Fatalf("another user's list = %s", r.Raw)
		}

		r = c.do("GET", "/v1/admin/sponsor-ads?status=pending", nil, rev)
		if items, _ := r.Body["items"].([]any); r.Status != http.StatusOK || len(items) != 2 || str(items[1].(map[string]any), "id") != adID || str(items[1].(map[string]any), "user_id") != annID {
			t.Fatalf("queue = %d %s", r.Status, r.Raw)
		}
		active := func(query string) string {
			t.Helper()
			r := c.do("GET", "/v1/sponsor-ads/active"+query, nil, "")
			if r.Status != http.StatusOK {
				t.Fatalf("active = %d %s", r.Status, r.Raw)
			}
			var ids []string
			for _, it := range r.Body["items"].([]any) {
				ids = append(ids, str(it.(map[string]any), "id"))
			}
			return strings.Join(ids, ",")
		}
		if got := active(""); got != "" {
			t.Fatalf("active before review = %s", got)
		}

		r = c.do("PATCH", "/v1/admin/sponsor-ads/"+adID, map[string]any{"status": "approved", "review_note": "Welcome <3"}, rev)
		if r.Status != http.StatusOK || str(r.Body, "status") != "approved" || str(r.Body, "reviewed_by") != revID || str(r.Body, "review_note") != "Welcome <3" || r.Body["reviewed_at"] == nil {
			t.Fatalf("approve = %d %s", r.Status, r.Raw)
		}
		c.do("PATCH", "/v1/admin/sponsor-ads/"+later, map[string]any{"status": "approved"}, rev)
		if got := active(""); got != adID {
			t.Fatalf("active = %s; want %s (the other starts in an hour)", got, adID)
		}
		if got := active("?item=guide:v1"); got != adID {
			t.Fatalf("active for the item = %s", got)
		}
		if got := active("?item=tool"); got != "" {
			t.Fatalf("active for another item = %s", got)
		}
		r = c.do("GET", "/v1/sponsor-ads/active", nil, "")
		ad := r.Body["items"].([]any)[0].(map[string]any)
		for _, hidden := range []string{"user_id", "reviewed_by", "review_note", "status"} {
			if _, ok := ad[hidden]; ok {
				t.Errorf("the public list shows %s: %s", hidden, r.Raw)
			}
		}

		// A key changes the decision: reviewed by no user.
		r = c.do("PATCH", "/v1/admin/sponsor-ads/"+adID, map[string]any{"status": "rejected"}, key)
		if r.Status != http.StatusOK || str(r.Body, "status") != "rejected" || r.Body["reviewed_by"] != nil || r.Body["review_note"] != nil {
			t.Fatalf("reject with a key = %d %s", r.Status, r.Raw)
		}
		if got := active(""); got != "" {
			t.Fatalf("active after rejection = %s", got)
		}
		r = c.do("GET", "/v1/me/notifications", nil, ann)
		var told []string
		for _, it := range r.Body["items"].([]any) {
			m := it.(map[string]any)
			told = append(told, str(m, "type")+":"+str(m, "description"))
		}
		if got := strings.Join(told, ","); got != "sponsor_ad.rejected:,sponsor_ad.approved:,sponsor_ad.approved:Welcome <3" {
			t.Fatalf("the sponsor was told %s", got)
		}
		r = c.do("GET", "/v1/admin/activity-logs?action=sponsor_ad.reviewed&actor="+annID, nil, adm)
		var actors []string
		for _, it := range r.Body["items"].([]any) {
			m := it.(map[string]any)
			actors = append(actors, str(m, "actor_user_id")+"/"+str(m, "actor_api_key_id"))
		}
		if got := strings.Join(actors, ","); got != "/"+keyID+","+revID+"/,"+revID+"/" {
			t.Fatalf("review entries' actors = %s; %s", got, r.Raw)
		}
	})
}
