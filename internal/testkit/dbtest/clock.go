package dbtest

import (
	"sync/atomic"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
)

// Clock is a test's clock, which a DB reads for every transaction's Now
// (see NewClock) and the test moves with Set and Add.
type Clock struct{ at atomic.Int64 }

// NewClock returns a Clock at start that db reads from now on.
func NewClock(db *sqldb.DB, start time.Time) *Clock {
	c := &Clock{}
	c.Set(start)
	db.SetClock(c.Now)
	return c
}

// Now returns the clock's time, in UTC.
func (c *Clock) Now() time.Time { return time.Unix(0, c.at.Load()).UTC() }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.at.Store(t.UnixNano()) }

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) { c.at.Add(int64(d)) }
