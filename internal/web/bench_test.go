package web_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// BenchmarkGetMe: one client's GET /v1/me with a session token, over
// loopback HTTP, on each engine — W1 at one connection, for profiling. The
// server counts and times each request for /metrics, as serve's does.
func BenchmarkGetMe(b *testing.B) {
	for _, engine := range dbtest.Engines {
		b.Run(engine, func(b *testing.B) {
			c := startWith(b, dbtest.Open(b, engine), options{metrics: true})
			_, tok := c.signup(map[string]any{"email": "ann@example.com"})
			req, _ := http.NewRequest("GET", c.url+"/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			for b.Loop() {
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("GET /v1/me = %d", res.StatusCode)
				}
			}
		})
	}
}

// BenchmarkHealthz: GET /healthz as BenchmarkGetMe sends GET /v1/me, the
// floor W1 is measured against (performance.md: W1 at least 0.6 of it).
func BenchmarkHealthz(b *testing.B) {
	for _, engine := range dbtest.Engines {
		b.Run(engine, func(b *testing.B) {
			c := startWith(b, dbtest.Open(b, engine), options{metrics: true})
			req, _ := http.NewRequest("GET", c.url+"/healthz", nil)
			for b.Loop() {
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("GET /healthz = %d", res.StatusCode)
				}
			}
		})
	}
}
