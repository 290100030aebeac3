package mail

import (
	"context"
	"errors"
	"testing"
)

// failing is a Sender that fails when told to.
type failing struct{ fail bool }

func (f *failing) Send(context.Context, Message) error {
	if f.fail {
		return errors.New("refused")
	}
	return nil
}

// TestCount: a counted Sender counts what its Sender sent and failed to
// send, and returns its error.
func TestCount(t *testing.T) {
	f := &failing{}
	c := Count(f)
	ctx := context.Background()
	for range 2 {
		if err := c.Send(ctx, Message{To: "ann@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	f.fail = true
	if err := c.Send(ctx, Message{To: "ann@example.com"}); err == nil {
		t.Fatal("the Sender's error was lost")
	}
	if sent, failed := c.Counts(); sent != 2 || failed != 1 {
		t.Fatalf("Counts = %d sent, %d failed; want 2, 1", sent, failed)
	}
}
