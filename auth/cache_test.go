package auth

import (
	"testing"
	"time"

	"github.com/userd/userd"
)

func entry(userID, sessionID string) cached {
	now := time.Now()
	return cached{Caller: Caller{Actor: userd.Actor{UserID: userID, SessionID: sessionID}}, read: now, expires: now.Add(time.Hour), lastSeen: now}
}

// TestCallersStaleFill: an answer read before an invalidation is not
// stored after it, and nothing is stored while invalidations may be missed.
func TestCallersStaleFill(t *testing.T) {
	c := newCallers(4)
	gen := c.generation()
	c.put("t:a", entry("u1", "s1"), gen)
	if _, ok := c.get("t:a"); ok {
		t.Fatal("stored while not live")
	}
	c.live = true
	gen = c.generation()
	c.invalidate(userd.UserKey("u2")) // any invalidation, even another user's
	c.put("t:a", entry("u1", "s1"), gen)
	if _, ok := c.get("t:a"); ok {
		t.Fatal("stored an answer read before an invalidation")
	}
	c.put("t:a", entry("u1", "s1"), c.generation())
	if _, ok := c.get("t:a"); !ok {
		t.Fatal("fresh answer not stored")
	}
}

// TestCallersInvalidate: a user key drops every credential of the user, a
// session key that session's, EveryKey all; evicted entries leave no index.
func TestCallersInvalidate(t *testing.T) {
	c := newCallers(3)
	c.live = true
	fill := func() {
		for _, e := range []struct{ key, user, session string }{{"t:a", "u1", "s1"}, {"j:s1", "u1", "s1"}, {"t:b", "u1", "s2"}} {
			c.put(e.key, entry(e.user, e.session), c.generation())
		}
	}
	has := func(keys ...string) {
		t.Helper()
		for _, k := range []string{"t:a", "j:s1", "t:b"} {
			_, ok := c.get(k)
			want := false
			for _, w := range keys {
				want = want || w == k
			}
			if ok != want {
				t.Fatalf("%s cached = %v; want %v", k, ok, want)
			}
		}
	}
	fill()
	has("t:a", "j:s1", "t:b")
	c.invalidate(userd.SessionKey("s1"))
	has("t:b")
	fill()
	c.invalidate(userd.UserKey("u1"))
	has()
	fill()
	c.invalidate(userd.EveryKey)
	has()
	if len(c.index) != 0 {
		t.Fatalf("index after purge: %v", c.index)
	}
	fill()
	c.put("t:c", entry("u9", "s9"), c.generation()) // evicts the oldest, t:a
	has("j:s1", "t:b")
	c.invalidate(userd.UserKey("u1"))
	if len(c.index) != 2 { // u9's and s9's
		t.Fatalf("index = %v; want only u9's and s9's keys", c.index)
	}
}
