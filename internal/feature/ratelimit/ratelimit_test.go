package ratelimit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var rule = ratelimit.Rule{Max: 10, Window: time.Minute}

// TestHitReservesExactly: of 30 concurrent hits on one key exactly Max
// pass; a refund lets exactly one more through.
func TestHitReservesExactly(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l := ratelimit.New(db, true)
		var mu sync.Mutex
		passed, refused := 0, 0
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() {
				err := l.Hit(ctx, "test:key", rule)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					passed++
				case userd.ErrorKind(err) == userd.KindRateLimited:
					refused++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if passed != rule.Max || refused != 30-rule.Max {
			t.Fatalf("%d passed, %d refused; want %d and %d", passed, refused, rule.Max, 30-rule.Max)
		}
		// The refused hits counted too: give back enough to pass once.
		for range 30 - rule.Max + 1 {
			if err := l.Refund(ctx, "test:key"); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Hit(ctx, "test:key", rule); err != nil {
			t.Fatalf("after refunds: %v", err)
		}
		if err := l.Hit(ctx, "test:key", rule); userd.ErrorKind(err) != userd.KindRateLimited {
			t.Fatalf("past the limit again: %v", err)
		}
		if err := l.Reset(ctx, "test:key"); err != nil {
			t.Fatal(err)
		}
		if err := l.Hit(ctx, "test:key", rule); err != nil {
			t.Fatalf("after a reset: %v", err)
		}
	})
}

// TestKeysHaveAFixedSize: a megabyte key is stored as its scope and a hash.
func TestKeysHaveAFixedSize(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		l := ratelimit.New(db, true)
		if err := l.Hit(context.Background(), "login:ident:"+strings.Repeat("x", 1<<20), rule); err != nil {
			t.Fatal(err)
		}
		var key string
		if err := db.SQL().QueryRow(`SELECT key FROM rate_limits`).Scan(&key); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, "login:") || len(key) != len("login:")+43 {
			t.Fatalf("stored key %q (%d bytes)", key[:min(len(key), 80)], len(key))
		}
	})
}

// TestHitAllCountsEachKey: hits of several keys in one statement take
// their window's places in order: a key named four times against a Max of
// two passes twice, then is refused, each key's first refusal marked; a
// key whose window has passed starts a new one.
func TestHitAllCountsEachKey(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := dbtest.NewClock(db, time.Now())
		l := ratelimit.New(db, true)
		two := ratelimit.Rule{Max: 2, Window: time.Minute}
		if err := l.Hit(ctx, "vote:b", two); err != nil {
			t.Fatal(err)
		}
		var refusals []error
		err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
			refusals, err = l.HitAll(ctx, tx, []string{"vote:a", "vote:b", "vote:a", "vote:a", "vote:b", "vote:a"}, two)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, r := range refusals {
			var rl *ratelimit.Error
			switch {
			case r == nil:
				got += "."
			case errors.As(r, &rl) && rl.First:
				got += "F"
			case errors.As(r, &rl):
				got += "x"
			default:
				t.Fatal(r)
			}
		}
		if want := "...FFx"; got != want {
			t.Fatalf("refusals %q; want %q (b had one hit before)", got, want)
		}
		clock.Add(time.Minute)
		err = db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
			refusals, err = l.HitAll(ctx, tx, []string{"vote:a", "vote:a"}, two)
			return err
		})
		if err != nil || refusals[0] != nil || refusals[1] != nil {
			t.Fatalf("a new window: %v, %v", refusals, err)
		}
	})
}
