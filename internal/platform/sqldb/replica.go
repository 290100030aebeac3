package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// A replica is a read-only copy of the database, kept up by the engine's
// replication (PostgreSQL's streaming replicas), that View reads from when
// it has replayed every transaction that had committed when the View
// began: a reader sees its own writes, and everyone's before them, as the
// primary would show them.
type replica struct {
	name string
	pool *sql.DB
	// usable is false while the replica does not answer, or has stayed
	// behind the primary for longer than the DB's maxLag.
	usable atomic.Bool
}

// errBehind is a replica that has not replayed far enough for a View.
var errBehind = errors.New("replica behind")

// replicaProbe is how often the replicas' state is read.
const replicaProbe = 250 * time.Millisecond

// SetReplicas makes View read from the pools of replicas (by name, for the
// log) when they are up to date enough, and skip any that does not answer
// or stays behind the primary for longer than maxLag, read every 250 ms
// until ctx ends.
func (db *DB) SetReplicas(ctx context.Context, pools map[string]*sql.DB, maxLag time.Duration) {
	for name, pool := range pools {
		r := &replica{name: name, pool: pool}
		db.replicas = append(db.replicas, r)
		go db.watch(ctx, r, maxLag)
	}
}

// ReplicaReads returns how many Views a replica answered, and how many
// went to the primary because every replica was behind or down.
func (db *DB) ReplicaReads() (replica, primary int64) {
	return db.counts.replicaReads.Load(), db.counts.primaryReads.Load()
}

// watch keeps r.usable: up, and not behind the primary for longer than
// maxLag.
func (db *DB) watch(ctx context.Context, r *replica, maxLag time.Duration) {
	var behindSince time.Time
	tick := time.NewTicker(replicaProbe)
	defer tick.Stop()
	for {
		at, err := db.written(ctx)
		var replayed uint64
		if err == nil {
			replayed, err = db.position(r.pool.QueryRowContext(ctx, db.replayedQuery()))
		}
		now := time.Now()
		switch {
		case err != nil:
			behindSince = time.Time{}
			r.usable.Store(false)
		case replayed >= at:
			behindSince = time.Time{}
			r.usable.Store(true)
		default:
			if behindSince.IsZero() {
				behindSince = now
			}
			r.usable.Store(now.Sub(behindSince) <= maxLag)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// viewOnReplica runs fn in a read-only transaction on a usable replica
// that has replayed what the primary had written when it began, and
// reports whether one did; fn's own error is returned as is.
func (db *DB) viewOnReplica(ctx context.Context, opts *sql.TxOptions, fn func(tx *Tx) error) (bool, error) {
	var usable []*replica
	for _, r := range db.replicas {
		if r.usable.Load() {
			usable = append(usable, r)
		}
	}
	if len(usable) == 0 {
		return false, nil
	}
	at, err := db.written(ctx)
	if err != nil {
		return false, db.unavailable(fmt.Errorf("read the primary's position: %w", err))
	}
	// Spread the readers: the replica after the last one used.
	start := int(db.counts.replicaReads.Load())
	for i := range usable {
		r := usable[(start+i)%len(usable)]
		err := db.run(ctx, r.pool, opts, func(tx *Tx) error {
			replayed, err := db.position(tx.QueryRow(ctx, db.replayedQuery()))
			if err != nil {
				return err
			}
			if replayed < at {
				return errBehind
			}
			return fn(tx)
		})
		switch {
		case err == nil:
			db.counts.replicaReads.Add(1)
			return true, nil
		case errors.Is(err, errBehind):
			continue
		case errors.Is(err, ErrUnavailable):
			r.usable.Store(false)
			continue
		default:
			db.counts.replicaReads.Add(1)
			return true, err
		}
	}
	return false, nil
}

// written returns how far the primary has written.
func (db *DB) written(ctx context.Context) (uint64, error) {
	q, _ := db.dialect.PositionQueries()
	return db.position(db.write.QueryRowContext(ctx, q))
}

// replayedQuery is the statement of a replica's replayed position.
func (db *DB) replayedQuery() string {
	_, q := db.dialect.PositionQueries()
	return q
}

// position reads a position from row.
func (db *DB) position(row interface{ Scan(...any) error }) (uint64, error) {
	var s sql.NullString
	if err := row.Scan(&s); err != nil {
		return 0, fmt.Errorf("read a position: %w", err)
	}
	if !s.Valid {
		return 0, errors.New("read a position: none (not a replica?)")
	}
	return db.dialect.ParsePosition(s.String)
}
