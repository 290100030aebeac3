package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestMetricsAddr: /metrics is on the API's address by default; with
// --metrics-addr it is there alone, and the API's address answers 404.
func TestMetricsAddr(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			base, stop := startServe(t, dbArgs(t, engine))
			if base == "" {
				t.Fatal(stop())
			}
			scrape(t, base+"/metrics")
			if err := stop(); err != nil {
				t.Fatal(err)
			}

			private := freeAddr(t)
			base, stop = startServe(t, append([]string{"--metrics-addr", private}, dbArgs(t, engine)...))
			if base == "" {
				t.Fatal(stop())
			}
			defer stop()
			families := scrape(t, "http://"+private+"/metrics")
			for _, name := range []string{"userd_db_connections_open", "userd_password_hashes_running", "userd_jobs_oldest_due_age_seconds", "go_goroutines"} {
				if families[name] == nil {
					t.Errorf("%s is missing", name)
				}
			}
			_, listen := families["userd_db_listen_connected"]
			if listen != (engine == "postgres") {
				t.Errorf("userd_db_listen_connected present = %v on %s", listen, engine)
			}
			res, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("GET /metrics on the API's address = %d with --metrics-addr; want 404", res.StatusCode)
			}
		})
	}
}

// scrape reads a metrics page and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s = %d %s: %s", url, res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return families
}
