package notify

import (
	"errors"
	"testing"
)

// TestHubCap: a user holds at most MaxPerUser subscriptions; one more is
// refused until one ends, by Cancel or by being cut off for lagging; other
// users are not counted.
func TestHubCap(t *testing.T) {
	h := NewHub()
	subs := make([]*Subscription, MaxPerUser)
	for i := range subs {
		s, err := h.Subscribe("ann")
		if err != nil {
			t.Fatalf("subscription %d: %v", i+1, err)
		}
		subs[i] = s
	}
	if _, err := h.Subscribe("ann"); !errors.Is(err, ErrTooManyStreams) {
		t.Fatalf("subscription %d: %v; want ErrTooManyStreams", MaxPerUser+1, err)
	}
	if _, err := h.Subscribe("bob"); err != nil {
		t.Fatalf("another user's subscription: %v", err)
	}
	subs[0].Cancel()
	if _, err := h.Subscribe("ann"); err != nil {
		t.Fatalf("a subscription after one was cancelled: %v", err)
	}
	for range subBuffer + 1 { // none of ann's subscriptions reads
		h.deliver("ann:n")
	}
	if _, ok := <-drain(subs[1].C); ok {
		t.Fatal("a lagging subscription stayed open")
	}
	if n := h.Subscribers(); n != 1 {
		t.Fatalf("subscribers after ann's were cut off = %d; want bob's 1", n)
	}
	if _, err := h.Subscribe("ann"); err != nil {
		t.Fatalf("a subscription after the others were cut off: %v", err)
	}
}

// drain returns c once every id buffered in it was read.
func drain(c chan string) chan string {
	for range len(c) {
		<-c
	}
	return c
}
