// Package authtest builds sign-in for tests as serve builds it, with
// password hashing made cheap: the one place where a test's auth.Service,
// its keyring and its hasher are made.
package authtest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/keys"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Cheap keeps password hashing fast in tests; the algorithm is the same.
var Cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

// Hasher returns a hasher at Cheap.
func Hasher() *password.Hasher { return password.New(Cheap, 0) }

// Keyring seals what tests store, unless a test gives another.
var Keyring = func() *seal.Keyring {
	k, err := seal.NewKeyring(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		panic(err) // a fixed key of the right size
	}
	return k
}()

// Options change the service that New builds; the zero Options are serve's
// defaults with rate limits off, mail to the void and Keyring. Mail leaves
// as serve sends it: queued (mailq), then delivered by a runner of its own
// that runs until the test ends.
type Options struct {
	Config   auth.Config // PublicURL and RefreshSecret get test values when empty
	Limits   bool        // rate limits on
	Mailer   mail.Sender
	Keyring  *seal.Keyring
	External auth.ExternalVerifier
	Unlink   auth.Unlinker
}

// New returns an auth.Service over db.
func New(t testing.TB, db *sqldb.DB, o Options) *auth.Service {
	t.Helper()
	if o.Keyring == nil {
		o.Keyring = Keyring
	}
	if o.Mailer == nil {
		o.Mailer = mail.Log{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	if o.Config.PublicURL == "" {
		o.Config.PublicURL = "http://userd.test"
	}
	if o.Config.RefreshSecret == nil {
		o.Config.RefreshSecret = []byte("test refresh secret")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := auth.New(auth.Deps{
		External: o.External,
		Keyring:  o.Keyring,
		DB:       db,
		Hasher:   Hasher(),
		Keys:     keys.New(db, o.Keyring, keys.Config{RotateEvery: 24 * time.Hour, TokenTTL: 15 * time.Minute}),
		Limiter:  ratelimit.New(db, o.Limits),
		Mail:     Mail(t, db, o.Keyring, o.Mailer),
		Log:      log,
		Unlink:   o.Unlink,
	}, o.Config)
	return s
}

// Mail returns a mail queue over db that sends with sender, and runs its
// runner until the test ends.
func Mail(t testing.TB, db *sqldb.DB, ring *seal.Keyring, sender mail.Sender) *mailq.Service {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	q := mailq.New(db, mailq.Deps{Keyring: ring, Sender: sender, Log: log})
	r := jobs.NewRunner(db, log)
	r.SetLease(mailq.Lease)
	q.Register(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, time.Second); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return q
}

// Sent waits until no mail waits in db's queue (each has been sent, has
// failed or was skipped), for a test that counts what left: the queue's
// runner delivers after the transaction, as serve's does.
func Sent(t testing.TB, db *sqldb.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM mail_deliveries WHERE status = 'queued'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails still queued after 10 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
