package main

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestReadReplica (PostgreSQL's streaming replication): two processes with
// --replica-url behind HAProxy read from a real replica made by
// pg_basebackup, and a read right after the caller's write, through the
// balancer and so on the other process, always sees it; once the replica
// is stopped, reads go on at the primary without an error.
func TestReadReplica(t *testing.T) {
	c := dbtest.OwnCluster(t, "replicated")
	r, err := c.StartReplica()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	args := []string{"--data-dir", filepath.Join(t.TempDir(), "data"), "--database-url", c.URL("replicated"), "--replica-url", r.URL("replicated"),
		"--rate-limits", "off", "--argon2-memory", "64", "--argon2-time", "1"}
	front := startHAProxy(t, []*process{startUserd(t, args...), startUserd(t, args...)})
	ann, _ := signupVia(t, front, "ann@example.com")

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
	// sessions returns how many sessions ann has, as the sessions list
	// (read from the database each time, never from a cache) says.
	sessions := func() int {
		t.Helper()
		out := call(t, http.MethodGet, front+"/v1/me/sessions", ann, nil)
		items, _ := out["items"].([]any)
		return len(items)
	}
	// Each write goes through the balancer to one process and the read
	// right after it to the other.
	for i := range 15 {
		out := call(t, http.MethodPost, front+"/v1/auth/login", "", map[string]string{"identifier": "ann@example.com", "password": "correct horse battery"})
		id, _ := out["session"].(map[string]any)["id"].(string)
		if n := sessions(); n != 2 {
			t.Fatalf("round %d: %d sessions right after a log-in; want 2", i, n)
		}
		call(t, http.MethodDelete, front+"/v1/me/sessions/"+id, ann, nil)
		if n := sessions(); n != 1 {
			t.Fatalf("round %d: %d sessions right after ending one; want 1", i, n)
		}
	}
	// Reads that no write of the moment races go to the replica (a read
	// right after a write goes to the primary until the replica has
	// replayed it, a millisecond or so on loopback).
	// (Each count is itself a transaction on the replica: counts are
	// taken off.)
	before, counts, reads := served(), int64(0), 0
	for ; reads < 300; reads++ {
		out := call(t, http.MethodGet, front+"/v1/me/sessions", ann, nil)
		if items, _ := out["items"].([]any); len(items) != 1 {
			t.Fatalf("ann's sessions = %v", out)
		}
		if reads%10 == 9 {
			counts++
			if served()-before-counts >= 20 {
				break
			}
		}
	}
	if reads == 300 {
		t.Fatalf("the replica answered %d of 300 reads with no write between; want 20", served()-before-counts-1)
	}

	if err := r.Halt(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		out := call(t, http.MethodPost, front+"/v1/auth/login", "", map[string]string{"identifier": "ann@example.com", "password": "correct horse battery"})
		id, _ := out["session"].(map[string]any)["id"].(string)
		if n := sessions(); n != 2 {
			t.Fatalf("round %d with the replica down: %d sessions; want 2", i, n)
		}
		call(t, http.MethodDelete, front+"/v1/me/sessions/"+id, ann, nil)
	}
}
