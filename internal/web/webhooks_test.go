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

// hookReceiver is an application's webhook endpoint on loopback: it checks
// every signature of each message against the secrets it knows, answers
// 500 to the first fail messages, and keeps what it received.
type hookReceiver struct {
	t    *testing.T
	mu   sync.Mutex
	keys map[string][]byte // by whsec_ secret
	fail int
	got  []hookMessage
}

// hookMessage is a message received.
type hookMessage struct {
	ID         string
	Signatures []string
	Valid      int // signatures that a known secret made
	Answered   int
	Event      struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
}

func newHookReceiver(t *testing.T) (*hookReceiver, string) {
	rc := &hookReceiver{t: t, keys: map[string][]byte{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/hooks"
}

func (rc *hookReceiver) know(secret string) {
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		rc.t.Fatalf("secret %q: %v", secret, err)
	}
	rc.mu.Lock()
	rc.keys[secret] = key
	rc.mu.Unlock()
}

func (rc *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := hookMessage{ID: r.Header.Get("webhook-id"), Signatures: strings.Fields(r.Header.Get("webhook-signature"))}
	ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	if err := json.Unmarshal(body, &m.Event); err != nil {
		rc.t.Errorf("body %s: %v", body, err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, sig := range m.Signatures {
		for _, key := range rc.keys {
			if webhook.Sign(key, m.ID, ts, body) == sig {
				m.Valid++
			}
		}
	}
	m.Answered = 204
	if rc.fail > 0 {
		rc.fail--
		m.Answered = 500
	}
	rc.got = append(rc.got, m)
	w.WriteHeader(m.Answered)
}

func (rc *hookReceiver) messages() []hookMessage {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookMessage(nil), rc.got...)
}

// ofType returns the messages of an event type.
func (rc *hookReceiver) ofType(typ string) []hookMessage {
	var out []hookMessage
	for _, m := range rc.messages() {
		if m.Event.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// makeEndpoint makes an endpoint and returns its id and secret.
func (c *client) makeEndpoint(adm, url string, types ...string) (id, secret string) {
	c.t.Helper()
	body := map[string]any{"url": url, "description": "the app"}
	if types != nil {
		body["event_types"] = types
	}
	r := c.do("POST", "/v1/admin/webhook-endpoints", body, adm)
	if r.Status != http.StatusCreated || !strings.HasPrefix(str(r.Body, "secret"), "whsec_") {
		c.t.Fatalf("create endpoint = %d %s", r.Status, r.Raw)
	}
	return str(r.Body, "id"), str(r.Body, "secret")
}

// TestWebhookEndpoints: CRUD, permissions, validation, the secret shown
// once and sealed at rest, every change audited.
func TestWebhookEndpoints(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		_, reader := c.apiKey(adm, "reader", "webhooks:read")
		if r := c.do("POST", "/v1/admin/webhook-endpoints", map[string]any{"url": "https://app.example.com/hooks"}, ann); r.Status != http.StatusForbidden {
			t.Fatalf("a user without webhooks:write made an endpoint: %d", r.Status)
		}
		for _, bad := range []map[string]any{
			{"url": "http://app.example.com/hooks"}, // http off loopback
			{"url": "ftp://127.0.0.1/x"},
			{"url": "https://app.example.com/hooks", "event_types": []string{"user.exploded"}},
			{"url": "https://app.example.com/hooks", "event_types": []string{"synchronization.due"}}, // only --webhook-url
		} {
			if r := c.do("POST", "/v1/admin/webhook-endpoints", bad, adm); r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("create %v = %d %s; want 422", bad, r.Status, r.Raw)
			}
		}
		id, secret := c.makeEndpoint(adm, "https://app.example.com/hooks", "user.created", "user.deleted")
		r := c.do("GET", "/v1/admin/webhook-endpoints/"+id, nil, reader)
		if r.Status != 200 || strings.Contains(string(r.Raw), "whsec_") || r.Body["enabled"] != true || len(r.Body["event_types"].([]any)) != 2 {
			t.Fatalf("get = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/admin/webhook-endpoints", nil, reader); r.Status != 200 || len(r.Body["items"].([]any)) != 1 ||
			strings.Contains(string(r.Raw), "whsec_") || r.Body["configured_url"] != nil {
			t.Fatalf("list = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PATCH", "/v1/admin/webhook-endpoints/"+id, map[string]any{"enabled": false}, reader); r.Status != http.StatusForbidden {
			t.Fatalf("webhooks:read patched: %d", r.Status)
		}
		// Sealed at rest: no whsec_ in the table, nor the key's bytes.
		var raw []byte
		if err := c.db.SQL().QueryRow(`SELECT secret FROM webhook_endpoints WHERE id = $1`, id).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "whsec_") || strings.Contains(string(raw), strings.TrimPrefix(secret, "whsec_")) {
			t.Fatal("the secret is stored in the clear")
		}
		r = c.do("PATCH", "/v1/admin/webhook-endpoints/"+id, map[string]any{"enabled": false, "event_types": []string{}, "description": "all"}, adm)
		if r.Status != 200 || r.Body["enabled"] != false || str(r.Body, "disabled_reason") == "" || len(r.Body["event_types"].([]any)) != 0 || r.Body["description"] != "all" {
			t.Fatalf("patch = %d %s", r.Status, r.Raw)
		}
		r = c.do("POST", "/v1/admin/webhook-endpoints/"+id+"/rotate-secret", nil, adm)
		if next := str(r.Body, "secret"); r.Status != 200 || !strings.HasPrefix(next, "whsec_") || next == secret || r.Body["previous_secret_until"] == nil {
			t.Fatalf("rotate = %d %s", r.Status, r.Raw)
		}
		if r := c.do("DELETE", "/v1/admin/webhook-endpoints/"+id, nil, adm); r.Status != http.StatusNoContent {
			t.Fatalf("delete = %d", r.Status)
		}
		if r := c.do("GET", "/v1/admin/webhook-endpoints/"+id, nil, adm); r.Status != http.StatusNotFound || r.code() != "webhook_endpoint_not_found" {
			t.Fatalf("get deleted = %d %s", r.Status, r.code())
		}
		var audited int
		c.db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE target_id = $1 AND action IN ('webhook.endpoint_created', 'webhook.endpoint_updated', 'webhook.secret_rotated', 'webhook.endpoint_deleted')`, id).Scan(&audited)
		if audited != 4 {
			t.Fatalf("%d audited changes; want 4", audited)
		}
	})
}

// TestWebhookDelivery: an event of the catalogue reaches a real receiver on
// loopback, signed, retried after 500s with the same webhook-id and the
// same body; only the types an endpoint subscribed to reach it; the
// deliveries are listed and one is retried.
func TestWebhookDelivery(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clk := withClock(db)
		c := start(t, db)
		adm := c.admin()
		rc, url := newHookReceiver(t)
		id, secret := c.makeEndpoint(adm, url, "user.created")
		rc.know(secret)
		rc.fail = 2
		ctx := context.Background()
		annID, _ := c.signup(map[string]any{"email": "ann@example.com"})
		c.jobs.RunDue(ctx) // 500
		for range 2 {
			clk.advance(time.Hour) // past the backoff, jitter and all
			c.jobs.RunDue(ctx)
		}
		got := rc.ofType("user.created")
		if len(got) != 3 || got[0].ID != got[1].ID || got[1].ID != got[2].ID || got[2].Answered != 204 {
			t.Fatalf("messages %+v; want 3 attempts of one user.created with one webhook-id", got)
		}
		for _, m := range got {
			if m.Valid != 1 || len(m.Signatures) != 1 || m.Event.Data["user_id"] != annID || m.Event.Data["version"] != float64(1) || !m.Event.Timestamp.Equal(got[0].Event.Timestamp) {
				t.Fatalf("message %+v", m)
			}
		}
		if n := len(rc.messages()); n != 3 {
			t.Fatalf("%d messages; want only the user.created ones (session.created is not subscribed)", n)
		}
		r := c.do("GET", "/v1/admin/webhook-deliveries?endpoint="+id+"&status=failed", nil, adm)
		if r.Status != 200 || len(r.Body["items"].([]any)) != 2 {
			t.Fatalf("failed deliveries = %d %s", r.Status, r.Raw)
		}
		r = c.do("GET", "/v1/admin/webhook-deliveries?endpoint="+id+"&status=succeeded&limit=1", nil, adm)
		items := r.Body["items"].([]any)
		if r.Status != 200 || len(items) != 1 {
			t.Fatalf("succeeded deliveries = %d %s", r.Status, r.Raw)
		}
		ok := items[0].(map[string]any)
		if ok["attempt"] != float64(3) || ok["message_id"] != got[0].ID || ok["status_code"] != float64(204) || ok["endpoint_id"] != id {
			t.Fatalf("delivery %v", ok)
		}
		r = c.do("POST", "/v1/admin/webhook-deliveries/"+str(ok, "id")+"/retry", nil, adm)
		if r.Status != http.StatusAccepted {
			t.Fatalf("retry = %d %s", r.Status, r.Raw)
		}
		c.jobs.RunDue(ctx)
		if got := rc.ofType("user.created"); len(got) != 4 || got[3].ID != got[0].ID {
			t.Fatalf("after a retry: %d messages", len(got))
		}
		// Nothing subscribed: no outbox rows.
		if r := c.do("PATCH", "/v1/admin/webhook-endpoints/"+id, map[string]any{"enabled": false}, adm); r.Status != 200 {
			t.Fatal(r.Status)
		}
		before := dbtest.Count(t, db, `SELECT count(*) FROM webhook_events`)
		c.signup(map[string]any{"email": "bob@example.com"})
		if after := dbtest.Count(t, db, `SELECT count(*) FROM webhook_events`); after != before {
			t.Fatalf("events %d → %d with no endpoint enabled", before, after)
		}
	})
}
