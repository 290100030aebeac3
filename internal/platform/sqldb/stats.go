package sqldb

import (
	"database/sql"
	"maps"
	"sync"
	"sync/atomic"
)

// counters are what a DB counts of its own work, for metrics.
type counters struct {
	retries atomic.Uint64 // transactions run again after a transient conflict
	// Views that a replica answered, and that went to the primary while
	// there were replicas (see View).
	replicaReads, primaryReads atomic.Int64

	mu        sync.Mutex
	listening map[string]int // channel → listening connections up now
}

// PoolStats is the state of one connection pool.
type PoolStats struct {
	// Name is "write" or "read" for SQLite's two pools, "shared" for
	// PostgreSQL's one.
	Name string
	sql.DBStats
}

// Pools returns the state of the DB's connection pools.
func (db *DB) Pools() []PoolStats {
	if db.read == db.write {
		return []PoolStats{{Name: "shared", DBStats: db.write.Stats()}}
	}
	return []PoolStats{{Name: "write", DBStats: db.write.Stats()}, {Name: "read", DBStats: db.read.Stats()}}
}

// Retries returns how many times a transaction was run again after a
// transient conflict (a serialization failure or a deadlock; never on
// SQLite, whose one writer leaves none).
func (db *DB) Retries() uint64 { return db.counts.retries.Load() }

// Listening returns, for each channel that a Listen or Invalidations of
// this DB listens on, how many of its listening connections are up now. It
// returns nil where notifications do not leave the process (SQLite), which
// holds no such connection.
func (db *DB) Listening() map[string]int {
	if !db.dialect.Shared() {
		return nil
	}
	db.counts.mu.Lock()
	defer db.counts.mu.Unlock()
	return maps.Clone(db.counts.listening)
}

// tracked returns the connected callback for a dialect's Listen on
// channel: it keeps count of the connection's state for Listening, and
// tells connected (when not nil).
func (db *DB) tracked(channel string, connected func(bool)) func(bool) {
	c := &db.counts
	c.mu.Lock()
	if c.listening == nil {
		c.listening = map[string]int{}
	}
	if _, ok := c.listening[channel]; !ok {
		c.listening[channel] = 0
	}
	c.mu.Unlock()
	return func(up bool) {
		c.mu.Lock()
		if up {
			c.listening[channel]++
		} else {
			c.listening[channel]--
		}
		c.mu.Unlock()
		if connected != nil {
			connected(up)
		}
	}
}
