package keys_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/keys"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// cfg is the settings of the stores of these tests: a key signs for a day,
// and the tokens it signs live 15 minutes.
var cfg = keys.Config{RotateEvery: 24 * time.Hour, TokenTTL: 15 * time.Minute}

func keyring(t *testing.T, b byte) *seal.Keyring {
	t.Helper()
	ring, err := seal.NewKeyring(bytes.Repeat([]byte{b}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// stored is a row of signing_keys.
type stored struct {
	kid, algorithm  string
	public, private []byte
	createdAt       time.Time
}

// rows reads signing_keys, oldest first.
func rows(t *testing.T, db *sqldb.DB) []stored {
	t.Helper()
	rs, err := db.SQL().Query(`SELECT kid, algorithm, public_key, private_key, created_at FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []stored
	for rs.Next() {
		var s stored
		if err := rs.Scan(&s.kid, &s.algorithm, &s.public, &s.private, &s.createdAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// jwk is a key of the JWKS as a resource server reads it.
type jwk struct {
	Kty, Crv, X, Kid, Alg, Use string
}

// jwks returns the store's JWKS, decoded, and fails on anything but the
// fields of an Ed25519 signing key.
func jwks(t *testing.T, ctx context.Context, s *keys.Store) []jwk {
	t.Helper()
	raw, err := s.JWKS(ctx)
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("JWKS %s: %v", raw, err)
	}
	out := []jwk{}
	for _, k := range set.Keys {
		if len(k) != 6 {
			t.Fatalf("JWKS key %v: want exactly kty, crv, x, kid, alg and use", k)
		}
		out = append(out, jwk{Kty: k["kty"], Crv: k["crv"], X: k["x"], Kid: k["kid"], Alg: k["alg"], Use: k["use"]})
	}
	return out
}

// published is how the JWKS publishes a key.
func published(kid string, pub ed25519.PublicKey) jwk {
	return jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: kid, Alg: "EdDSA", Use: "sig"}
}

// at sets the clock that the database's transactions read (and so the
// created_at of a key) to now moved by d.
func at(db *sqldb.DB, d time.Duration) {
	db.SetClock(func() time.Time { return time.Now().Add(d) })
}

// TestKeysSealedAtRest: a new key is stored with its public key in clear and
// its private key sealed under the master key and bound to its kid: the row
// holds neither the seed nor the private key, a store with another master
// key cannot use it, and the sealed value moved to another kid does not
// open. The key signs, and its public key verifies.
func TestKeysSealedAtRest(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := keys.New(db, keyring(t, 7), cfg)
		kid, priv, err := s.Signer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rs := rows(t, db)
		if len(rs) != 1 {
			t.Fatalf("%d keys after the first use; want 1", len(rs))
		}
		r := rs[0]
		pub := priv.Public().(ed25519.PublicKey)
		if r.kid != kid || len(kid) != 16 || r.algorithm != "EdDSA" || !bytes.Equal(r.public, pub) {
			t.Fatalf("stored kid %q algorithm %q public %x; want kid %q (16 characters), EdDSA, %x", r.kid, r.algorithm, r.public, kid, pub)
		}
		for name, secret := range map[string][]byte{"seed": priv.Seed(), "private key": priv, "seed's first half": priv.Seed()[:16], "seed's second half": priv.Seed()[16:]} {
			if bytes.Contains(r.private, secret) {
				t.Errorf("the stored private_key holds the %s in clear", name)
			}
		}
		if len(r.private) <= ed25519.SeedSize {
			t.Errorf("the stored private_key has %d bytes: too few to be sealed", len(r.private))
		}
		msg := []byte("a token")
		if got, ok := s.PublicKey(ctx, kid); !ok || !ed25519.Verify(got, msg, ed25519.Sign(priv, msg)) {
			t.Fatalf("PublicKey(%s) = %x, %v: does not verify what the key signs", kid, got, ok)
		}

		// Another master key opens nothing, and creates nothing.
		other := keys.New(db, keyring(t, 8), cfg)
		if _, err := other.JWKS(ctx); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("JWKS under another master key = %v; want seal.ErrOpen", err)
		}
		if _, _, err := other.Signer(ctx); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("Signer under another master key = %v; want seal.ErrOpen", err)
		}
		// The sealed value is bound to its kid.
		if _, err := db.SQL().Exec(`INSERT INTO signing_keys (kid, algorithm, public_key, private_key, created_at) VALUES ('stolenkid0000000', 'EdDSA', $1, $2, $3)`,
			r.public, r.private, r.createdAt.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.New(db, keyring(t, 7), cfg).JWKS(ctx); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("JWKS with a sealed key under another kid = %v; want seal.ErrOpen", err)
		}
	})
}

// TestKeysRotation: the newest key signs; once it is older than RotateEvery
// the next use makes a new one, and the JWKS (newest first) keeps the one it
// replaced, which still verifies the tokens it signed. A key replaced longer
// ago than 2×RotateEvery+TokenTTL leaves the JWKS, but the newest key stays
// published however old it is.
func TestKeysRotation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ring := keyring(t, 7)
		if got := jwks(t, ctx, keys.New(db, ring, cfg)); len(got) != 0 {
			t.Fatalf("JWKS of no key = %v; want none", got)
		}

		// k0 is older than any published key may be: the newest, it stays.
		at(db, -(2*cfg.RotateEvery + cfg.TokenTTL + time.Minute))
		k0, err := keys.New(db, ring, cfg).Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		at(db, 0)
		if got, want := jwks(t, ctx, keys.New(db, ring, cfg)), []jwk{published(k0.ID, k0.Public)}; !slices.Equal(got, want) {
			t.Fatalf("JWKS of one old key = %v; want %v", got, want)
		}

		// k1 is 25 hours old: past RotateEvery.
		at(db, -25*time.Hour)
		k1, err := keys.New(db, ring, cfg).Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		at(db, 0)
		// A store that rotates every 48 hours still signs with k1: a token
		// signed before the rotation.
		kid, old, err := keys.New(db, ring, keys.Config{RotateEvery: 48 * time.Hour, TokenTTL: cfg.TokenTTL}).Signer(ctx)
		if err != nil || kid != k1.ID {
			t.Fatalf("Signer before the rotation = %q, %v; want %q", kid, err, k1.ID)
		}
		msg := []byte("a token signed before the rotation")
		sig := ed25519.Sign(old, msg)

		s := keys.New(db, ring, cfg)
		kid, priv, err := s.Signer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if kid == k1.ID || kid == k0.ID {
			t.Fatalf("Signer after RotateEvery = %q; want a new key", kid)
		}
		k2 := priv.Public().(ed25519.PublicKey)
		if again, _, err := s.Signer(ctx); err != nil || again != kid {
			t.Fatalf("Signer again = %q, %v; want %q (no second rotation)", again, err, kid)
		}
		if n := len(rows(t, db)); n != 3 {
			t.Fatalf("%d keys stored; want 3 (k0, k1, k2)", n)
		}
		want := []jwk{published(kid, k2), published(k1.ID, k1.Public)}
		if got := jwks(t, ctx, s); !slices.Equal(got, want) {
			t.Fatalf("JWKS after the rotation:\n got %v\nwant %v", got, want)
		}
		if pub, ok := s.PublicKey(ctx, k1.ID); !ok || !ed25519.Verify(pub, msg, sig) {
			t.Fatalf("PublicKey(k1) = %x, %v: does not verify a token k1 signed", pub, ok)
		}
		if pub, ok := s.PublicKey(ctx, k0.ID); ok {
			t.Fatalf("PublicKey(k0) = %x: a retired key still verifies", pub)
		}
		if _, ok := s.PublicKey(ctx, "nosuchkid0000000"); ok {
			t.Fatal("PublicKey of an unknown kid found a key")
		}
	})
}

// TestKeysConcurrentFirstUse: many requests of eight processes (eight
// stores on one database) that need a key at once, when there is none, make
// exactly one, and all sign with it.
func TestKeysConcurrentFirstUse(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ring := keyring(t, 7)
		stores := make([]*keys.Store, 8)
		for i := range stores {
			stores[i] = keys.New(db, ring, cfg)
		}
		kids := make([]string, 3*len(stores))
		errs := make([]error, len(kids))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range kids {
			wg.Go(func() {
				<-start
				kids[i], _, errs[i] = stores[i%len(stores)].Signer(ctx)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Signer %d: %v", i, err)
			}
		}
		rs := rows(t, db)
		if len(rs) != 1 {
			t.Fatalf("%d keys made by concurrent first use; want 1", len(rs))
		}
		for i, kid := range kids {
			if kid != rs[0].kid {
				t.Fatalf("Signer %d signs with %q; want the one key %q", i, kid, rs[0].kid)
			}
		}
	})
}

// TestKeysFirstUseWaitsForAnother: when another process is making the first
// key, in a transaction not yet committed, a request that needs a key waits
// for it and signs with that key rather than making a second.
func TestKeysFirstUseWaitsForAnother(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ring := keyring(t, 7)
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		const theirs = "THEIRS0000000000"
		type signed struct {
			kid string
			err error
		}
		got := make(chan signed, 1)
		err = db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO signing_keys (kid, algorithm, public_key, private_key, created_at) VALUES ($1, 'EdDSA', $2, $3, $4)`,
				theirs, []byte(pub), ring.Seal(priv.Seed(), seal.AD("signing_keys", "private_key", theirs)), tx.Now)
			if err != nil {
				return err
			}
			go func() {
				kid, _, err := keys.New(db, ring, cfg).Signer(ctx)
				got <- signed{kid, err}
			}()
			select {
			case s := <-got:
				return fmt.Errorf("Signer returned %q, %v while the other key was not committed", s.kid, s.err)
			case <-time.After(300 * time.Millisecond):
				return nil
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if s := <-got; s.err != nil || s.kid != theirs {
			t.Fatalf("Signer = %q, %v; want the other process's key %q", s.kid, s.err, theirs)
		}
		if rs := rows(t, db); len(rs) != 1 {
			t.Fatalf("%d keys; want 1", len(rs))
		}
	})
}

// TestKeysAges: the published keys, newest first, with when each was made
// and until when it signs: the older until the newer was made, the newest
// until RotateEvery after it was.
func TestKeysAges(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ring := keyring(t, 7)
		if got, err := keys.New(db, ring, cfg).Ages(ctx); err != nil || len(got) != 0 {
			t.Fatalf("Ages of no key = %v, %v", got, err)
		}
		at(db, -25*time.Hour)
		k1, err := keys.New(db, ring, cfg).Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		at(db, 0)
		k2, err := keys.New(db, ring, cfg).Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := keys.New(db, ring, cfg).Ages(ctx)
		want := []keys.Age{{ID: k2.ID, CreatedAt: k2.CreatedAt, Until: k2.CreatedAt.Add(cfg.RotateEvery), Signs: true},
			{ID: k1.ID, CreatedAt: k1.CreatedAt, Until: k2.CreatedAt}}
		if err != nil || len(got) != 2 {
			t.Fatalf("Ages = %v, %v", got, err)
		}
		for i := range want {
			if got[i].ID != want[i].ID || !got[i].CreatedAt.Equal(want[i].CreatedAt) || !got[i].Until.Equal(want[i].Until) || got[i].Signs != want[i].Signs {
				t.Errorf("Ages[%d] = %+v; want %+v", i, got[i], want[i])
			}
		}
	})
}
