package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrInSnapshot is what Tx returns within DB.Snapshot, whose transaction
// only reads.
var ErrInSnapshot = errors.New("sqldb: a write within a snapshot")

// snapshotKey is the context key of a DB's snapshot.
type snapshotKey struct{ db *DB }

// snapshot is the read-only transaction that the Views within a
// DB.Snapshot share, one at a time.
type snapshot struct {
	db    *DB
	mu    sync.Mutex
	tx    *sql.Tx
	scope Scope // the scope the transaction's statements run in now
	now   time.Time
}

// Snapshot runs fn with a context in which every View of db reads from one
// read-only transaction, at the dialect's SnapshotIsolation, with one Now:
// what fn reads through several services, each in Views of its own, is one
// state of the database, however long fn takes (an export that streams).
// Each View enters its own scope in the shared transaction. A Tx within fn
// returns ErrInSnapshot. ctx must carry a scope, as for View.
func (db *DB) Snapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	scope, err := ScopeOf(ctx)
	if err != nil {
		return err
	}
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: db.dialect.SnapshotIsolation()})
	if err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback() // it wrote nothing: ending it is all
	snap := &snapshot{db: db, tx: tx, scope: scope, now: db.Now()}
	return fn(context.WithValue(ctx, snapshotKey{db}, snap))
}

// view runs a View's fn in the snapshot's transaction, in ctx's scope.
func (s *snapshot) view(ctx context.Context, fn func(tx *Tx) error) error {
	scope, err := ScopeOf(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &Tx{tx: s.tx, db: s.db, dialect: s.db.dialect, outbox: &Outbox{}, Now: s.now}
	if scope != s.scope {
		if err := s.db.dialect.EnterScope(ctx, tx, scope); err != nil {
			return fmt.Errorf("enter scope: %w", err)
		}
		s.scope = scope
	}
	return fn(tx)
}
