package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// receiver is the application's webhook endpoint: it checks each signature
// and keeps the events; fail makes it answer 500 that many times first.
type receiver struct {
	mu     sync.Mutex
	key    []byte
	events []map[string]any
	ids    []string
	fail   int
	t      *testing.T
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	n, _ := strconv.ParseInt(ts, 10, 64)
	if want := webhook.Sign(rc.key, id, n, body); r.Header.Get("webhook-signature") != want {
		rc.t.Errorf("bad signature %q; want %q", r.Header.Get("webhook-signature"), want)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.ids = append(rc.ids, id)
	if rc.fail > 0 {
		rc.fail--
		w.WriteHeader(500)
		return
	}
	var ev map[string]any
	json.Unmarshal(body, &ev)
	rc.events = append(rc.events, ev)
}

// TestSynchronizations: CRUD, uniqueness, validation, a write-only token and
// another user's ids.
func TestSynchronizations(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		_, bob := c.signup(map[string]any{"email": "bob@example.com"})
		body := map[string]any{"service": "TopstepTrader", "account_id": "TS-1", "token": "tok_secret_123", "daily_sync_time": "06:30", "time_zone": "Europe/Paris"}
		r := c.do("POST", "/v1/me/synchronizations", body, ann)
		if r.Status != 201 || r.Body["has_token"] != true || strings.Contains(string(r.Raw), "tok_secret_123") || r.Body["next_sync_at"] == nil {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		id := str(r.Body, "id")
		if r := c.do("POST", "/v1/me/synchronizations", body, ann); r.Status != 409 || r.code() != "synchronization_exists" {
			t.Fatalf("duplicate = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/me/synchronizations", body, bob); r.Status != 201 {
			t.Fatalf("the same service account for another user = %d", r.Status)
		}
		for name, b := range map[string]map[string]any{
			"no account":    {"service": "X"},
			"bad time":      {"service": "X", "account_id": "1", "daily_sync_time": "25:00"},
			"bad zone":      {"service": "X", "account_id": "1", "time_zone": "Mars/Olympus"},
			"empty service": {"service": " ", "account_id": "1"},
		} {
			if r := c.do("POST", "/v1/me/synchronizations", b, ann); r.Status != 422 {
				t.Errorf("%s = %d %s", name, r.Status, r.Raw)
			}
		}
		for _, req := range []struct{ method, path string }{{"GET", "/v1/me/synchronizations/" + id}, {"PATCH", "/v1/me/synchronizations/" + id},
			{"DELETE", "/v1/me/synchronizations/" + id}, {"POST", "/v1/me/synchronizations/" + id + "/complete"}} {
			var b any
			if req.method == "PATCH" {
				b = map[string]any{"token": "stolen"}
			}
			if r := c.do(req.method, req.path, b, bob); r.Status != 404 {
				t.Errorf("bob %s %s = %d", req.method, req.path, r.Status)
			}
		}
		r = c.do("PATCH", "/v1/me/synchronizations/"+id, map[string]any{"token": "", "daily_sync_time": ""}, ann)
		if r.Body["has_token"] != false || r.Body["daily_sync_time"] != nil || r.Body["next_sync_at"] != nil {
			t.Fatalf("clear = %s", r.Raw)
		}
		r = c.do("POST", "/v1/me/synchronizations/"+id+"/complete", nil, ann)
		if r.Status != 200 || r.Body["last_synced_at"] == nil {
			t.Fatalf("complete = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me/synchronizations", nil, ann); len(r.Body["items"].([]any)) != 1 {
			t.Fatalf("list = %s", r.Raw)
		}
		if r := c.do("DELETE", "/v1/me/synchronizations/"+id, nil, ann); r.Status != 204 {
			t.Fatalf("delete = %d", r.Status)
		}
	})
}

// TestSynchronizationWebhooks: the daily run and the expiry warning reach
// the application signed, with retries on failure, once each, and the
// daily run moves to the next day.
func TestSynchronizationWebhooks(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		key := []byte("0123456789abcdef0123456789abcdef")
		rc := &receiver{key: key, t: t, fail: 1}
		app := httptest.NewServer(rc)
		defer app.Close()
		clk := withClock(db)
		c := startWith(t, db, options{webhook: app.URL, hookKey: key})
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		r := c.do("POST", "/v1/me/synchronizations", map[string]any{"service": "Rithmic", "account_id": "R-9", "token": "tok_live_42",
			"token_expires_at": expires.Format(time.RFC3339), "daily_sync_time": "06:30", "time_zone": "America/New_York"}, ann)
		next, _ := time.Parse(time.RFC3339Nano, str(r.Body, "next_sync_at"))
		if ny, _ := time.LoadLocation("America/New_York"); next.In(ny).Format("15:04") != "06:30" {
			t.Fatalf("next_sync_at %v is not 06:30 in New York", next)
		}
		ctx := context.Background()
		if n, _ := c.jobs.RunDue(ctx); n != 0 {
			t.Fatalf("%d jobs ran before they were due", n)
		}
		clk.advance(next.Sub(time.Now()) + time.Minute)
		c.jobs.RunDue(ctx) // fails once (500)
		clk.advance(time.Minute)
		c.jobs.RunDue(ctx) // retried
		rc.mu.Lock()
		if len(rc.events) != 1 || rc.events[0]["type"] != "synchronization.due" || len(rc.ids) != 2 || rc.ids[0] != rc.ids[1] {
			t.Fatalf("events %v, ids %v; want one synchronization.due after a retry with the same webhook-id", rc.events, rc.ids)
		}
		data := rc.events[0]["data"].(map[string]any)
		if data["token"] != "tok_live_42" || data["account_id"] != "R-9" {
			t.Fatalf("due data = %v", data)
		}
		rc.mu.Unlock()
		var runAt time.Time
		var attempts int
		db.SQL().QueryRow(`SELECT run_at, attempts FROM jobs WHERE kind = 'sync.due' AND done_at IS NULL`).Scan(&runAt, &attempts)
		if d := runAt.Sub(next); d < 23*time.Hour || d > 25*time.Hour || attempts != 0 {
			t.Fatalf("the next daily run is %v after this one (attempts %d); want a day", d, attempts)
		}
		var deliveries, failed int
		db.SQL().QueryRow(`SELECT count(*), count(error) FROM webhook_deliveries`).Scan(&deliveries, &failed)
		if deliveries != 2 || failed != 1 {
			t.Fatalf("deliveries %d, failed %d; want 2 and 1", deliveries, failed)
		}
		// The expiry warning, 24 h before the token expires.
		clk.advance(expires.Add(-24*time.Hour).Sub(time.Now().Add(clkOffset(clk))) + time.Minute)
		c.jobs.RunDue(ctx)
		rc.mu.Lock()
		var types []string
		for _, ev := range rc.events {
			types = append(types, ev["type"].(string))
		}
		rc.mu.Unlock()
		if !strings.Contains(strings.Join(types, " "), "synchronization.token_expiring") {
			t.Fatalf("events after the warning time: %v", types)
		}
		for _, ev := range rc.events {
			if ev["type"] == "synchronization.token_expiring" && ev["data"].(map[string]any)["token"] != nil {
				t.Fatal("the expiry warning carries the token")
			}
		}
	})
}

func clkOffset(c *clock) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}
