package mail

import (
	"context"
	"sync/atomic"
)

// Counted is a Sender that counts the mail its Sender sent and failed to
// send, for metrics.
type Counted struct {
	Sender
	sent, failed atomic.Uint64
}

// Count returns s counted.
func Count(s Sender) *Counted { return &Counted{Sender: s} }

// Send sends m with the Sender underneath and counts the outcome. It
// returns that Sender's error.
func (c *Counted) Send(ctx context.Context, m Message) error {
	err := c.Sender.Send(ctx, m)
	if err != nil {
		c.failed.Add(1)
		return err
	}
	c.sent.Add(1)
	return nil
}

// Counts returns how many mails were sent and how many failed.
func (c *Counted) Counts() (sent, failed uint64) { return c.sent.Load(), c.failed.Load() }
