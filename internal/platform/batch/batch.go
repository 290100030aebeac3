// Package batch makes concurrent calls share one unit of work (a
// transaction, a statement): under load, many callers pay for one round
// trip; alone, a call goes at once.
package batch

import "sync"

// Batcher makes concurrent calls share transactions: the first call of a
// batch leads it; the batch gathers calls while the batches before it
// commit (up to atOnce at a time), then the leader commits them all at once.
// Every call returns once its batch committed, with the batch's error.
type Batcher[T any] struct {
	max     int // the most values of one batch
	mu      sync.Mutex
	open    *batch[T]     // the batch that calls join; nil when none
	commits chan struct{} // a slot per batch committing
}

// batch is values that commit in one transaction.
type batch[T any] struct {
	values []T
	done   chan struct{} // closed once the batch committed or failed
	err    error
}

// New returns a Batcher of batches of up to max values, atOnce of them
// committing at a time.
func New[T any](max, atOnce int) *Batcher[T] {
	return &Batcher[T]{max: max, commits: make(chan struct{}, atOnce)}
}

// Add puts v in the open batch and waits for the batch to commit. The call
// that opens a batch leads it: it waits for a free commit slot while other
// calls join, closes the batch and runs commit on every value of it.
func (b *Batcher[T]) Add(v T, commit func([]T) error) error {
	b.mu.Lock()
	ba := b.open
	if ba == nil || len(ba.values) == b.max {
		ba = &batch[T]{done: make(chan struct{})}
		b.open = ba
	}
	ba.values = append(ba.values, v)
	lead := len(ba.values) == 1
	b.mu.Unlock()
	if !lead {
		<-ba.done
		return ba.err
	}
	b.commits <- struct{}{}
	b.mu.Lock()
	if b.open == ba {
		b.open = nil
	}
	b.mu.Unlock()
	ba.err = commit(ba.values)
	<-b.commits
	close(ba.done)
	return ba.err
}

// Firsts splits a batch's values into the first of each key and the later
// ones: a commit that meets each key once runs the firsts together and each
// later value after them, alone.
func Firsts[T any, K comparable](values []T, key func(T) K) (firsts, later []T) {
	seen := make(map[K]bool, len(values))
	for _, v := range values {
		if k := key(v); seen[k] {
			later = append(later, v)
		} else {
			seen[k] = true
			firsts = append(firsts, v)
		}
	}
	return firsts, later
}
