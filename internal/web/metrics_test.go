package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
)

// families is a parsed metrics page.
type families map[string]*dto.MetricFamily

// scrapeMetrics reads GET /metrics and parses it as Prometheus text.
func (c *client) scrapeMetrics() families {
	c.t.Helper()
	res, err := http.Get(c.url + "/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /metrics = %d", res.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		c.t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of name whose labels include
// labels ("k", "v", …): a counter's or gauge's value, a histogram's count;
// -1 when there is no such series.
func (f families) value(name string, labels ...string) float64 {
	fam := f[name]
	if fam == nil {
		return -1
	}
next:
	for _, m := range fam.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// moved returns by how much a series grew between two pages; a series
// missing before counts from 0.
func moved(before, after families, name string, labels ...string) float64 {
	return after.value(name, labels...) - max(before.value(name, labels...), 0)
}

// TestMetrics scrapes /metrics around a sign-up, log-ins, requests, a job,
// webhook deliveries, a stream and cached reads, and checks that each
// counter moved by exactly what they did, and that no label holds a path,
// an id or a secret.
func TestMetrics(t *testing.T) {
	var fail atomic.Bool
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	o := options{metrics: true, webhook: receiver.URL, hookKey: []byte("a webhook key of at least 24 bytes")}
	enginesWith(t, o, func(t *testing.T, c *client) {
		fail.Store(false)
		before := c.scrapeMetrics()

		// A sign-up, a second one with the same email, a failed log-in
		// and a successful one.
		const pw = "correct horse battery"
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": pw}, "")
		if r.Status != http.StatusCreated {
			t.Fatalf("signup = %d %s", r.Status, r.Raw)
		}
		userID := r.Body["user"].(map[string]any)["id"].(string)
		secrets := []string{pw, userID, r.Body["session"].(map[string]any)["token"].(string), r.Body["access_token"].(string), r.Body["refresh_token"].(string)}
		if r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": pw}, ""); r.Status != http.StatusConflict {
			t.Fatalf("second signup = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "wrong horse battery"}, ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("bad login = %d %s", r.Status, r.Raw)
		}
		r = c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": pw}, "")
		if r.Status != http.StatusOK {
			t.Fatalf("login = %d %s", r.Status, r.Raw)
		}
		tok := r.Body["session"].(map[string]any)["token"].(string)
		secrets = append(secrets, tok)
		// Requests to routes with a parameter, and to paths that carry a
		// token or name nothing.
		for range 3 {
			if r := c.do("GET", "/v1/me", nil, tok); r.Status != http.StatusOK {
				t.Fatalf("GET /v1/me = %d", r.Status)
			}
		}
		access := r.Body["access_token"].(string)
		secrets = append(secrets, access)
		for range 2 {
			if r := c.do("GET", "/v1/me", nil, access); r.Status != http.StatusOK {
				t.Fatalf("GET /v1/me with an access token = %d", r.Status)
			}
		}
		if r := c.do("GET", "/v1/users/"+userID, nil, ""); r.Status != http.StatusOK {
			t.Fatalf("GET /v1/users/{id} = %d %s", r.Status, r.Raw)
		}
		const linkToken = "vtok_not_a_real_token_0123456789"
		secrets = append(secrets, linkToken)
		c.do("GET", "/verify-email?token="+linkToken, nil, "")
		if r := c.do("GET", "/no/such/"+linkToken, nil, ""); r.Status != http.StatusNotFound {
			t.Fatalf("GET of an unknown path = %d", r.Status)
		}
		authtest.Sent(t, c.db) // the verification mail has gone

		// Webhook deliveries: one answered 204, one 500.
		ctx := sqldb.System(context.Background())
		ev := webhook.Event{Type: "test.ping", Data: map[string]any{}}
		if err := c.hooks.Send(ctx, userd.NewID(time.Now()), "msg-1", 1, ev); err != nil {
			t.Fatal(err)
		}
		fail.Store(true)
		if err := c.hooks.Send(ctx, userd.NewID(time.Now()), "msg-2", 1, ev); err == nil {
			t.Fatal("a delivery answered 500 did not fail")
		}

		// A job due a minute ago, which fails its one attempt.
		err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
			if err := jobs.Enqueue(ctx, tx, "metrics-test", "metrics-test-1", nil, tx.Now.Add(-time.Minute)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE jobs SET max_attempts = 1 WHERE key = 'metrics-test-1'`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		mid := c.scrapeMetrics()
		if got := mid.value("userd_jobs_waiting", "kind", "metrics-test"); got != 1 {
			t.Errorf("jobs waiting = %v; want 1", got)
		}
		if got := mid.value("userd_jobs_oldest_due_age_seconds"); got < 60 {
			t.Errorf("oldest due job's age = %vs; want at least 60", got)
		}
		c.jobs.Handle("metrics-test", func(context.Context, jobs.Job) (time.Time, error) { return time.Time{}, fmt.Errorf("down") })
		if _, err := c.jobs.RunDue(context.Background()); err != nil {
			t.Fatal(err)
		}

		after := c.scrapeMetrics()
		for _, tt := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"userd_signups_total", []string{"outcome", "success"}, 1},
			{"userd_signups_total", []string{"outcome", "taken"}, 1},
			{"userd_logins_total", []string{"outcome", "invalid_credentials"}, 1},
			{"userd_logins_total", []string{"outcome", "success"}, 1},
			{"userd_logins_total", []string{"outcome", "rate_limited"}, 0},
			{"userd_http_requests_total", []string{"method", "GET", "route", "/v1/me", "status", "200"}, 5},
			{"userd_http_requests_total", []string{"method", "POST", "route", "/v1/auth/signup", "status", "201"}, 1},
			{"userd_http_requests_total", []string{"method", "POST", "route", "/v1/auth/signup", "status", "409"}, 1},
			{"userd_http_requests_total", []string{"method", "GET", "route", "/v1/users/{id}", "status", "200"}, 1},
			{"userd_http_requests_total", []string{"method", "GET", "route", "/", "status", "404"}, 1},
			{"userd_http_request_duration_seconds", []string{"method", "GET", "route", "/v1/me"}, 5},
			{"userd_cache_misses_total", []string{"cache", "access_tokens"}, 1},
			{"userd_cache_hits_total", []string{"cache", "access_tokens"}, 1},
			{"userd_mail_deliveries_total", []string{"outcome", "sent"}, 1},
			{"userd_mail_deliveries_total", []string{"outcome", "failed"}, 0},
			{"userd_webhook_deliveries_total", []string{"outcome", "delivered"}, 1},
			{"userd_webhook_deliveries_total", []string{"outcome", "failed"}, 1},
			{"userd_jobs_failed", []string{"kind", "metrics-test"}, 1},
			{"userd_jobs_waiting", []string{"kind", "metrics-test"}, 0},
		} {
			if got := moved(before, after, tt.name, tt.labels...); got != tt.want {
				t.Errorf("%s%v moved by %v; want %v", tt.name, tt.labels, got, tt.want)
			}
		}
		// The first GET /v1/me read the caller (once their cache listens).
		if moved(before, after, "userd_cache_misses_total", "cache", "auth_callers") < 1 {
			t.Error("the callers' cache never missed")
		}
		if got := after.value("userd_jobs_oldest_due_age_seconds"); got != 0 {
			t.Errorf("oldest due job's age after the run = %v; want 0", got)
		}
		if got := after.value("userd_password_hashes_running"); got != 0 {
			t.Errorf("hashes running at rest = %v", got)
		}
		if got := after.value("userd_password_hashes_queued"); got != 0 {
			t.Errorf("hashes queued at rest = %v", got)
		}
		pools := []string{"shared"}
		if c.db.Engine() == "sqlite" {
			pools = []string{"write", "read"}
		}
		for _, p := range pools {
			if got := after.value("userd_db_connections_open", "pool", p); got < 1 {
				t.Errorf("pool %s: %v connections open", p, got)
			}
		}
		if got := after.value("userd_db_transaction_retries_total"); got != 0 {
			t.Errorf("transactions retried = %v", got)
		}

		checkStreamsAndCaches(t, c, tok)
		if c.db.Engine() == "postgres" {
			waitFor(t, c, "userd_db_listen_connected", 1, "channel", sqldb.InvalidateChannel)
		} else if after.value("userd_db_listen_connected") != -1 {
			t.Error("userd_db_listen_connected on SQLite, which has no listening connection")
		}

		// No label holds a path, an id or a secret.
		for name, fam := range c.scrapeMetrics() {
			for _, m := range fam.Metric {
				for _, l := range m.Label {
					v := l.GetValue()
					if l.GetName() == "route" && (strings.Contains(v, "/no/such") || v != "none" && !strings.HasPrefix(v, "/")) {
						t.Errorf("%s: route %q is not a route's pattern", name, v)
					}
					for _, s := range secrets {
						if strings.Contains(v, s) {
							t.Errorf("%s: label %s=%q holds %q", name, l.GetName(), v, s)
						}
					}
					if strings.Contains(v, "?") || strings.Contains(v, "vtok_") {
						t.Errorf("%s: label %s=%q holds a query or a token", name, l.GetName(), v)
					}
				}
			}
		}
	})
}

// checkStreamsAndCaches opens and closes a notification stream, reads
// /v1/me until the signed-in caller is remembered, and checks the gauges
// and counters that follow them.
func checkStreamsAndCaches(t *testing.T, c *client, tok string) {
	t.Helper()
	s := mustStream(t, c.url, tok)
	waitFor(t, c, "userd_sse_streams_open", 1, "stream", "notifications")
	if got := c.scrapeMetrics().value("userd_sse_streams_open", "stream", "changes"); got != 0 {
		t.Errorf("change streams open = %v; want 0", got)
	}
	s.close()
	waitFor(t, c, "userd_sse_streams_open", 0, "stream", "notifications")

	before := c.scrapeMetrics()
	deadline := time.Now().Add(10 * time.Second)
	for moved(before, c.scrapeMetrics(), "userd_cache_hits_total", "cache", "auth_callers") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("GET /v1/me never hit the callers' cache")
		}
		c.do("GET", "/v1/me", nil, tok)
	}
	after := c.scrapeMetrics()
	if after.value("userd_cache_entries", "cache", "auth_callers") < 1 {
		t.Error("the callers' cache holds nothing")
	}
	// A change to the user invalidates what was remembered of them.
	if r := c.do("PATCH", "/v1/me", map[string]any{"first_name": "Ann"}, tok); r.Status != http.StatusOK {
		t.Fatalf("PATCH /v1/me = %d %s", r.Status, r.Raw)
	}
	if moved(after, c.scrapeMetrics(), "userd_cache_invalidated_total", "cache", "auth_callers") < 1 {
		t.Error("a change to the user invalidated nothing in the callers' cache")
	}
}

// waitFor scrapes until the series of name with labels has value want, for
// what other goroutines change (streams, the listening connection).
func waitFor(t *testing.T, c *client, name string, want float64, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := c.scrapeMetrics().value(name, labels...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v; want %v", name, labels, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsSecondFactor: a log-in that asks for a second factor, a wrong
// code and a recovery code that finishes it, each counted once.
func TestMetricsSecondFactor(t *testing.T) {
	enginesWith(t, options{metrics: true}, func(t *testing.T, c *client) {
		clk := withClock(c.db)
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		secret := str(c.do("POST", "/v1/me/mfa/totp", nil, tok).Body, "secret")
		code, _ := totp.GenerateCode(secret, clk.now())
		codes := toStrings(c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code}, tok).Body["recovery_codes"])
		if len(codes) != 10 {
			t.Fatalf("recovery codes: %v", codes)
		}
		clk.advance(30 * time.Second)
		before := c.scrapeMetrics()
		login := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, "")
		challenge := str(login.Body, "mfa_token")
		if r := c.do("POST", "/v1/auth/mfa/verify", map[string]any{"mfa_token": challenge, "code": "000000"}, ""); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a wrong code = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/auth/mfa/verify", map[string]any{"mfa_token": challenge, "recovery_code": codes[0]}, ""); r.Status != http.StatusOK {
			t.Fatalf("recovery = %d %s", r.Status, r.Raw)
		}
		after := c.scrapeMetrics()
		for _, tt := range []struct {
			name, outcome string
			want          float64
		}{
			{"userd_logins_total", "second_factor_required", 1},
			{"userd_logins_total", "success", 0},
			{"userd_second_factor_logins_total", "invalid_code", 1},
			{"userd_second_factor_logins_total", "success", 1},
		} {
			if got := moved(before, after, tt.name, "outcome", tt.outcome); got != tt.want {
				t.Errorf("%s{outcome=%s} moved by %v; want %v", tt.name, tt.outcome, got, tt.want)
			}
		}
	})
}
