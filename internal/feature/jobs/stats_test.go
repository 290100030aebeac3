package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestCounts: jobs of four kinds in each state, counted by kind, and the
// age of the oldest due job that no worker holds.
func TestCounts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		db.SetClock(func() time.Time { return t0 })
		ctx := sqldb.System(context.Background())
		exec := func(q string, args ...any) {
			t.Helper()
			if err := db.Tx(ctx, func(tx *sqldb.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		add := func(kind, key string, at time.Time) {
			t.Helper()
			if err := db.Tx(ctx, func(tx *sqldb.Tx) error { return jobs.Enqueue(ctx, tx, kind, key, nil, at) }); err != nil {
				t.Fatal(err)
			}
		}
		// A job that fails its only attempt, one that fails and will retry,
		// and one that succeeds: run them first.
		add("give-up", "g1", t0.Add(-time.Minute))
		exec(`UPDATE jobs SET max_attempts = 1 WHERE key = 'g1'`)
		add("retry", "r1", t0.Add(-time.Minute))
		add("done", "d1", t0.Add(-time.Minute))
		r := jobs.NewRunner(db, quiet)
		fail := func(context.Context, jobs.Job) (time.Time, error) { return time.Time{}, errors.New("down") }
		r.Handle("give-up", fail)
		r.Handle("retry", fail)
		r.Handle("done", func(context.Context, jobs.Job) (time.Time, error) { return time.Time{}, nil })
		if n, err := r.RunDue(ctx); err != nil || n != 3 {
			t.Fatalf("RunDue = %d, %v", n, err)
		}
		// Two waiting (one due 90 s ago, one later), one cancelled, one held
		// by a worker.
		add("wait", "w1", t0.Add(-90*time.Second))
		add("wait", "w2", t0.Add(time.Hour))
		add("wait", "w3", t0.Add(-time.Hour))
		if err := db.Tx(ctx, func(tx *sqldb.Tx) error { return jobs.Cancel(ctx, tx, "w3") }); err != nil {
			t.Fatal(err)
		}
		add("held", "h1", t0.Add(-2*time.Hour))
		exec(`UPDATE jobs SET locked_by = 'other', locked_until = $1 WHERE key = 'h1'`, t0.Add(time.Minute))

		var kinds []jobs.KindCounts
		var oldest time.Duration
		err := db.View(ctx, func(tx *sqldb.Tx) (err error) {
			kinds, oldest, err = jobs.Counts(ctx, tx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []jobs.KindCounts{ // done: finished well, so left out
			{Kind: "give-up", Failed: 1},
			{Kind: "held", Running: 1},
			{Kind: "retry", Waiting: 1, Retrying: 1},
			{Kind: "wait", Waiting: 2},
		}
		if d := cmp.Diff(want, kinds); d != "" {
			t.Errorf("Counts (-want +got):\n%s", d)
		}
		if oldest != 90*time.Second {
			t.Errorf("oldest due = %v, want 90s", oldest)
		}
	})
}
