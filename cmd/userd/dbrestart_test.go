package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestDatabaseRestart (PostgreSQL's: SQLite is a file of the process):
// while PostgreSQL is down, requests that need it fail at once with 503
// database_unavailable and a Retry-After, and /readyz says so; once it is
// back, the same process serves again, and what committed before is there.
func TestDatabaseRestart(t *testing.T) {
	c := dbtest.OwnCluster(t, "restart")
	p := startUserd(t, "--data-dir", filepath.Join(t.TempDir(), "data"), "--database-url", c.URL("restart"),
		"--rate-limits", "off", "--argon2-memory", "64", "--argon2-time", "1")
	signupVia(t, p.base, "before@example.com")

	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second} // a hang fails the test, not the run
	answer := func(method, path string, body any) (int, map[string]any, http.Header) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, p.base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out, res.Header
	}
	for path, body := range map[string]map[string]string{
		"/v1/auth/signup": {"email": "during@example.com", "password": "correct horse battery"},
		"/v1/auth/login":  {"identifier": "before@example.com", "password": "correct horse battery"},
	} {
		status, out, h := answer("POST", path, body)
		if status != http.StatusServiceUnavailable || out["code"] != "database_unavailable" || h.Get("Retry-After") == "" {
			t.Errorf("%s while the database is down = %d %v (Retry-After %q)", path, status, out, h.Get("Retry-After"))
		}
	}
	if status, out, _ := answer("GET", "/readyz", nil); status != http.StatusServiceUnavailable || out["code"] != "database_unavailable" {
		t.Errorf("/readyz while the database is down = %d %v", status, out)
	}

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, _ := answer("GET", "/readyz", nil)
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d 30 s after the database came back", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, out, _ := answer("POST", "/v1/auth/login", map[string]string{"identifier": "before@example.com", "password": "correct horse battery"}); status != http.StatusOK {
		t.Fatalf("log-in of the user made before = %d %v", status, out)
	}
	signupVia(t, p.base, "after@example.com")
}
