package sqldb

import (
	"context"
	"strings"
	"sync"
)

// InvalidateChannel carries the keys of changed rows that processes keep in
// memory, separated by spaces.
const InvalidateChannel = "userd_invalidate"

// subscribers are this process's receivers of invalidations, called right
// after the commit that made them.
type subscribers struct {
	mu  sync.Mutex
	fns map[*func(string)]struct{}
}

func (s *subscribers) add(fn *func(string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = map[*func(string)]struct{}{}
	}
	s.fns[fn] = struct{}{}
}

func (s *subscribers) remove(fn *func(string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.fns, fn)
}

func (s *subscribers) call(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for fn := range s.fns {
		(*fn)(key)
	}
}

// Invalidate says that the rows behind keys change in this transaction.
// Once it commits, every Invalidations receiver of this process gets the
// keys before Tx returns, and those of other processes get them through
// the database's notifications (PostgreSQL's NOTIFY, delivered within
// milliseconds of the commit).
func (tx *Tx) Invalidate(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := tx.Notify(ctx, InvalidateChannel, strings.Join(keys, " ")); err != nil {
		return err
	}
	tx.AfterCommit(func() {
		for _, k := range keys {
			tx.db.local.call(k)
		}
	})
	return nil
}

// Invalidations calls fn with every key that a transaction of any process
// invalidates, until ctx ends; it returns ctx's error then. A key may come
// more than once. live(false) says that keys may have been missed from then
// on (the listening connection broke) and live(true) that none are missed
// again (it listens anew): a cache drops everything at both.
func (db *DB) Invalidations(ctx context.Context, fn func(key string), live func(bool)) error {
	db.local.add(&fn)
	defer db.local.remove(&fn)
	return db.dialect.Listen(ctx, InvalidateChannel, func(payload string) {
		for k := range strings.FieldsSeq(payload) {
			fn(k)
		}
	}, live)
}
