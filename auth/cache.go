package auth

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/userd/userd"
)

// DefaultCachedCallers is how many signed-in callers Authenticate keeps in
// memory unless configured otherwise: about 1 KiB each.
const DefaultCachedCallers = 10_000

// recheckAfter is how long Authenticate trusts what it read before it reads
// again: the bound on how late it sees a change that no invalidation
// announced (another process writing to the same SQLite file, such as
// `userd users delete`; a hand-written UPDATE; a notification lost with a
// connection).
const recheckAfter = 5 * time.Second

// callers is what Authenticate remembers of the credentials that passed: the
// session's times and the user with their grants, each entry valid until a
// transaction of any process invalidates its user or its session
// (sqldb.Tx.Invalidate), until recheckAfter has passed, or until the
// session's own limits end it.
//
// A lookup that missed reads the database and then stores what it read
// only when no invalidation came in between (gen), so that an answer read
// before a change cannot outlive the change. While the process may be
// missing invalidations (its listening connection broke) the cache holds
// nothing.
type callers struct {
	mu    sync.Mutex
	live  bool
	gen   uint64
	lru   *simplelru.LRU[string, *cached]
	index map[string]map[string]struct{} // invalidation key → credential keys
}

// cached is one remembered credential, read from the database at read.
type cached struct {
	Caller
	read     time.Time
	expires  time.Time
	lastSeen time.Time
}

// valid reports whether the entry is recent enough to trust and the
// session neither expired nor idle at now.
func (c *cached) valid(now time.Time, idle time.Duration) bool {
	return now.Sub(c.read) < recheckAfter && now.Before(c.expires) && c.lastSeen.After(now.Add(-idle))
}

// newCallers returns a cache of size entries, or nil for size < 1.
func newCallers(size int) *callers {
	if size < 1 {
		return nil
	}
	c := &callers{index: map[string]map[string]struct{}{}}
	c.lru, _ = simplelru.NewLRU(size, c.unindex) // size ≥ 1: no error
	return c
}

// run keeps the cache in step with every process's invalidations until ctx
// ends.
func (c *callers) run(ctx context.Context, s *Service) error {
	return s.DB.Invalidations(ctx, c.invalidate, func(live bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.live = live
		c.purgeLocked()
	})
}

// generation returns the count of invalidations so far, for put. The
// methods of a nil cache (one turned off) remember nothing.
func (c *callers) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// get returns the entry of a credential key.
func (c *callers) get(key string) (cached, bool) {
	if c == nil {
		return cached{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(key)
	if !ok {
		return cached{}, false
	}
	return *e, true
}

// put stores e under key unless an invalidation came after generation gen.
func (c *callers) put(key string, e cached, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	c.lru.Add(key, &e)
	for _, k := range []string{userd.UserKey(e.Actor.UserID), userd.SessionKey(e.Actor.SessionID)} {
		if c.index[k] == nil {
			c.index[k] = map[string]struct{}{}
		}
		c.index[k][key] = struct{}{}
	}
}

// invalidate drops the entries that key names.
func (c *callers) invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if key == userd.EveryKey {
		c.purgeLocked()
		return
	}
	for cred := range c.index[key] {
		c.lru.Remove(cred) // unindex deletes from c.index
	}
}

func (c *callers) purgeLocked() {
	c.gen++
	c.lru.Purge() // unindex empties c.index
}

// unindex is the LRU's eviction callback: it runs under c.mu.
func (c *callers) unindex(cred string, e *cached) {
	for _, k := range []string{userd.UserKey(e.Actor.UserID), userd.SessionKey(e.Actor.SessionID)} {
		delete(c.index[k], cred)
		if len(c.index[k]) == 0 {
			delete(c.index, k)
		}
	}
}
