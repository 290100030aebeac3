package dbtest

import "sync"

// AtOnce runs n calls of fn as nearly at once as goroutines allow (each
// waits for a shared start) and returns their errors, the ith call's at
// index i: the shape of every race test, whose final state the test then
// checks exactly.
func AtOnce(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}
