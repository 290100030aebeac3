// Package memo keeps what a process read from the database in memory until
// a transaction of any process invalidates it (sqldb.Tx.Invalidate), or
// until it is older than the cache's bound.
//
// A value read before an invalidation is never stored after it: Load and
// Put compare the count of invalidations at the start of the read with the
// count when the value's tags were last invalidated (kept per hash bucket
// of tags, so that a storm of invalidations of other rows does not keep a
// cache from storing). While the process may be missing invalidations
// (its listening connection is down) the caches hold nothing.
package memo

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// buckets is how many hash buckets of tags a Cache keeps the last
// invalidation of: tags that share one only cost each other a store.
const buckets = 1024

var seed = maphash.MakeSeed()

func bucket(tag string) int { return int(maphash.String(seed, tag) % buckets) }

// Cache remembers values of type V under string keys, each with the
// invalidation keys (tags) that name what it was read from.
type Cache[V any] struct {
	now    func() time.Time
	maxAge time.Duration

	mu    sync.Mutex
	live  bool
	gen   uint64          // invalidations so far
	all   uint64          // gen when everything was last dropped
	last  [buckets]uint64 // gen when a tag of the bucket was last invalidated
	lru   *simplelru.LRU[string, *entry[V]]
	index map[string]map[string]struct{} // tag → keys
	stats Stats                          // counted under mu
}

// Stats count what a Cache was asked and what it dropped, since it was
// made.
type Stats struct {
	Hits   uint64 // Get (or Load) found a young enough value
	Misses uint64 // it did not
	// Invalidated counts the entries dropped because an invalidation named
	// what they were read from, or because invalidations may have been
	// missed (the listening connection broke).
	Invalidated uint64
	Entries     int // entries held now
}

// Stats returns the cache's counts; zero for a nil cache (one that
// remembers nothing).
func (c *Cache[V]) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Entries = c.lru.Len()
	return st
}

type entry[V any] struct {
	v    V
	read time.Time
	tags []string
}

// New returns a cache of size entries that trusts an entry for maxAge by
// the clock now (the database's, sqldb.DB.Now, which tests move); nil, a
// cache that remembers nothing, when size < 1. It holds nothing until Run
// feeds it.
func New[V any](now func() time.Time, size int, maxAge time.Duration) *Cache[V] {
	if size < 1 {
		return nil
	}
	c := &Cache[V]{now: now, maxAge: maxAge, index: map[string]map[string]struct{}{}}
	c.lru, _ = simplelru.NewLRU(size, c.unindex) // size ≥ 1: no error
	return c
}

// Generation returns the count of invalidations so far, for Put.
func (c *Cache[V]) Generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Get returns the value under key if it is there and young enough.
func (c *Cache[V]) Get(key string) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(key)
	if !ok || now.Sub(e.read) >= c.maxAge {
		c.stats.Misses++
		return zero, false
	}
	c.stats.Hits++
	return e.v, true
}

// Put stores v, read at read, under key with its tags, unless one of the
// tags was invalidated after generation gen.
func (c *Cache[V]) Put(key string, v V, read time.Time, gen uint64, tags ...string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.all > gen {
		return
	}
	for _, t := range tags {
		if c.last[bucket(t)] > gen {
			return
		}
	}
	if old, ok := c.lru.Peek(key); ok {
		c.unindex(key, old)
	}
	c.lru.Add(key, &entry[V]{v: v, read: read, tags: tags})
	for _, t := range tags {
		if c.index[t] == nil {
			c.index[t] = map[string]struct{}{}
		}
		c.index[t][key] = struct{}{}
	}
}

// Load returns the value under key, or reads it with read, which also
// returns the tags of what it read, and stores it. read must see only
// committed rows: not the writes of a transaction it runs in.
func (c *Cache[V]) Load(key string, read func() (V, []string, error)) (V, error) {
	if v, ok := c.Get(key); ok {
		return v, nil
	}
	gen := c.Generation()
	var at time.Time
	if c != nil {
		at = c.now()
	}
	v, tags, err := read()
	if err == nil {
		c.Put(key, v, at, gen, tags...)
	}
	return v, err
}

// invalidate drops the entries tagged with key, or all for EveryKey.
func (c *Cache[V]) invalidate(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if key == userd.EveryKey {
		c.all = c.gen
		c.stats.Invalidated += uint64(c.lru.Len())
		c.lru.Purge() // unindex empties c.index
		return
	}
	c.last[bucket(key)] = c.gen
	c.stats.Invalidated += uint64(len(c.index[key]))
	for k := range c.index[key] {
		c.lru.Remove(k) // unindex deletes from c.index
	}
}

// setLive drops everything and says whether the cache may store again.
func (c *Cache[V]) setLive(live bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = live
	c.gen++
	c.all = c.gen
	c.stats.Invalidated += uint64(c.lru.Len())
	c.lru.Purge()
}

// unindex is the LRU's eviction callback: it runs under c.mu.
func (c *Cache[V]) unindex(key string, e *entry[V]) {
	for _, t := range e.tags {
		delete(c.index[t], key)
		if len(c.index[t]) == 0 {
			delete(c.index, t)
		}
	}
}

// Fed is a *Cache of any type, for Run.
type Fed interface {
	invalidate(key string)
	setLive(live bool)
}

// Run feeds the caches every process's invalidations until ctx ends, over
// one subscription.
func Run(ctx context.Context, db *sqldb.DB, caches ...Fed) error {
	return db.Invalidations(ctx, func(key string) {
		for _, c := range caches {
			c.invalidate(key)
		}
	}, func(live bool) {
		for _, c := range caches {
			c.setLive(live)
		}
	})
}
