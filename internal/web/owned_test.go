package web_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestDashboardLayout: defaults, conditional writes, validation.
func TestDashboardLayout(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		_, bob := c.signup(map[string]any{"email": "bob@example.com"})
		r := c.do("GET", "/v1/me/dashboard-layout", nil, tok)
		if r.Status != 200 || r.Header.Get("ETag") != `"0"` || strings.TrimSpace(string(r.Raw)) != `{"desktop":[],"mobile":[],"updated_at":null}` {
			t.Fatalf("default = %d %s %s", r.Status, r.Header.Get("ETag"), r.Raw)
		}
		put := func(tok, ifMatch string, body any) response {
			return c.do("PUT", "/v1/me/dashboard-layout", body, tok, "If-Match", ifMatch)
		}
		r = put(tok, `"0"`, map[string]any{"desktop": []any{map[string]any{"id": "pnl", "x": 0, "w": 6}}})
		if r.Status != 200 || r.Header.Get("ETag") != `"1"` || str(r.Body, "updated_at") == "" {
			t.Fatalf("first put = %d %s", r.Status, r.Raw)
		}
		if r := put(tok, `"0"`, map[string]any{"desktop": []any{}}); r.Status != 412 || r.code() != "precondition_failed" {
			t.Fatalf("stale put = %d %s", r.Status, r.Raw)
		}
		for name, body := range map[string]any{
			"not an array":      map[string]any{"desktop": map[string]any{"a": 1}},
			"array of numbers":  map[string]any{"mobile": []any{1, 2}},
			"array with a null": map[string]any{"mobile": []any{nil}},
			"too large":         map[string]any{"desktop": []any{map[string]any{"blob": strings.Repeat("x", 300<<10)}}},
		} {
			if r := put(tok, `"1"`, body); r.Status != 422 {
				t.Errorf("%s = %d %s", name, r.Status, r.Raw)
			}
		}
		if r := put(tok, `"abc"`, map[string]any{}); r.Status != 412 {
			t.Errorf("garbage If-Match = %d", r.Status)
		}
		if r := c.do("GET", "/v1/me/dashboard-layout", nil, tok); r.Header.Get("ETag") != `"1"` || !strings.Contains(string(r.Raw), `"pnl"`) {
			t.Fatalf("after refused writes = %s %s", r.Header.Get("ETag"), r.Raw)
		}
		if r := c.do("GET", "/v1/me/dashboard-layout", nil, bob); r.Header.Get("ETag") != `"0"` {
			t.Fatal("another user's layout is shared")
		}
		if r := put(tok, "", map[string]any{"mobile": []any{map[string]any{"id": "m"}}}); r.Status != 200 || r.Header.Get("ETag") != `"2"` || !strings.Contains(string(r.Raw), `"desktop":[]`) {
			t.Fatalf("unconditional put = %d %s", r.Status, r.Raw)
		}
		// PATCH changes one layout and keeps the other.
		patch := func(ifMatch string, body any) response {
			return c.do("PATCH", "/v1/me/dashboard-layout", body, tok, "If-Match", ifMatch)
		}
		r = patch(`"2"`, map[string]any{"desktop": []any{map[string]any{"id": "d"}}})
		if r.Status != 200 || r.Header.Get("ETag") != `"3"` || !strings.Contains(string(r.Raw), `"desktop":[{"id":"d"}],"mobile":[{"id":"m"}]`) {
			t.Fatalf("patch = %d %s %s", r.Status, r.Header.Get("ETag"), r.Raw)
		}
		if r := patch(`"2"`, map[string]any{"mobile": []any{}}); r.Status != 412 {
			t.Fatalf("stale patch = %d %s", r.Status, r.Raw)
		}
		if r := patch("", map[string]any{}); r.Status != 422 || r.code() != "validation_failed" {
			t.Fatalf("empty patch = %d %s", r.Status, r.Raw)
		}
		if r := patch("", map[string]any{"mobile": nil}); r.Status != 200 || r.Header.Get("ETag") != `"4"` || !strings.Contains(string(r.Raw), `"desktop":[{"id":"d"}],"mobile":[]`) {
			t.Fatalf("patch emptying mobile = %d %s", r.Status, r.Raw)
		}
	})
}

// TestConcurrentLayoutPuts: many writers with the same If-Match: exactly
// one wins, the others get 412, and the stored version counts one write.
func TestConcurrentLayoutPuts(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		for _, etag := range []string{`"0"`, `"1"`} { // the creating write, then an update
			const n = 12
			codes := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					codes[i] = c.do("PUT", "/v1/me/dashboard-layout", map[string]any{"desktop": []any{map[string]any{"writer": i}}}, tok, "If-Match", etag).Status
				})
			}
			wg.Wait()
			won := 0
			for _, code := range codes {
				switch code {
				case 200:
					won++
				case 412:
				default:
					t.Fatalf("If-Match %s: status %d", etag, code)
				}
			}
			if won != 1 {
				t.Fatalf("If-Match %s: %d writers won; want 1 (%v)", etag, won, codes)
			}
		}
		if r := c.do("GET", "/v1/me/dashboard-layout", nil, tok); r.Header.Get("ETag") != `"2"` {
			t.Fatalf("version after two contested writes = %s", r.Header.Get("ETag"))
		}
	})
}

// admin makes a user with the ADMIN role and returns their token.
func (c *client) admin() string {
	c.t.Helper()
	id, tok := c.signup(map[string]any{"email": "admin@example.com"})
	c.grant(id, rbac.AdminRole)
	return tok
}

// TestNotifications: sending, listing, counting, reading, deleting, and
// another user's ids.
func TestNotifications(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		send := func(body map[string]any) response { return c.do("POST", "/v1/admin/notifications", body, adm) }
		for i := range 5 {
			r := send(map[string]any{"user_id": annID, "type": "test.ping", "title": fmt.Sprintf("ping %d", i), "data": map[string]any{"n": i}})
			if r.Status != 201 {
				t.Fatalf("send = %d %s", r.Status, r.Raw)
			}
		}
		if r := send(map[string]any{"user_ids": []string{annID, bobID, annID}, "type": "news", "title": "Hello both"}); r.Status != 201 || len(r.Body["items"].([]any)) != 2 {
			t.Fatalf("send to many = %d %s", r.Status, r.Raw)
		}
		for name, body := range map[string]map[string]any{
			"no recipient":  {"type": "x", "title": "t"},
			"unknown user":  {"user_id": "01900000-0000-7000-8000-000000000000", "type": "x", "title": "t"},
			"bad user id":   {"user_id": "nope", "type": "x", "title": "t"},
			"bad type":      {"user_id": annID, "type": "Has Spaces", "title": "t"},
			"empty title":   {"user_id": annID, "type": "x", "title": " "},
			"data is array": {"user_id": annID, "type": "x", "title": "t", "data": []int{1}},
		} {
			if r := send(body); r.Status != 422 {
				t.Errorf("%s = %d %s", name, r.Status, r.Raw)
			}
		}
		if r := c.do("POST", "/v1/admin/notifications", map[string]any{"user_id": bobID, "type": "x", "title": "t"}, ann); r.Status != 403 {
			t.Fatalf("an end user sending = %d", r.Status)
		}
		count := func(tok string) float64 {
			return c.do("GET", "/v1/me/notifications/unread-count", nil, tok).Body["count"].(float64)
		}
		if count(ann) != 6 || count(bob) != 1 {
			t.Fatalf("unread: ann %v, bob %v", count(ann), count(bob))
		}
		r := c.do("GET", "/v1/me/notifications?limit=4", nil, ann)
		items := r.Body["items"].([]any)
		if len(items) != 4 || str(items[0].(map[string]any), "title") != "Hello both" || str(items[1].(map[string]any), "title") != "ping 4" {
			t.Fatalf("newest first = %s", r.Raw)
		}
		second := c.do("GET", "/v1/me/notifications?limit=4&cursor="+r.Body["next_cursor"].(string), nil, ann)
		if len(second.Body["items"].([]any)) != 2 || second.Body["next_cursor"] != nil {
			t.Fatalf("page 2 = %s", second.Raw)
		}
		first := str(items[0].(map[string]any), "id")
		if r := c.do("POST", "/v1/me/notifications/"+first+"/read", nil, bob); r.Status != 404 {
			t.Fatalf("bob reading ann's = %d", r.Status)
		}
		if r := c.do("DELETE", "/v1/me/notifications/"+first, nil, bob); r.Status != 404 {
			t.Fatalf("bob deleting ann's = %d", r.Status)
		}
		if r := c.do("POST", "/v1/me/notifications/"+first+"/read", nil, ann); r.Status != 204 {
			t.Fatalf("read = %d", r.Status)
		}
		if count(ann) != 5 {
			t.Fatalf("unread after one read = %v", count(ann))
		}
		unread := c.do("GET", "/v1/me/notifications?unread=true&limit=100", nil, ann)
		if len(unread.Body["items"].([]any)) != 5 {
			t.Fatalf("unread list = %d", len(unread.Body["items"].([]any)))
		}
		if r := c.do("POST", "/v1/me/notifications/read-all", nil, ann); r.Status != 200 || r.Body["count"] != float64(5) {
			t.Fatalf("read-all = %d %s", r.Status, r.Raw)
		}
		if count(ann) != 0 || count(bob) != 1 {
			t.Fatal("read-all touched another user")
		}
		if r := c.do("DELETE", "/v1/me/notifications/"+first, nil, ann); r.Status != 204 {
			t.Fatalf("delete = %d", r.Status)
		}
		if r := c.do("DELETE", "/v1/me/notifications/"+first, nil, ann); r.Status != 404 {
			t.Fatalf("delete twice = %d", r.Status)
		}
		// userd's own events notify too.
		c.do("POST", "/v1/me/password", map[string]any{"current_password": "correct horse battery", "new_password": "a brand new secret"}, bob)
		if r := c.do("GET", "/v1/me/notifications?unread=true", nil, bob); !strings.Contains(string(r.Raw), "security.password_changed") {
			t.Fatalf("password change did not notify: %s", r.Raw)
		}
	})
}

// TestUnreadCountRace: sends, reads of one notification by many requests,
// read-all and deletes collide; the stored count ends equal to the unread
// notifications that exist.
func TestUnreadCountRace(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		var ids []string
		for i := range 6 {
			r := c.do("POST", "/v1/admin/notifications", map[string]any{"user_id": annID, "type": "test.ping", "title": fmt.Sprintf("ping %d", i)}, adm)
			ids = append(ids, str(r.Body["items"].([]any)[0].(map[string]any), "id"))
		}
		var wg sync.WaitGroup
		for range 8 { // one notification read eight times at once counts once
			wg.Go(func() { c.do("POST", "/v1/me/notifications/"+ids[0]+"/read", nil, ann) })
		}
		for range 4 { // read and deleted at once
			wg.Go(func() { c.do("POST", "/v1/me/notifications/"+ids[1]+"/read", nil, ann) })
			wg.Go(func() { c.do("DELETE", "/v1/me/notifications/"+ids[1], nil, ann) })
		}
		for range 3 {
			wg.Go(func() { c.do("DELETE", "/v1/me/notifications/"+ids[2], nil, ann) })
		}
		for i := range 10 {
			wg.Go(func() {
				if r := c.do("POST", "/v1/admin/notifications", map[string]any{"user_id": annID, "type": "test.burst", "title": fmt.Sprintf("burst %d", i)}, adm); r.Status != 201 {
					t.Errorf("send = %d %s", r.Status, r.Raw)
				}
			})
		}
		wg.Wait()
		// 6 - ids[0] - ids[1] - ids[2] + 10
		if n := c.do("GET", "/v1/me/notifications/unread-count", nil, ann).Body["count"]; n != float64(13) {
			t.Fatalf("unread count after the race = %v, want 13", n)
		}
		if r := c.do("GET", "/v1/me/notifications?unread=true&limit=100", nil, ann); len(r.Body["items"].([]any)) != 13 {
			t.Fatalf("unread listed = %d, want 13", len(r.Body["items"].([]any)))
		}
		for range 3 {
			wg.Go(func() { c.do("POST", "/v1/me/notifications/read-all", nil, ann) })
			wg.Go(func() { c.do("POST", "/v1/me/notifications/"+ids[3]+"/read", nil, ann) })
		}
		wg.Wait()
		if n := c.do("GET", "/v1/me/notifications/unread-count", nil, ann).Body["count"]; n != float64(0) {
			t.Fatalf("unread count after read-all races = %v", n)
		}
	})
}

// sseEvent is one event read from a stream.
type sseEvent struct{ id, event, data string }

// openStream opens the notification stream and returns its events.
func openStream(t *testing.T, url, tok, lastID string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/v1/me/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return readEvents(res.Body), cancel
}

func nextEvent(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the stream closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return sseEvent{}
}

// TestNotificationStream: a stream gets each new notification; a second
// server on the same database (another userd process) delivers it too; a
// reconnect with Last-Event-ID gets what it missed.
func TestNotificationStream(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			a, b := processes(t, engine)
			adm := a.admin()
			annID, ann := a.signup(map[string]any{"email": "ann@example.com"})
			_, bob := a.signup(map[string]any{"email": "bob@example.com"})
			events, stop := openStream(t, b.url, ann, "")
			bobEvents, stopBob := openStream(t, b.url, bob, "")
			defer stopBob()
			var ids []string
			for i := range 3 {
				r := a.do("POST", "/v1/admin/notifications", map[string]any{"user_id": annID, "type": "live", "title": fmt.Sprintf("live %d", i)}, adm)
				sent := r.Body["items"].([]any)[0].(map[string]any)
				ev := nextEvent(t, events)
				if ev.event != "notification" || ev.id != str(sent, "id") || !strings.Contains(ev.data, fmt.Sprintf(`"title":"live %d"`, i)) {
					t.Fatalf("event %d = %+v; want notification %s", i, ev, str(sent, "id"))
				}
				ids = append(ids, ev.id)
			}
			stop()
			// While disconnected, two more arrive.
			for i := 3; i < 5; i++ {
				a.do("POST", "/v1/admin/notifications", map[string]any{"user_id": annID, "type": "live", "title": fmt.Sprintf("live %d", i)}, adm)
			}
			events, stop = openStream(t, b.url, ann, ids[2])
			defer stop()
			for i := 3; i < 5; i++ {
				if ev := nextEvent(t, events); !strings.Contains(ev.data, fmt.Sprintf(`"title":"live %d"`, i)) {
					t.Fatalf("resumed event = %+v; want live %d", ev, i)
				}
			}
			a.do("POST", "/v1/admin/notifications", map[string]any{"user_id": annID, "type": "live", "title": "live 5"}, adm)
			if ev := nextEvent(t, events); !strings.Contains(ev.data, `"title":"live 5"`) {
				t.Fatalf("live after resume = %+v", ev)
			}
			select {
			case ev := <-bobEvents:
				t.Fatalf("bob's stream got %+v", ev)
			default:
			}
			if r := b.do("GET", "/v1/me/notifications/stream", nil, ann, "Last-Event-ID", "garbage"); r.Status != 422 {
				t.Fatalf("bad Last-Event-ID = %d", r.Status)
			}
			if r := b.do("GET", "/v1/me/notifications/stream", nil, ""); r.Status != 401 {
				t.Fatalf("anonymous stream = %d", r.Status)
			}
		})
	}
}

// TestReferrals: a slug made on first use, sign-ups through it, a chosen
// slug, and what must be refused.
func TestReferrals(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		// Concurrent first reads make one referral.
		slugs := make([]string, 6)
		var wg sync.WaitGroup
		for i := range slugs {
			wg.Go(func() { slugs[i] = str(c.do("GET", "/v1/me/referral", nil, ann).Body, "slug") })
		}
		wg.Wait()
		for _, s := range slugs {
			if s == "" || s != slugs[0] {
				t.Fatalf("concurrent first reads gave %v", slugs)
			}
		}
		var n int
		c.db.SQL().QueryRow(`SELECT count(*) FROM referrals`).Scan(&n)
		if n != 1 {
			t.Fatalf("referrals = %d; want 1", n)
		}
		slug := slugs[0]
		bobID, _ := c.signup(map[string]any{"email": "bob@example.com", "username": "bob", "referral_slug": strings.ToUpper(slug)})
		c.signup(map[string]any{"email": "carol@example.com", "referral_slug": slug})
		if r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "dan@example.com", "password": "correct horse battery", "referral_slug": "nope-nope"}, ""); r.Status != 422 {
			t.Fatalf("unknown slug = %d", r.Status)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "dan@example.com", "password": "correct horse battery"}, ""); r.Status != 401 {
			t.Fatal("a sign-up refused for its slug made the user anyway")
		}
		r := c.do("GET", "/v1/me/referral", nil, ann)
		users := r.Body["referred_users"].([]any)
		if r.Body["referred_count"] != float64(2) || len(users) != 2 || str(users[1].(map[string]any), "id") != bobID {
			t.Fatalf("referral = %s", r.Raw)
		}
		if strings.Contains(string(r.Raw), "bob@example.com") {
			t.Fatal("the referral shows a referred user's email")
		}
		// Choosing a slug.
		bob := str(c.login("bob@example.com", "correct horse battery")["session"].(map[string]any), "token")
		for body, want := range map[string]int{`{"slug":"Ann-Trades"}`: 200, `{"slug":"ab"}`: 422, `{"slug":"admin"}`: 422, `{"slug":"a--b"}`: 422, `{"slug":"has space"}`: 422} {
			if r := c.do("PUT", "/v1/me/referral", body, ann); r.Status != want {
				t.Errorf("PUT %s = %d; want %d", body, r.Status, want)
			}
		}
		if r := c.do("GET", "/v1/me/referral", nil, ann); str(r.Body, "slug") != "ann-trades" {
			t.Fatalf("slug = %v", r.Body["slug"])
		}
		if r := c.do("PUT", "/v1/me/referral", map[string]any{"slug": "ANN-TRADES"}, bob); r.Status != 409 || r.code() != "slug_taken" {
			t.Fatalf("taken slug = %d %s", r.Status, r.Raw)
		}
		// A referred user who leaves is still counted (seed 000 tracks every
		// successful referral), with null fields.
		if r := c.do("DELETE", "/v1/me", nil, bob); r.Status != 204 {
			t.Fatalf("bob's deletion = %d %s", r.Status, r.Raw)
		}
		r = c.do("GET", "/v1/me/referral", nil, ann)
		users = r.Body["referred_users"].([]any)
		if r.Body["referred_count"] != float64(2) || len(users) != 2 || users[1].(map[string]any)["id"] != nil || users[1].(map[string]any)["username"] != nil {
			t.Fatalf("referral after a referred user left = %s", r.Raw)
		}
		// Pages go through every referred user.
		for range 3 {
			c.signup(map[string]any{"email": fmt.Sprintf("r%d@example.com", len(users)), "referral_slug": "ann-trades"})
			users = append(users, nil)
		}
		var seen []string
		cursor := ""
		for page := 0; page < 4; page++ {
			r := c.do("GET", "/v1/me/referral/referred-users?limit=2&cursor="+cursor, nil, ann)
			items, _ := r.Body["items"].([]any)
			if r.Status != 200 || len(items) == 0 {
				t.Fatalf("page %d = %d %s", page, r.Status, r.Raw)
			}
			for _, it := range items {
				id, _ := it.(map[string]any)["id"].(string)
				seen = append(seen, id+"@"+str(it.(map[string]any), "referred_at"))
			}
			if r.Body["next_cursor"] == nil {
				break
			}
			cursor = str(r.Body, "next_cursor")
		}
		if len(seen) != 5 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 5 || !strings.HasPrefix(seen[4], "@") {
			t.Fatalf("pages = %v; want 5 distinct, the oldest (bob, deleted, without id) last", seen)
		}
	})
}

// processes starts two servers on one database of the engine, as two
// userd processes: on SQLite, one (a process per file).
func processes(t *testing.T, engine string) (a, b *client) {
	t.Helper()
	if engine == "sqlite" {
		a = start(t, dbtest.Open(t, engine))
		return a, a
	}
	url := dbtest.NewPostgresURL(t, true)
	return start(t, mustOpen(t, engine, url)), start(t, mustOpen(t, engine, url))
}
