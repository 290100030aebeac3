package sqldb

import (
	"context"
	"strings"
	"sync"
)

// InvalidateChannel carries the keys of changed rows that processes keep in
// memory: the sending DB's origin, then the keys, separated by spaces.
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
// milliseconds of the commit). The keys of a transaction travel together
// with its commit (see announce).
func (tx *Tx) Invalidate(keys ...string) {
	tx.invalid = append(tx.invalid, keys...)
}

// maxPayload keeps a notification under PostgreSQL's limit of 8,000 bytes.
const maxPayload = 7900

// announce hands the transaction's invalidated keys to Notify before its
// commit (PostgreSQL sends them in the COMMIT's round trip), in payloads
// under maxPayload, and has them delivered in this process after it.
func (tx *Tx) announce(ctx context.Context) error {
	if len(tx.invalid) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(tx.db.origin)
	for i, k := range tx.invalid {
		if b.Len() > len(tx.db.origin) && b.Len()+1+len(k) > maxPayload {
			if err := tx.Notify(ctx, InvalidateChannel, b.String()); err != nil {
				return err
			}
			b.Reset()
			b.WriteString(tx.db.origin)
		}
		b.WriteByte(' ')
		b.WriteString(k)
		if i == len(tx.invalid)-1 {
			if err := tx.Notify(ctx, InvalidateChannel, b.String()); err != nil {
				return err
			}
		}
	}
	tx.AfterCommit(func() {
		for _, k := range tx.invalid {
			tx.db.local.call(k)
		}
	})
	return nil
}

// Invalidations calls fn with every key that a transaction of any process
// invalidates, until ctx ends; it returns ctx's error then. Keys of this
// DB's transactions come once, right after their commit; others' as the
// database delivers them. live(false) says that keys may have been missed
// from then on (the listening connection broke) and live(true) that none
// are missed again (it listens anew): a cache drops everything at both.
func (db *DB) Invalidations(ctx context.Context, fn func(key string), live func(bool)) error {
	db.local.add(&fn)
	defer db.local.remove(&fn)
	return db.dialect.Listen(ctx, InvalidateChannel, func(payload string) {
		origin, keys, _ := strings.Cut(payload, " ")
		if origin == db.origin {
			return // delivered at the commit
		}
		for k := range strings.FieldsSeq(keys) {
			fn(k)
		}
	}, live)
}
