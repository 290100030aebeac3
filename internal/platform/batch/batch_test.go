package batch

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestBatcher: 500 concurrent calls each commit exactly once, in batches of
// at most max, never more than atOnce committing together, and each call
// gets its own batch's error.
func TestBatcher(t *testing.T) {
	b := New[int](16, 2)
	var committing, most atomic.Int32
	var mu sync.Mutex
	seen := map[int]int{}
	failing := map[int]bool{} // the values whose batch failed
	biggest := 0
	errOdd := errors.New("a batch led by an odd value")
	var wg sync.WaitGroup
	errs := make([]error, 500)
	for i := range 500 {
		wg.Go(func() {
			errs[i] = b.Add(i, func(vs []int) error {
				n := committing.Add(1)
				defer committing.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				mu.Lock()
				defer mu.Unlock()
				biggest = max(biggest, len(vs))
				for _, v := range vs {
					seen[v]++
					failing[v] = vs[0]%2 == 1
				}
				if vs[0]%2 == 1 {
					return errOdd
				}
				return nil
			})
		})
	}
	wg.Wait()
	if len(seen) != 500 {
		t.Fatalf("%d values committed, want 500", len(seen))
	}
	for v, n := range seen {
		if n != 1 {
			t.Errorf("value %d committed %d times", v, n)
		}
	}
	if biggest > 16 || most.Load() > 2 {
		t.Errorf("biggest batch %d (max 16), most committing at once %d (max 2)", biggest, most.Load())
	}
	// Every call of a batch gets its error, and no other call does.
	for i, err := range errs {
		if failing[i] != errors.Is(err, errOdd) || (err != nil && !errors.Is(err, errOdd)) {
			t.Errorf("value %d: error %v, its batch failed: %v", i, err, failing[i])
		}
	}
}

// TestBatcherAlone: a call with nothing else going on commits at once,
// alone.
func TestBatcherAlone(t *testing.T) {
	b := New[string](8, 1)
	for _, v := range []string{"a", "b"} {
		var got []string
		if err := b.Add(v, func(vs []string) error { got = vs; return nil }); err != nil || len(got) != 1 || got[0] != v {
			t.Fatalf("Add(%q) committed %v, %v", v, got, err)
		}
	}
}

// TestFirsts: the first value of each key, in order, and the rest after.
func TestFirsts(t *testing.T) {
	firsts, later := Firsts([]string{"a1", "b1", "a2", "c1", "b2", "a3"}, func(s string) byte { return s[0] })
	if !slices.Equal(firsts, []string{"a1", "b1", "c1"}) || !slices.Equal(later, []string{"a2", "b2", "a3"}) {
		t.Fatalf("firsts %v, later %v", firsts, later)
	}
}
