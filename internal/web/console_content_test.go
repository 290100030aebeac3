package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/rbac"
)

// reportsOf reads the reports of a status through the API, by id.
func reportsOf(t *testing.T, c *client, adm, status string) map[string]map[string]any {
	t.Helper()
	r := c.do("GET", "/v1/admin/reports?status="+status, nil, adm)
	if r.Status != 200 {
		t.Fatalf("reports = %d %s", r.Status, r.Raw)
	}
	out := map[string]map[string]any{}
	for _, x := range r.Body["reports"].([]any) {
		m := x.(map[string]any)
		out[str(m, "id")] = m
	}
	return out
}

// TestConsoleModerationQueue: the open queue groups the reports by content,
// most reporters first, each with its reports; a review sets a report's
// status and note; removing the comment resolves the report it names;
// warning the author lands in their history; the other views list reports
// of a status a page at a time; each checked through the API.
func TestConsoleModerationQueue(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		catID, cat := c.signup(map[string]any{"email": "cat@example.com"})
		said := str(c.do("POST", "/v1/items/post/comments", map[string]any{"body": "buy now"}, bob).Body, "id")
		file := func(tok, kind, id, reason, details string) string {
			r := c.do("POST", "/v1/reports", map[string]any{"content_type": kind, "content_id": id, "reason": reason, "details": details}, tok)
			if r.Status != 201 {
				t.Fatalf("report = %d %s", r.Status, r.Raw)
			}
			return str(r.Body, "id")
		}
		first := file(ann, "comment", said, "spam", "links to a shop")
		second := file(cat, "comment", said, "abuse", "")
		file(ann, "user", bobID, "harassment", "")

		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/reports")
		comment, user := strings.Index(p.Body, "comment <code>"+said), strings.Index(p.Body, "user <code>"+bobID)
		if p.Status != 200 || comment < 0 || user < comment || !strings.Contains(p.Body, `<strong class="count">2</strong> reporters`) ||
			!strings.Contains(p.Body, "links to a shop") || !strings.Contains(p.Body, "/admin/users/"+catID) || !strings.Contains(p.Body, "/admin/users/"+annID) ||
			!strings.Contains(p.Body, `action="/admin/reports/act"`) || strings.Count(p.Body, `action="/admin/reports/`+first+`/review"`) != 1 {
			t.Fatalf("queue = %d %s", p.Status, p.Body)
		}
		if !strings.Contains(p.Body, `author <a href="/admin/users/`+bobID+`">`) {
			t.Errorf("the comment's group does not name its author")
		}

		p = b.post("/admin/reports/"+first+"/review", url.Values{"status": {"reviewed"}, "resolution_note": {"Looking into it"}, "back": {"content_type=comment&status=open"}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/reports?content_type=comment&done=reviewed&status=open" {
			t.Fatalf("review = %d %v %s", p.Status, p.Header, p.Body)
		}
		if got := reportsOf(t, c, adm, "reviewed")[first]; str(got, "resolution_note") != "Looking into it" {
			t.Fatalf("the reviewed report through the API: %v", got)
		}
		if p := b.get("/admin/reports?content_type=comment&done=reviewed&status=open"); !strings.Contains(p.Body, "The report is reviewed.") ||
			strings.Contains(p.Body, "user <code>") {
			t.Fatalf("the queue after the review: %s", p.Body)
		}

		p = b.post("/admin/reports/act", url.Values{"action": {"remove_content"}, "content_type": {"comment"}, "content_id": {said}, "user_id": {bobID},
			"reason": {"Spam."}, "report_id": {second}, "until": {""}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/reports?done=remove_content" {
			t.Fatalf("remove = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/items/post/comments", nil, ann); len(r.Body["comments"].([]any)) != 0 {
			t.Fatalf("the removed comment is still shown: %s", r.Raw)
		}
		if got := reportsOf(t, c, adm, "resolved")[second]; got == nil {
			t.Fatalf("the report the removal names is not resolved")
		}
		// The author's form sends the content too: only a content's action
		// takes it.
		p = b.post("/admin/reports/act", url.Values{"action": {"warn"}, "user_id": {bobID}, "reason": {"Mind the rules."}, "content_type": {"comment"}, "content_id": {said}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("warn = %d %s", p.Status, p.Body)
		}
		r := c.do("GET", "/v1/admin/users/"+bobID+"/moderation-history", nil, adm)
		if entries := r.Body["entries"].([]any); len(entries) != 2 || str(entries[0].(map[string]any), "action") != "warn" {
			t.Fatalf("bob's history = %s", r.Raw)
		}
		if p := b.post("/admin/reports/act", url.Values{"action": {"ban"}, "user_id": {"nobody"}, "reason": {"x"}}); p.Status != http.StatusNotFound ||
			!strings.Contains(p.Body, `href="/admin/reports"`) {
			t.Fatalf("act on nobody = %d %s", p.Status, p.Body)
		}

		p = b.get("/admin/reports?status=resolved")
		if p.Status != 200 || !strings.Contains(p.Body, "report-"+second) || strings.Contains(p.Body, "report-"+first) || !strings.Contains(p.Body, "<caption>Reports, newest first</caption>") {
			t.Fatalf("resolved = %d %s", p.Status, p.Body)
		}
		if p := b.get("/admin/reports?status=nope"); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Pick one of the status filter") {
			t.Fatalf("a bad view = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/reports/"+first+"/review", url.Values{"status": {"closed"}}); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a bad status = %d", p.Status)
		}
		if p := b.send("POST", "/admin/reports/"+first+"/review", url.Values{"status": {"dismissed"}}); p.Status != http.StatusForbidden {
			t.Fatalf("a review without the CSRF token = %d", p.Status)
		}
		if got := reportsOf(t, c, adm, "reviewed")[first]; got == nil {
			t.Fatalf("the refused reviews changed the report")
		}
	})
}

// TestConsoleReportsPages: the other views page with cursors like the
// API.
func TestConsoleReportsPages(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		c.admin()
		var last string
		for i := range 26 {
			_, tok := c.signup(map[string]any{"email": fmt.Sprintf("r%d@example.com", i)})
			r := c.do("POST", "/v1/reports", map[string]any{"content_type": "item", "content_id": "post", "reason": "spam"}, tok)
			if r.Status != 201 {
				t.Fatalf("report = %d %s", r.Status, r.Raw)
			}
			if i == 0 {
				last = str(r.Body, "id") // the oldest: on the second page
			}
		}
		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/reports?status=pending&content_type=item")
		next := regexp1(`href="(/admin/reports\?[^"]*cursor=[^"]+)" rel="next"`, p.Body)
		if strings.Count(p.Body, `<tr id="report-`) != 25 || strings.Contains(p.Body, "report-"+last) || next == "" {
			t.Fatalf("first page: %s", p.Body)
		}
		p = b.get(strings.ReplaceAll(next, "&amp;", "&"))
		if strings.Count(p.Body, `<tr id="report-`) != 1 || !strings.Contains(p.Body, "report-"+last) || strings.Contains(p.Body, `rel="next"`) ||
			!strings.Contains(p.Body, `<option selected>item</option>`) {
			t.Fatalf("second page: %s", p.Body)
		}
		if p := b.get("/admin/reports"); !strings.Contains(p.Body, `<strong class="count">26</strong> reporters`) ||
			strings.Count(p.Body, `<tr id="report-`) != 10 {
			t.Fatalf("the group shows its newest ten: %s", p.Body)
		}
	})
}

// TestConsoleSponsorAdsAndFeatured: the pending ads come first; approving
// one with a note reaches the API and the sponsor; an item is featured
// with a window, changed from its row, and removed.
func TestConsoleSponsorAdsAndFeatured(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		now := time.Now().UTC()
		ad := c.do("POST", "/v1/me/sponsor-ads", map[string]any{"item_slug": "guide", "title": "Best guide", "target_url": "https://example.com/go",
			"starts_at": now.Add(-time.Hour).Format(time.RFC3339), "ends_at": now.Add(24 * time.Hour).Format(time.RFC3339)}, ann)
		if ad.Status != 201 {
			t.Fatalf("submit = %d %s", ad.Status, ad.Raw)
		}
		id := str(ad.Body, "id")
		b := signedIn(t, c, "admin@example.com")
		p := b.get("/admin/sponsor-ads")
		if p.Status != 200 || !strings.Contains(p.Body, `<tr id="ad-`+id+`">`) || !strings.Contains(p.Body, "Best guide") || !strings.Contains(p.Body, `<option value="pending" selected>`) {
			t.Fatalf("pending ads = %d %s", p.Status, p.Body)
		}
		p = b.post("/admin/sponsor-ads/"+id+"/review", url.Values{"status": {"approved"}, "review_note": {"Looks good"}, "back": {"status=pending"}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/sponsor-ads?done=approved&status=pending" {
			t.Fatalf("approve = %d %s", p.Status, p.Body)
		}
		r := c.do("GET", "/v1/admin/sponsor-ads?status=approved", nil, adm)
		if items := r.Body["items"].([]any); len(items) != 1 || str(items[0].(map[string]any), "review_note") != "Looks good" {
			t.Fatalf("approved through the API: %s", r.Raw)
		}
		if r := c.do("GET", "/v1/sponsor-ads/active?item=guide", nil, ""); len(r.Body["items"].([]any)) != 1 {
			t.Fatalf("the approved ad is not shown: %s", r.Raw)
		}
		if p := b.get("/admin/sponsor-ads?done=approved&status=pending"); strings.Contains(p.Body, "ad-"+id) || !strings.Contains(p.Body, "The ad is approved") {
			t.Fatalf("pending after the approval: %s", p.Body)
		}
		if p := b.post("/admin/sponsor-ads/"+id+"/review", url.Values{"status": {"maybe"}}); p.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(p.Body, `href="/admin/sponsor-ads"`) {
			t.Fatalf("a bad decision = %d %s", p.Status, p.Body)
		}

		from := now.Add(48 * time.Hour).Truncate(time.Minute)
		p = b.post("/admin/featured", url.Values{"item": {"launch"}, "position": {"2"}, "featured_from": {from.Format("2006-01-02T15:04")}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/featured?done=featured" {
			t.Fatalf("feature = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/featured-items", nil, ""); len(r.Body["items"].([]any)) != 0 {
			t.Fatalf("featured before its window: %s", r.Raw)
		}
		p = b.get("/admin/featured?item=launch")
		if !strings.Contains(p.Body, `<td class="num">2</td><td><code>launch</code></td><td>`+from.Format("2006-01-02 15:04 UTC")) ||
			!strings.Contains(p.Body, `id="featured_from" name="featured_from" type="datetime-local" value="`+from.Format("2006-01-02T15:04")+`"`) {
			t.Fatalf("the featured page: %s", p.Body)
		}
		if p := b.post("/admin/featured", url.Values{"item": {"launch"}, "position": {"1"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("change = %d %s", p.Status, p.Body)
		}
		r = c.do("GET", "/v1/featured-items", nil, "")
		if items := r.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["position"] != float64(1) {
			t.Fatalf("featured now: %s", r.Raw)
		}
		if p := b.post("/admin/featured", url.Values{"item": {"launch"}, "featured_until": {"tomorrow"}}); p.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(p.Body, "Give a UTC time") {
			t.Fatalf("a bad time = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/featured/remove", url.Values{"item": {"launch"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("remove = %d %s", p.Status, p.Body)
		}
		if p := b.get("/admin/featured"); !strings.Contains(p.Body, "No featured item.") {
			t.Fatalf("after the removal: %s", p.Body)
		}
	})
}

// TestConsoleBillingAndCollections: a plan granted by hand to a user named
// by email and ended; the events not applied come first; the declarations,
// and one owner's records a page at a time, each read audited.
func TestConsoleBillingAndCollections(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		b := signedIn(t, c, "admin@example.com")
		ends := time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
		p := b.post("/admin/billing/grant", url.Values{"user": {"ANN@example.com"}, "plan": {"comp"}, "ends_at": {ends}, "back": {"provider=manual"}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/billing?done=granted&provider=manual" {
			t.Fatalf("grant = %d %s", p.Status, p.Body)
		}
		r := c.do("GET", "/v1/admin/subscriptions?provider=manual", nil, adm)
		subs := r.Body["subscriptions"].([]any)
		if len(subs) != 1 || str(subs[0].(map[string]any), "user_id") != annID || str(subs[0].(map[string]any), "status") != "active" {
			t.Fatalf("granted through the API: %s", r.Raw)
		}
		sub := str(subs[0].(map[string]any), "id")
		p = b.get("/admin/billing?provider=manual&done=granted")
		if p.Status != 200 || !strings.Contains(p.Body, "The plan is granted.") || !strings.Contains(p.Body, `action="/admin/billing/`+sub+`/end"`) {
			t.Fatalf("subscriptions = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/billing/grant", url.Values{"user": {"nobody@example.com"}, "plan": {"comp"}, "ends_at": {ends}}); p.Status != http.StatusNotFound {
			t.Fatalf("a grant to nobody = %d %s", p.Status, p.Body)
		}
		if p := b.post("/admin/billing/"+sub+"/end", url.Values{}); p.Status != http.StatusSeeOther {
			t.Fatalf("end = %d %s", p.Status, p.Body)
		}
		if r := c.do("GET", "/v1/admin/subscriptions?provider=manual", nil, adm); str(r.Body["subscriptions"].([]any)[0].(map[string]any), "status") != "canceled" {
			t.Fatalf("ended through the API: %s", r.Raw)
		}
		if p := b.get("/admin/billing?status=canceled"); !strings.Contains(p.Body, `<td class="status">canceled</td>`) || strings.Contains(p.Body, "/end\"") {
			t.Fatalf("canceled: %s", p.Body)
		}
		if p := b.get("/admin/billing?status=gone"); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a bad status = %d", p.Status)
		}

		const secret = "whsec_console"
		if r := c.do("PUT", "/v1/admin/payment-providers/stripe", map[string]any{"webhook_secret": secret}, adm); r.Status != 200 {
			t.Fatalf("secret = %d %s", r.Status, r.Raw)
		}
		if r := c.deliver(stripeEvent("evt_waits", "customer.subscription.created", map[string]any{"id": "sub_9", "customer": "cus_unknown", "status": "active"}),
			secret, time.Now()); r.Status != 200 {
			t.Fatalf("deliver = %d %s", r.Status, r.Raw)
		}
		if p := b.get("/admin/billing/events"); !strings.Contains(p.Body, "<summary>evt_waits</summary>") || !strings.Contains(p.Body, `&#34;customer&#34;: &#34;cus_unknown&#34;`) {
			t.Fatalf("events not applied: %s", p.Body)
		}
		if p := b.get("/admin/billing/events?applied=true"); strings.Contains(p.Body, "evt_waits") {
			t.Fatalf("applied events: %s", p.Body)
		}

		tags := map[string]any{"owner": "user", "schema": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"},
			"color": map[string]any{"type": "string"}}, "required": []string{"name"}}, "unique": [][]string{{"name"}}}
		if r := c.do("PUT", "/v1/admin/collections/tags", tags, adm); r.Status != 200 {
			t.Fatalf("declare = %d %s", r.Status, r.Raw)
		}
		var oldest string
		for i := range 26 {
			r := c.do("POST", "/v1/me/collections/tags/records", map[string]any{"data": map[string]any{"name": fmt.Sprintf("tag%02d", i)}}, ann)
			if r.Status != 201 {
				t.Fatalf("record = %d %s", r.Status, r.Raw)
			}
			if i == 0 {
				oldest = str(r.Body, "id")
			}
		}
		p = b.get("/admin/collections")
		if p.Status != 200 || !strings.Contains(p.Body, "<td><code>tags</code></td>") || !strings.Contains(p.Body, "<td>color, name *</td>") ||
			!strings.Contains(p.Body, `&#34;owner&#34;: &#34;user&#34;`) || strings.Contains(p.Body, "<caption>tags:") {
			t.Fatalf("collections = %d %s", p.Status, p.Body)
		}
		p = b.get("/admin/collections?collection=tags&owner=ann%40example.com")
		next := regexp1(`href="(/admin/collections\?[^"]*cursor=[^"]+)" rel="next"`, p.Body)
		if p.Status != 200 || strings.Count(p.Body, `&#34;name&#34;: &#34;tag`) != 25 || strings.Contains(p.Body, oldest) || next == "" {
			t.Fatalf("ann's tags = %d %s", p.Status, p.Body)
		}
		p = b.get(strings.ReplaceAll(next, "&amp;", "&"))
		if strings.Count(p.Body, `&#34;name&#34;: &#34;tag`) != 1 || !strings.Contains(p.Body, oldest) {
			t.Fatalf("ann's second page: %s", p.Body)
		}
		if p := b.get("/admin/collections?collection=tags&owner=" + annID); strings.Count(p.Body, `&#34;name&#34;: &#34;tag`) != 25 {
			t.Fatalf("ann's tags by id: %s", p.Body)
		}
		r = c.do("GET", "/v1/admin/activity-logs?action=collection.records_read", nil, adm)
		if entries := r.Body["items"].([]any); len(entries) != 3 || str(entries[0].(map[string]any), "target_id") != annID {
			t.Fatalf("the reads audited: %s", r.Raw)
		}
		if p := b.get("/admin/collections?collection=tags&owner=nobody"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "<td><code>tags</code></td>") {
			t.Fatalf("an unknown owner = %d %s", p.Status, p.Body)
		}
	})
}

// TestConsoleContentNarrow: an administrator who may review reports only
// sees the queue without the actions, none of the other pages, and their
// forged writes are refused; one who reads billing sees no grant form and
// cannot grant.
func TestConsoleContentNarrow(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		said := str(c.do("POST", "/v1/items/post/comments", map[string]any{"body": "buy now"}, bob).Body, "id")
		report := str(c.do("POST", "/v1/reports", map[string]any{"content_type": "comment", "content_id": said, "reason": "spam"}, ann).Body, "id")
		for name, perm := range map[string]string{"REVIEWER": "reports:review", "BOOKKEEPER": "billing:read"} {
			if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": name, "permissions": []string{perm}}, adm); r.Status != 201 {
				t.Fatalf("create %s = %d %s", name, r.Status, r.Raw)
			}
			id, _ := c.signup(map[string]any{"email": strings.ToLower(name) + "@example.com"})
			c.grant(id, name)
		}
		b := signedIn(t, c, "reviewer@example.com")
		p := b.get("/admin/reports")
		if p.Status != 200 || !strings.Contains(p.Body, `action="/admin/reports/`+report+`/review"`) || strings.Contains(p.Body, "/admin/reports/act") {
			t.Fatalf("the reviewer's queue = %d %s", p.Status, p.Body)
		}
		for _, path := range []string{"/admin/sponsor-ads", "/admin/featured", "/admin/billing", "/admin/collections"} {
			if strings.Contains(p.Body, `href="`+path+`"`) {
				t.Errorf("the navigation offers %s", path)
			}
			if p := b.get(path); p.Status != http.StatusForbidden {
				t.Errorf("GET %s = %d", path, p.Status)
			}
		}
		for path, form := range map[string]url.Values{
			"/admin/reports/act":                     {"action": {"ban"}, "user_id": {bobID}, "reason": {"forged"}},
			"/admin/sponsor-ads/" + said + "/review": {"status": {"approved"}},
			"/admin/featured":                        {"item": {"forged"}},
			"/admin/featured/remove":                 {"item": {"forged"}},
			"/admin/billing/grant":                   {"user": {bobID}, "plan": {"comp"}, "ends_at": {"2099-01-01"}},
		} {
			if p := b.post(path, form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "This needs the permission") {
				t.Errorf("forged %s = %d %s", path, p.Status, p.Body)
			}
		}
		if r := c.do("GET", "/v1/admin/users/"+bobID, nil, adm); str(r.Body, "status") != "active" {
			t.Fatalf("bob after the forged ban: %s", r.Raw)
		}
		if r := c.do("GET", "/v1/featured-items", nil, ""); len(r.Body["items"].([]any)) != 0 {
			t.Fatalf("featured after the forged write: %s", r.Raw)
		}

		k := signedIn(t, c, "bookkeeper@example.com")
		p = k.get("/admin/billing")
		if p.Status != 200 || strings.Contains(p.Body, "/admin/billing/grant") || !strings.Contains(p.Body, `href="/admin/billing/events"`) {
			t.Fatalf("the bookkeeper's billing = %d %s", p.Status, p.Body)
		}
		if p := k.post("/admin/billing/grant", url.Values{"user": {bobID}, "plan": {"comp"}, "ends_at": {"2099-01-01"}}); p.Status != http.StatusForbidden {
			t.Fatalf("the bookkeeper's grant = %d", p.Status)
		}
		if r := c.do("GET", "/v1/admin/subscriptions", nil, adm); len(r.Body["subscriptions"].([]any)) != 0 {
			t.Fatalf("subscriptions after the forged grant: %s", r.Raw)
		}
	})
}

// TestConsoleContentInBrowser drives Chromium through the content pages
// (testdata/console_content_browser.cjs): the moderation queue with two
// reports on one comment, a review, a sponsor ad approved, an item
// featured, billing and collections; then checks what it did through the
// API. Screenshots are named content-*.
func TestConsoleContentInBrowser(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adminID, adm := c.signup(map[string]any{"email": "root@example.com", "first_name": "Rita", "last_name": "Root"})
		c.grant(adminID, rbac.AdminRole)
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		_, cat := c.signup(map[string]any{"email": "cat@example.com"})
		said := str(c.do("POST", "/v1/items/launch-notes/comments", map[string]any{"body": "Cheap pills at example.net"}, bob).Body, "id")
		report := str(c.do("POST", "/v1/reports", map[string]any{"content_type": "comment", "content_id": said, "reason": "spam", "details": "A link to a shop"}, ann).Body, "id")
		c.do("POST", "/v1/reports", map[string]any{"content_type": "comment", "content_id": said, "reason": "abuse"}, cat)
		c.do("POST", "/v1/reports", map[string]any{"content_type": "user", "content_id": bobID, "reason": "harassment"}, cat)
		now := time.Now().UTC()
		ad := str(c.do("POST", "/v1/me/sponsor-ads", map[string]any{"item_slug": "launch-notes", "title": "Ann's course", "description": "Learn the basics",
			"target_url": "https://example.com/course", "starts_at": now.Format(time.RFC3339), "ends_at": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)}, ann).Body, "id")
		if r := c.do("PUT", "/v1/admin/featured-items/guide", map[string]any{"position": 2}, adm); r.Status != 200 {
			t.Fatalf("feature = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/admin/subscriptions", map[string]any{"user_id": annID, "plan": "comp", "ends_at": now.AddDate(0, 1, 0)}, adm); r.Status != 201 {
			t.Fatalf("grant = %d %s", r.Status, r.Raw)
		}
		tags := map[string]any{"owner": "user", "schema": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"},
			"color": map[string]any{"type": "string"}}, "required": []string{"name"}}, "unique": [][]string{{"name"}}}
		if r := c.do("PUT", "/v1/admin/collections/tags", tags, adm); r.Status != 200 {
			t.Fatalf("declare = %d %s", r.Status, r.Raw)
		}
		for _, name := range []string{"work", "home"} {
			c.do("POST", "/v1/me/collections/tags/records", map[string]any{"data": map[string]any{"name": name, "color": "blue"}}, ann)
		}
		plan := map[string]string{"admin": "root@example.com", "password": "correct horse battery", "comment": said, "report": report, "ad": ad,
			"item": "spring-sale", "collection": "tags", "owner": "ann@example.com"}
		if pages := consoleInBrowser(t, c, "console_content_browser.cjs", plan); len(pages) != 8 {
			t.Errorf("the browser checked %d pages: %v", len(pages), pages)
		}
		// What the browser did, through the API.
		if got := reportsOf(t, c, adm, "reviewed")[report]; str(got, "resolution_note") != "Checking the links" {
			t.Errorf("the reviewed report: %v", got)
		}
		r := c.do("GET", "/v1/admin/sponsor-ads?status=approved", nil, adm)
		if items := r.Body["items"].([]any); len(items) != 1 || str(items[0].(map[string]any), "id") != ad || str(items[0].(map[string]any), "review_note") != "Welcome aboard" {
			t.Errorf("the approved ad: %s", r.Raw)
		}
		r = c.do("GET", "/v1/featured-items", nil, "")
		if items := r.Body["items"].([]any); len(items) != 2 || str(items[0].(map[string]any), "item") != "spring-sale" {
			t.Errorf("the featured items: %s", r.Raw)
		}
	})
}

// regexp1 is the first group of pattern's first match in s, or "".
func regexp1(pattern, s string) string {
	if m := regexp.MustCompile(pattern).FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}
