package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/userd/userd"
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

// TestWebhookCatalogue: an endpoint of every type receives an event for
// each action of the catalogue, its data as the served document's
// webhooks section describes it.
func TestWebhookCatalogue(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		rc, url := newHookReceiver(t)
		_, secret := c.makeEndpoint(adm, url)
		rc.know(secret)
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		login := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, "")
		if login.Status != 200 {
			t.Fatalf("login = %d %s", login.Status, login.Raw)
		}
		if r := c.do("PUT", "/v1/admin/users/"+annID+"/roles/OWNER", nil, adm); r.Status/100 != 2 {
			t.Fatalf("assign = %d %s", r.Status, r.Raw)
		}
		if r := c.do("DELETE", "/v1/admin/users/"+annID+"/roles/OWNER", nil, adm); r.Status/100 != 2 {
			t.Fatalf("remove = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/auth/logout", nil, ann); r.Status != http.StatusNoContent {
			t.Fatalf("logout = %d", r.Status)
		}
		if r := c.do("DELETE", "/v1/admin/users/"+annID, nil, adm); r.Status != http.StatusNoContent {
			t.Fatalf("delete = %d %s", r.Status, r.Raw)
		}
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		org := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Bolt Labs"}, bob).Body, "id")
		if r := c.do("POST", "/v1/admin/subscriptions", map[string]any{"user_id": bobID, "plan": "comp", "ends_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, adm); r.Status != 201 {
			t.Fatalf("grant = %d %s", r.Status, r.Raw)
		}
		carolID, _ := c.signup(map[string]any{"email": "carol@example.com"})
		if r := c.do("POST", "/v1/reports", map[string]any{"content_type": "user", "content_id": carolID, "reason": "spam"}, bob); r.Status != 201 {
			t.Fatalf("report = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/admin/moderation-actions", map[string]any{"user_id": bobID, "action": "ban", "reason": "Spam."}, adm); r.Status/100 != 2 {
			t.Fatalf("ban = %d %s", r.Status, r.Raw)
		}
		c.jobs.RunDue(context.Background())
		schemas := webhookSchemas(t, c)
		want := map[string]func(d map[string]any) bool{
			"user.created": func(d map[string]any) bool { return d["user_id"] == annID },
			"session.created": func(d map[string]any) bool {
				return d["user_id"] == annID && d["target"].(map[string]any)["type"] == "session"
			},
			"role.assigned": func(d map[string]any) bool {
				return d["user_id"] == annID && d["actor"].(map[string]any)["user_id"] != nil
			},
			"role.removed":    func(d map[string]any) bool { return d["user_id"] == annID },
			"session.revoked": func(d map[string]any) bool { return d["user_id"] == annID },
			"user.deleted":    func(d map[string]any) bool { return d["target"].(map[string]any)["id"] == annID },
			"organization.created": func(d map[string]any) bool {
				return d["user_id"] == bobID && d["target"].(map[string]any)["id"] == org
			},
			"subscription.changed": func(d map[string]any) bool { return d["user_id"] == bobID },
			"report.created": func(d map[string]any) bool { // about the user reported, by the reporter
				return d["user_id"] == carolID && d["actor"].(map[string]any)["user_id"] == bobID
			},
			"user.banned": func(d map[string]any) bool {
				return d["user_id"] == bobID && d["details"].(map[string]any)["action"] == "ban"
			},
			"moderation.action_taken": func(d map[string]any) bool {
				return d["user_id"] == bobID && d["actor"].(map[string]any)["user_id"] != nil
			},
		}
		for typ, ok := range want {
			got := rc.ofType(typ)
			if len(got) == 0 {
				t.Errorf("no %s event", typ)
				continue
			}
			found := false
			for _, m := range got {
				if m.Valid != 1 || m.Event.Data["version"] != float64(1) {
					t.Errorf("%s: %+v", typ, m)
				}
				raw, _ := json.Marshal(m.Event)
				var v any
				json.Unmarshal(raw, &v)
				if err := schemas(typ).Validate(v); err != nil {
					t.Errorf("%s does not match its schema: %v", typ, err)
				}
				found = found || ok(m.Event.Data)
			}
			if !found {
				t.Errorf("no %s event with the data expected: %+v", typ, got)
			}
		}
		if strings.Contains(string(mustMarshal(t, rc.messages())), "correct horse") {
			t.Fatal("an event carries a password")
		}
	})
}

// webhookSchemas compiles the request body schemas of the served
// document's webhooks section, by type.
func webhookSchemas(t *testing.T, c *client) func(typ string) *jsonschema.Schema {
	r := c.do("GET", "/openapi.json", nil, "")
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(r.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource("https://userd.test/openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	return func(typ string) *jsonschema.Schema {
		s, err := comp.Compile("https://userd.test/openapi.json#/webhooks/" + strings.ReplaceAll(typ, "/", "~1") + "/post/requestBody/content/application~1json/schema")
		if err != nil {
			t.Fatalf("schema of %s: %v", typ, err)
		}
		return s
	}
}

// TestWebhookRotationAndTest: after a rotation both secrets sign for 24
// hours, then only the new one; the test route answers the outcome.
func TestWebhookRotationAndTest(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clk := withClock(db)
		c := start(t, db)
		adm := c.admin()
		rc, url := newHookReceiver(t)
		id, old := c.makeEndpoint(adm, url)
		rc.know(old)
		r := c.do("POST", "/v1/admin/webhook-endpoints/"+id+"/test", nil, adm)
		if r.Status != 200 || r.Body["delivered"] != true || r.Body["status_code"] != float64(204) {
			t.Fatalf("test = %d %s", r.Status, r.Raw)
		}
		r = c.do("POST", "/v1/admin/webhook-endpoints/"+id+"/rotate-secret", nil, adm)
		next := str(r.Body, "secret")
		rc.know(next)
		c.do("POST", "/v1/admin/webhook-endpoints/"+id+"/test", nil, adm)
		clk.advance(24*time.Hour + time.Minute)
		c.do("POST", "/v1/admin/webhook-endpoints/"+id+"/test", nil, adm)
		got := rc.ofType("webhook.test")
		if len(got) != 3 {
			t.Fatalf("%d test messages; want 3", len(got))
		}
		if len(got[0].Signatures) != 1 || got[0].Valid != 1 || len(got[1].Signatures) != 2 || got[1].Valid != 2 || len(got[2].Signatures) != 1 || got[2].Valid != 1 {
			t.Fatalf("signatures before, during and after the overlap: %+v", got)
		}
		delete(rc.keys, old)
		c.do("POST", "/v1/admin/webhook-endpoints/"+id+"/test", nil, adm)
		if last := rc.ofType("webhook.test")[3]; last.Valid != 1 {
			t.Fatal("the new secret does not sign after the overlap")
		}
		rc.fail = 1
		if r := c.do("POST", "/v1/admin/webhook-endpoints/"+id+"/test", nil, adm); r.Status != 200 || r.Body["delivered"] != false || r.Body["status_code"] != float64(500) {
			t.Fatalf("failed test = %d %s", r.Status, r.Raw)
		}
	})
}

// TestWebhookEndpointDisabled: an endpoint that has answered nothing but
// failures for three days is disabled, audited, and its creator told; no
// event goes to it any more until it is enabled again.
func TestWebhookEndpointDisabled(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clk := withClock(db)
		c := start(t, db)
		adm := c.admin()
		rc, url := newHookReceiver(t)
		id, secret := c.makeEndpoint(adm, url, "user.created")
		rc.know(secret)
		rc.fail = 1 << 30
		ctx := context.Background()
		c.signup(map[string]any{"email": "ann@example.com"})
		c.jobs.RunDue(ctx)
		for range 12 { // six-hour steps: past the longest backoff
			clk.advance(6*time.Hour + time.Minute)
			c.signup(map[string]any{"email": "u" + strconv.Itoa(len(rc.messages())) + "@example.com"})
			c.jobs.RunDue(ctx)
		}
		r := c.do("GET", "/v1/admin/webhook-endpoints/"+id, nil, adm)
		if r.Body["enabled"] != false || !strings.Contains(str(r.Body, "disabled_reason"), "failed") || r.Body["failing_since"] == nil {
			t.Fatalf("endpoint after 3 days of failures: %s", r.Raw)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'webhook.endpoint_disabled' AND target_id = $1`, id); n != 1 {
			t.Fatalf("%d audit entries of the disabling", n)
		}
		if r := c.do("GET", "/v1/me/notifications", nil, adm); !strings.Contains(string(r.Raw), "webhook.endpoint_disabled") {
			t.Fatalf("the creator was not told: %s", r.Raw)
		}
		n := len(rc.messages())
		c.signup(map[string]any{"email": "late@example.com"})
		clk.advance(7 * time.Hour)
		c.jobs.RunDue(ctx)
		if len(rc.messages()) != n {
			t.Fatal("a disabled endpoint still receives events")
		}
		r = c.do("PATCH", "/v1/admin/webhook-endpoints/"+id, map[string]any{"enabled": true}, adm)
		if r.Body["enabled"] != true || r.Body["failing_since"] != nil || r.Body["disabled_reason"] != nil {
			t.Fatalf("enabled again: %s", r.Raw)
		}
	})
}

// TestWebhookConcurrencyLimit: while an endpoint has as many deliveries in
// flight as its limit (leases held, here by another process's jobs), its
// next delivery waits, counting no attempt, and goes once one ends.
func TestWebhookConcurrencyLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clk := withClock(db)
		c := start(t, db)
		adm := c.admin()
		rc, url := newHookReceiver(t)
		id, secret := c.makeEndpoint(adm, url, "user.created")
		rc.know(secret)
		now := db.Now()
		for i := range webhook.DefaultMaxInFlight {
			if _, err := db.SQL().Exec(`INSERT INTO jobs (id, kind, key, payload, run_at, scheduled_at, locked_by, locked_until, created_at)
				VALUES ($1, 'webhook.deliver', $2, '{}', $3, $3, 'elsewhere', $4, $3)`,
				userd.NewID(now), "webhook:"+id+":busy"+strconv.Itoa(i), now, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		c.signup(map[string]any{"email": "ann@example.com"})
		ctx := context.Background()
		c.jobs.RunDue(ctx)
		if n := len(rc.messages()); n != 0 {
			t.Fatalf("%d messages past the limit", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM webhook_deliveries`); n != 0 {
			t.Fatalf("%d attempts recorded for a delivery held back", n)
		}
		if _, err := db.SQL().Exec(`UPDATE jobs SET done_at = $1, locked_by = NULL, locked_until = NULL WHERE locked_by = 'elsewhere'`, now); err != nil {
			t.Fatal(err) // the other process's deliveries end
		}
		clk.advance(5 * time.Second) // past the held-back delivery's wait
		c.jobs.RunDue(ctx)
		if got := rc.ofType("user.created"); len(got) != 1 {
			t.Fatalf("%d user.created once the endpoint had room; want 1", len(got))
		}
	})
}

// TestWebhookCollectionRecords: the records of a collection that opts in
// (webhooks: true) make collection.record.* events, cascades included, for
// a user's and an organisation's collection; another collection's make
// none, and an endpoint gets only the types it subscribed to.
func TestWebhookCollectionRecords(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		rc, url := newHookReceiver(t)
		_, secret := c.makeEndpoint(adm, url, "collection.record.created", "collection.record.updated", "collection.record.deleted")
		rc.know(secret)
		object := map[string]any{"type": "object", "properties": map[string]any{"title": map[string]any{"type": "string"}, "list_id": map[string]any{"type": "string"}}}
		decls := map[string]map[string]any{
			"lists":     {"owner": "user", "schema": object, "webhooks": true},
			"entries":   {"owner": "user", "schema": object, "webhooks": true, "relations": map[string]any{"list_id": map[string]any{"collection": "lists", "on_delete": "cascade"}}},
			"drafts":    {"owner": "user", "schema": object},
			"playbooks": {"owner": "organization", "schema": object, "webhooks": true},
		}
		for _, name := range []string{"lists", "entries", "drafts", "playbooks"} { // a relation's target first
			d := decls[name]
			if r := c.do("PUT", "/v1/admin/collections/"+name, d, adm); r.Status != 200 || (r.Body["webhooks"] == true) != (d["webhooks"] == true) {
				t.Fatalf("declare %s = %d %s", name, r.Status, r.Raw)
			}
		}
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		create := func(path string, data map[string]any) string {
			r := c.do("POST", path, map[string]any{"data": data}, ann)
			if r.Status != http.StatusCreated {
				t.Fatalf("create %s = %d %s", path, r.Status, r.Raw)
			}
			return str(r.Body, "id")
		}
		list := create("/v1/me/collections/lists/records", map[string]any{"title": "Groceries"})
		entry := create("/v1/me/collections/entries/records", map[string]any{"title": "Milk", "list_id": list})
		create("/v1/me/collections/drafts/records", map[string]any{"title": "Not sent"})
		if r := c.do("PATCH", "/v1/me/collections/entries/records/"+entry, map[string]any{"title": "Oat milk"}, ann); r.Status != 200 {
			t.Fatalf("patch = %d %s", r.Status, r.Raw)
		}
		org := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Desk"}, ann).Body, "id")
		playbook := create("/v1/orgs/"+org+"/collections/playbooks/records", map[string]any{"title": "Breakout"})
		if r := c.do("DELETE", "/v1/me/collections/lists/records/"+list, nil, ann); r.Status != http.StatusNoContent {
			t.Fatalf("delete = %d %s", r.Status, r.Raw)
		}
		c.jobs.RunDue(context.Background())

		schemas := webhookSchemas(t, c)
		type seen struct{ typ, collection, id, title string }
		var got []seen
		for _, m := range rc.messages() {
			if m.Valid != 1 {
				t.Errorf("%s: %d valid signatures", m.Event.Type, m.Valid)
			}
			raw, _ := json.Marshal(m.Event)
			var v any
			json.Unmarshal(raw, &v)
			if err := schemas(m.Event.Type).Validate(v); err != nil {
				t.Errorf("%s does not match its schema: %v", m.Event.Type, err)
			}
			d := m.Event.Data
			details, _ := d["details"].(map[string]any)
			target, _ := d["target"].(map[string]any)
			if target["type"] != "record" {
				t.Errorf("%s: target %v", m.Event.Type, target)
			}
			data, _ := details["data"].(map[string]any)
			title, _ := data["title"].(string)
			coll, _ := details["collection"].(string)
			id, _ := target["id"].(string)
			got = append(got, seen{m.Event.Type, coll, id, title})
			switch details["collection"] {
			case "playbooks":
				if actor, _ := d["actor"].(map[string]any); d["user_id"] != nil || details["organization_id"] != org || actor["user_id"] != annID {
					t.Errorf("an organisation's record's event: %v", d)
				}
			default:
				if d["user_id"] != annID || d["actor"] != nil || details["organization_id"] != nil {
					t.Errorf("a user's record's event: %v", d)
				}
			}
			if wantVersion := map[string]float64{"collection.record.updated": 2}[m.Event.Type]; wantVersion != 0 && details["version"] != wantVersion {
				t.Errorf("%s: version %v", m.Event.Type, details["version"])
			}
		}
		want := []seen{
			{"collection.record.created", "lists", list, "Groceries"},
			{"collection.record.created", "entries", entry, "Milk"},
			{"collection.record.updated", "entries", entry, "Oat milk"},
			{"collection.record.created", "playbooks", playbook, "Breakout"},
			{"collection.record.deleted", "entries", entry, ""},
			{"collection.record.deleted", "lists", list, ""},
		}
		if len(got) != len(want) {
			t.Fatalf("events = %+v, want %+v", got, want)
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("no event %+v in %+v", w, got)
			}
		}
	})
}
