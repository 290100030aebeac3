// Package authtest builds sign-in for tests as serve builds it, with
// password hashing made cheap: the one place where a test's auth.Service,
// its keyring and its hasher are made.
package authtest

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/keys"
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
// defaults with rate limits off, mail to the void and Keyring.
type Options struct {
	Config   auth.Config // PublicURL and RefreshSecret get test values when empty
	Limits   bool        // rate limits on
	Mailer   mail.Sender
	Keyring  *seal.Keyring
	External auth.ExternalVerifier
	Unlink   auth.Unlinker
}

// New returns an auth.Service over db, closed when the test ends.
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
	s := auth.New(auth.Deps{
		External: o.External,
		Keyring:  o.Keyring,
		DB:       db,
		Hasher:   Hasher(),
		Keys:     keys.New(db, o.Keyring, keys.Config{RotateEvery: 24 * time.Hour, TokenTTL: 15 * time.Minute}),
		Limiter:  ratelimit.New(db, o.Limits),
		Mailer:   o.Mailer,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Unlink:   o.Unlink,
	}, o.Config)
	t.Cleanup(s.Close)
	return s
}
