package memo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fed returns a cache of size entries that Run feeds from db, with also,
// for the test's duration, once it listens.
func fed(t *testing.T, db *sqldb.DB, size int, also ...Fed) *Cache[string] {
	t.Helper()
	c := New[string](db.Now, size, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go Run(ctx, db, append([]Fed{c}, also...)...)
	waitLive(t, db, c)
	return c
}

// waitLive waits until Run feeds c, then empties it.
func waitLive(t *testing.T, db *sqldb.DB, c *Cache[string]) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c.Put("probe", "", db.Now(), c.Generation())
		if _, ok := c.Get("probe"); ok {
			c.invalidate(userd.EveryKey)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache never went live")
		}
	}
}

func invalidate(t *testing.T, db *sqldb.DB, keys ...string) {
	t.Helper()
	ctx := context.Background()
	if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { tx.Invalidate(keys...); return nil }); err != nil {
		t.Fatal(err)
	}
}

// rollBack invalidates keys in a transaction that rolls back.
func rollBack(t *testing.T, db *sqldb.DB, keys ...string) {
	t.Helper()
	ctx := context.Background()
	err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		tx.Invalidate(keys...)
		return userd.Errorf(userd.KindConflict, "rolled_back", "roll back")
	})
	if userd.ErrorKind(err) != userd.KindConflict {
		t.Fatalf("the transaction ended with %v; want it rolled back", err)
	}
}

// has fails unless exactly the keys in want are cached, among all.
func has(t *testing.T, c *Cache[string], all []string, want ...string) {
	t.Helper()
	for _, k := range all {
		_, ok := c.Get(k)
		wanted := false
		for _, w := range want {
			wanted = wanted || w == k
		}
		if ok != wanted {
			t.Fatalf("%s cached = %v; want %v", k, ok, wanted)
		}
	}
}

// TestInvalidate: a committed invalidation drops, in the writing process
// before Tx returns, every entry tagged with a key; EveryKey drops all; an
// entry read before an invalidation is not stored after it; a rolled-back
// transaction invalidates nothing.
func TestInvalidate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := fed(t, db, 3)
		all := []string{"t:a", "j:s1", "t:b"}
		fill := func() {
			for _, e := range []struct{ key, user, session string }{{"t:a", "u1", "s1"}, {"j:s1", "u1", "s1"}, {"t:b", "u1", "s2"}} {
				c.Put(e.key, e.user, db.Now(), c.Generation(), userd.UserKey(e.user), userd.SessionKey(e.session))
			}
		}
		fill()
		has(t, c, all, all...)
		invalidate(t, db, userd.SessionKey("s1"))
		has(t, c, all, "t:b")
		fill()
		invalidate(t, db, userd.UserKey("u2"))
		has(t, c, all, all...)
		invalidate(t, db, userd.UserKey("u1"))
		has(t, c, all)
		fill()
		invalidate(t, db, userd.EveryKey)
		has(t, c, all)
		if len(c.index) != 0 {
			t.Fatalf("index after purge: %v", c.index)
		}

		fill()
		rollBack(t, db, userd.UserKey("u1"))
		has(t, c, all, all...)

		gen := c.Generation()
		invalidate(t, db, userd.UserKey("u9"))
		c.Put("t:c", "u9", db.Now(), gen, userd.UserKey("u9"))
		if _, ok := c.Get("t:c"); ok {
			t.Fatal("stored a value read before an invalidation of its tag")
		}
		gen = c.Generation()
		for i, n := 0, 0; n < 100; i++ { // a storm of other rows' invalidations, in other buckets
			if k := fmt.Sprint("i:hot-", i); bucket(k) != bucket(userd.UserKey("u8")) {
				invalidate(t, db, k)
				n++
			}
		}
		c.Put("t:d", "u8", db.Now(), gen, userd.UserKey("u8"))
		if _, ok := c.Get("t:d"); !ok {
			t.Fatal("others' invalidations kept a value from being stored")
		}
		gen = c.Generation()
		invalidate(t, db, userd.EveryKey)
		c.Put("t:e", "u7", db.Now(), gen, userd.UserKey("u7"))
		if _, ok := c.Get("t:e"); ok {
			t.Fatal("stored a value read before everything was invalidated")
		}
	})
}

// TestInvalidateSoon: keys given to InvalidateSoon drop this process's
// entries before Tx returns, and reach another process's cache.
func TestInvalidateSoon(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := fed(t, db, 10)
		ctx := context.Background()
		c.Put("a", "1", db.Now(), c.Generation(), "i:a")
		c.Put("b", "2", db.Now(), c.Generation(), "i:b")
		if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { tx.InvalidateSoon("i:a"); return nil }); err != nil {
			t.Fatal(err)
		}
		has(t, c, []string{"a", "b"}, "b")
	})
}

// TestEviction: an entry evicted for room or for age leaves no tag behind.
func TestEviction(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := fed(t, db, 2)
		now := db.Now()
		c.Put("a", "1", now, c.Generation(), "k1", "shared")
		c.Put("b", "2", now, c.Generation(), "k2", "shared")
		c.Put("c", "3", now, c.Generation(), "k3") // evicts a
		if _, ok := c.index["k1"]; ok || len(c.index["shared"]) != 1 {
			t.Fatalf("index after eviction: %v", c.index)
		}
		c.Put("d", "4", now.Add(-time.Minute), c.Generation(), "k4")
		if _, ok := c.Get("d"); ok {
			t.Fatal("served an entry as old as the bound")
		}
	})
}

// TestOtherProcess: on PostgreSQL, another process's commit reaches this
// process's cache through NOTIFY, sent with the COMMIT; its rollback sends
// nothing.
func TestOtherProcess(t *testing.T) {
	dbs := dbtest.Processes(t, 2)
	mine, theirs := dbs[0], dbs[1]
	c := fed(t, mine, 10)
	gone := func(key string) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if _, ok := c.Get(key); !ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other process's invalidation of %s never arrived", key)
			}
		}
	}
	c.Put("a", "1", mine.Now(), c.Generation(), userd.UserKey("u1"))
	c.Put("b", "2", mine.Now(), c.Generation(), userd.UserKey("u2"))
	c.Put("c", "3", mine.Now(), c.Generation(), "i:c")
	rollBack(t, theirs, userd.UserKey("u2"))
	invalidate(t, theirs, userd.UserKey("u1"))
	gone("a")
	if _, ok := c.Get("b"); !ok {
		t.Fatal("an entry with other tags went too")
	}
	// InvalidateSoon's keys, from many commits at once.
	ctx := context.Background()
	for _, err := range dbtest.AtOnce(20, func(i int) error {
		return theirs.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { tx.InvalidateSoon(fmt.Sprint("i:x", i), "i:c"); return nil })
	}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	gone("c")
	if _, ok := c.Get("b"); !ok {
		t.Fatal("an entry with other tags went too")
	}
}

// TestStats: a cache counts its hits, misses (a missing or stale entry)
// and the entries that invalidations drop, one by one or all at once.
func TestStats(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	c := New[string](func() time.Time { return now }, 10, time.Minute)
	c.setLive(true)
	for _, k := range []string{"a", "b", "c"} {
		c.Put(k, k, now, c.Generation(), "tag-"+k, "shared")
	}
	c.Get("a")
	c.Get("a")
	c.Get("nothing")
	now = now.Add(time.Hour)
	c.Get("b") // too old
	c.invalidate("tag-a")
	c.invalidate("tag-a") // gone already
	if got, want := c.Stats(), (Stats{Hits: 2, Misses: 2, Invalidated: 1, Entries: 2}); got != want {
		t.Fatalf("Stats = %+v; want %+v", got, want)
	}
	c.invalidate("shared")
	c.Put("d", "d", now, c.Generation())
	c.setLive(false)
	if got, want := c.Stats(), (Stats{Hits: 2, Misses: 2, Invalidated: 4, Entries: 0}); got != want {
		t.Fatalf("Stats = %+v; want %+v", got, want)
	}
	var none *Cache[string]
	if got := none.Stats(); got != (Stats{}) {
		t.Fatalf("a nil cache's Stats = %+v", got)
	}
}
