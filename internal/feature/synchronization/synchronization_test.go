package synchronization_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// pendingJobs counts the jobs not yet done.
func pendingJobs(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM jobs WHERE done_at IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestServiceRules: a synchronization needs its service and account, is
// one per (service, account) of a user, another user's is not found, a
// daily time schedules a job and a deletion cancels it, and a sync cannot
// finish in the future.
func TestServiceRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ring, err := seal.NewKeyring(bytes.Repeat([]byte{3}, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		s := synchronization.NewService(db, ring)
		ann, bob := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com")
		str := func(v string) *string { return &v }
		if _, err := s.Create(ctx, ann, synchronization.Patch{Service: str("TopstepTrader")}); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("no account id = %v", err)
		}
		p := synchronization.Patch{Service: str("TopstepTrader"), AccountID: str("TS-1"), Token: str("tok-secret"), DailySyncTime: str("06:30"), TimeZone: str("Europe/Paris")}
		sy, err := s.Create(ctx, ann, p)
		if err != nil || !sy.HasToken || sy.DailySyncTime == nil || *sy.DailySyncTime != "06:30" {
			t.Fatalf("create = %+v, %v", sy, err)
		}
		if _, err := s.Create(ctx, ann, p); !errors.Is(err, synchronization.ErrExists) {
			t.Fatalf("the same account twice = %v", err)
		}
		if _, err := s.Get(ctx, bob, sy.ID); !errors.Is(err, synchronization.ErrNotFound) {
			t.Fatalf("bob reading ann's = %v", err)
		}
		if n := pendingJobs(t, db); n != 1 {
			t.Fatalf("pending jobs after a daily time = %d; want 1", n)
		}
		future := db.Now().Add(time.Hour)
		if _, err := s.Complete(ctx, ann, sy.ID, &future); !errors.Is(err, synchronization.ErrInFuture) {
			t.Fatalf("a sync finished in the future = %v", err)
		}
		done, err := s.Complete(ctx, ann, sy.ID, nil)
		if err != nil || done.LastSyncedAt == nil {
			t.Fatalf("complete = %+v, %v", done, err)
		}
		if err := s.Delete(ctx, ann, sy.ID); err != nil {
			t.Fatal(err)
		}
		if n := pendingJobs(t, db); n != 0 {
			t.Fatalf("pending jobs after the deletion = %d", n)
		}
		if err := s.Delete(ctx, ann, "not-an-id"); !errors.Is(err, synchronization.ErrNotFound) {
			t.Fatalf("a malformed id = %v", err)
		}
	})
}
