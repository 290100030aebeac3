package sqldb

import (
	"context"
	"slices"
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

// InvalidateSoon says, as Invalidate does, that the rows behind keys change
// in this transaction, for rows that change too often for each commit to
// notify on its own: PostgreSQL lets one notifying commit through at a time
// (it holds a database-wide lock from the notification to the end of the
// commit's flush), which would queue every writer of a hot counter behind
// each other. This process's receivers get the keys right after the commit,
// as Invalidate's; other processes get them in one notification for every
// transaction that committed while the last one was being sent, before Tx
// returns. A process that stops between its commit and that notification,
// or whose notification fails, leaves the others' caches to their age
// bound.
func (tx *Tx) InvalidateSoon(keys ...string) {
	tx.soon = append(tx.soon, keys...)
}

// maxPayload keeps a notification under PostgreSQL's limit of 8,000 bytes.
const maxPayload = 7900

// payloads returns keys in notifications of the invalidation channel, each
// under maxPayload and starting with the DB's origin.
func (db *DB) payloads(keys []string) []string {
	var out []string
	var b strings.Builder
	for _, k := range keys {
		if b.Len() > 0 && b.Len()+1+len(k) > maxPayload {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString(db.origin)
		}
		b.WriteByte(' ')
		b.WriteString(k)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// announce hands the transaction's invalidated keys to Notify before its
// commit (PostgreSQL sends them in the COMMIT's round trip), and has them
// and InvalidateSoon's delivered in this process after it.
func (tx *Tx) announce(ctx context.Context) error {
	for _, p := range tx.db.payloads(tx.invalid) {
		if err := tx.Notify(ctx, InvalidateChannel, p); err != nil {
			return err
		}
	}
	if len(tx.invalid)+len(tx.soon) > 0 {
		tx.AfterCommit(func() {
			for _, k := range tx.invalid {
				tx.db.local.call(k)
			}
			for _, k := range tx.soon {
				tx.db.local.call(k)
			}
		})
	}
	return nil
}

// notifier sends InvalidateSoon's keys to other processes from one
// goroutine, which gathers those of every commit that comes while it
// sends.
type notifier struct {
	once    sync.Once
	batches chan batch
	closed  chan struct{}
	stop    sync.Once
}

// batch is one transaction's keys, and done, closed once they are sent.
type batch struct {
	keys []string
	done chan struct{}
}

func newNotifier() notifier {
	return notifier{batches: make(chan batch, 256), closed: make(chan struct{})}
}

func (n *notifier) close() { n.stop.Do(func() { close(n.closed) }) }

// sendSoon has keys notified to other processes and waits until they are
// (or the DB closes). Nothing is sent where notifications reach this
// process alone: it had the keys at the commit.
func (db *DB) sendSoon(keys []string) {
	if len(keys) == 0 || !db.dialect.Shared() {
		return
	}
	n := &db.soon
	n.once.Do(func() { go db.notifyLoop() })
	b := batch{keys: keys, done: make(chan struct{})}
	select {
	case n.batches <- b:
	case <-n.closed:
		return
	}
	select {
	case <-b.done:
	case <-n.closed:
	}
}

// notifyLoop sends the keys of the batches that wait, all at once, in a
// transaction of its own, until the DB closes.
func (db *DB) notifyLoop() {
	n := &db.soon
	ctx := System(context.Background())
	for {
		var waiting []batch
		select {
		case b := <-n.batches:
			waiting = append(waiting, b)
		case <-n.closed:
			return
		}
		for more := true; more; {
			select {
			case b := <-n.batches:
				waiting = append(waiting, b)
			default:
				more = false
			}
		}
		var keys []string
		for _, b := range waiting {
			keys = append(keys, b.keys...)
		}
		slices.Sort(keys)
		// A failure leaves the others' caches to their age bound (see
		// InvalidateSoon): the writes have committed.
		_ = db.Tx(ctx, func(tx *Tx) error {
			for _, p := range db.payloads(slices.Compact(keys)) {
				if err := tx.Notify(ctx, InvalidateChannel, p); err != nil {
					return err
				}
			}
			return nil
		})
		for _, b := range waiting {
			close(b.done)
		}
	}
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
	}, db.tracked(InvalidateChannel, live))
}
