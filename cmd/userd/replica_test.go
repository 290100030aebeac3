package main

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestReadReplica (PostgreSQL's streaming replication): with --replica-url,
// reads go to a real replica made by pg_basebackup, and a read right after
// the caller's write always sees it; once the replica is stopped, reads go
// on at the primary without an error.
func TestReadReplica(t *testing.T) {
	c := dbtest.OwnCluster(t, "replicated")
	r, err := c.StartReplica()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	p := startUserd(t, "--data-dir", filepath.Join(t.TempDir(), "data"), "--database-url", c.URL("replicated"), "--replica-url", r.URL("replicated"),
		"--rate-limits", "off", "--argon2-memory", "64", "--argon2-time", "1")
	ann, annID := signupVia(t, p.base, "ann@example.com")
	_, bobID := signupVia(t, p.base, "bob@example.com")

	replica, err := sql.Open("pgx", r.URL("replicated"))
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	served := func() (n int64) {
		t.Helper()
		if err := replica.QueryRow(`SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'replicated'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// followers reads bob's followers as anyone would, and reports whether
	// ann is one.
	followers := func() bool {
		t.Helper()
		out := call(t, http.MethodGet, p.base+"/v1/users/"+bobID+"/followers?limit=100", "", nil)
		items, _ := out["items"].([]any)
		for _, it := range items {
			if it.(map[string]any)["id"] == annID {
				return true
			}
		}
		return false
	}
	for i := range 30 {
		call(t, http.MethodPut, p.base+"/v1/users/"+bobID+"/follow", ann, nil)
		if !followers() {
			t.Fatalf("round %d: the follow just made is not read back", i)
		}
		call(t, http.MethodDelete, p.base+"/v1/users/"+bobID+"/follow", ann, nil)
		if followers() {
			t.Fatalf("round %d: the unfollow just made is not read back", i)
		}
	}
	// Reads that no write of the moment races go to the replica (a read
	// right after a write goes to the primary until the replica has
	// replayed it, a millisecond or so on loopback).
	before := served()
	for range 30 {
		out := call(t, http.MethodGet, p.base+"/v1/me/sessions", ann, nil)
		if items, _ := out["items"].([]any); len(items) != 1 {
			t.Fatalf("ann's sessions = %v", out)
		}
	}
	if n := served() - before; n < 20 {
		t.Fatalf("the replica ran %d transactions during 30 reads; want most of them", n)
	}

	if err := r.Halt(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		call(t, http.MethodPut, p.base+"/v1/users/"+bobID+"/follow", ann, nil)
		if !followers() {
			t.Fatalf("round %d with the replica down: the follow is not read back", i)
		}
		call(t, http.MethodDelete, p.base+"/v1/users/"+bobID+"/follow", ann, nil)
	}
}
