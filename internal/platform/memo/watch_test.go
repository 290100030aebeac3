package memo

import (
	"context"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// signalled reports whether w has a signal pending, and takes it.
func signalled(w *Watch) bool {
	select {
	case <-w.C():
		return true
	default:
		return false
	}
}

// wantSignals fails unless exactly the watches marked true have a signal
// pending.
func wantSignals(t *testing.T, step string, watches []*Watch, want ...bool) {
	t.Helper()
	for i, w := range watches {
		if got := signalled(w); got != want[i] {
			t.Fatalf("%s: watch %d signalled = %v; want %v", step, i, got, want[i])
		}
	}
}

// TestWatchers: a committed invalidation signals, in the writing process
// before Tx returns, the watchers of its keys and no others; EveryKey
// signals all; signals merge; a rolled-back transaction and a stopped watch
// signal nothing.
func TestWatchers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ws := NewWatchers()
		fed(t, db, 1, ws)
		session := ws.Watch(userd.SessionKey("s1"), userd.UserKey("u1"))
		user := ws.Watch(userd.UserKey("u1"))
		other := ws.Watch(userd.UserKey("u2"))
		all := []*Watch{session, user, other}

		invalidate(t, db, userd.SessionKey("s1"))
		wantSignals(t, "session key", all, true, false, false)
		invalidate(t, db, userd.UserKey("u1"), userd.SessionKey("s1"))
		wantSignals(t, "user and session keys, merged", all, true, true, false)
		invalidate(t, db, userd.EveryKey)
		wantSignals(t, "every key", all, true, true, true)
		rollBack(t, db, userd.UserKey("u2"))
		wantSignals(t, "rolled back", all, false, false, false)

		other.Stop()
		invalidate(t, db, userd.UserKey("u2"), userd.EveryKey)
		wantSignals(t, "stopped", all, true, true, false)
		if len(ws.byKey) != 2 || len(ws.all) != 2 {
			t.Fatalf("after Stop: %d keys, %d watches; want 2, 2", len(ws.byKey), len(ws.all))
		}
	})
}

// TestWatchersWhenFeedStops: when Run's subscription ends, invalidations
// may be missed from then on, and every watcher is told to check again.
func TestWatchersWhenFeedStops(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ws := NewWatchers()
		c := New[string](db.Now, 1, time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() { defer close(stopped); Run(ctx, db, c, ws) }()
		waitLive(t, db, c)
		w := ws.Watch(userd.UserKey("u1"))
		cancel()
		<-stopped
		if !signalled(w) {
			t.Fatal("a watcher was not told that invalidations may be missed")
		}
	})
}
