package auth_test

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// client is where the tests' requests come from.
var client = auth.Client{IP: "192.0.2.1", UserAgent: "test"}

// pw is every test user's password.
const pw = "correct horse battery"

// newService returns an auth.Service over db as serve builds it, with the
// rate limits on (at auth.DefaultLimits) and a mailer that keeps what it
// is given.
func newService(t *testing.T, db *sqldb.DB) (*auth.Service, *outbox) {
	t.Helper()
	box := &outbox{got: make(chan mail.Message, 100)}
	return authtest.New(t, db, authtest.Options{Limits: true, Mailer: box}), box
}

// outbox is a mail.Sender that keeps the mail it is given.
type outbox struct{ got chan mail.Message }

func (o *outbox) Send(_ context.Context, m mail.Message) error {
	o.got <- m
	return nil
}

// next waits for the next mail.
func (o *outbox) next(t *testing.T) mail.Message {
	t.Helper()
	select {
	case m := <-o.got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no mail came")
		return mail.Message{}
	}
}

var mailedToken = regexp.MustCompile(`\?token=([A-Za-z0-9_-]+)`)

// tokenOf returns the token of a mail's link.
func tokenOf(t *testing.T, m mail.Message) string {
	t.Helper()
	found := mailedToken.FindStringSubmatch(m.Text)
	if found == nil {
		t.Fatalf("no link with a token in %q", m.Text)
	}
	return found[1]
}

// clock lets a test move the database's time, and stop it.
type clock struct {
	mu     sync.Mutex
	frozen time.Time // the time it stopped at; zero while it runs
	offset time.Duration
}

func withClock(db *sqldb.DB) *clock {
	c := &clock{}
	db.SetClock(c.now)
	return c
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen.Add(c.offset)
	}
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// freeze stops the clock where it is, to the microsecond, so that a test can
// step to either side of a boundary.
func (c *clock) freeze() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen = time.Now().Truncate(time.Microsecond)
	return c.frozen.Add(c.offset)
}

// signup signs a user up with an identity and pw.
func signup(t *testing.T, s *auth.Service, id account.Identity) auth.Login {
	t.Helper()
	l, err := s.Signup(context.Background(), auth.Signup{Identity: id, Password: pw}, client)
	if err != nil {
		t.Fatalf("sign up %+v: %v", id, err)
	}
	return l
}

// limited reports whether err is a refusal of the rate limits, with a
// Retry-After within the rule's window.
func limited(err error, window time.Duration) bool {
	var rl *ratelimit.Error
	return errors.As(err, &rl) && userd.ErrorKind(err) == userd.KindRateLimited && rl.RetryAfter >= time.Second && rl.RetryAfter <= window
}

// as returns a context of a request that a acts in, as the HTTP layer
// makes it.
func as(a userd.Actor) context.Context { return userd.WithActor(context.Background(), a) }

// actor returns who a session token stands for.
func actor(t *testing.T, s *auth.Service, sessionToken string) userd.Actor {
	t.Helper()
	c, err := s.Authenticate(context.Background(), sessionToken)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return c.Actor
}
