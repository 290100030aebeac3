// Package keys owns signing_keys: the Ed25519 keys that sign access tokens.
// Private keys are sealed under the master key at rest. The newest key signs;
// older ones stay published and verify until no token they signed can still
// be alive, so rotation never breaks a token already issued.
package keys

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Algorithm is the JWS algorithm of every signing key.
const Algorithm = "EdDSA"

// Config holds the settings of a Store.
type Config struct {
	// RotateEvery is the age at which a new key takes over signing.
	RotateEvery time.Duration
	// TokenTTL is the lifetime of the tokens the keys sign: a retired key
	// stays published this long after the key that replaced it appeared.
	TokenTTL time.Duration
}

// Key is a signing key.
type Key struct {
	ID        string
	Public    ed25519.PublicKey
	private   ed25519.PrivateKey
	CreatedAt time.Time
}

// Store reads, creates and caches signing keys.
type Store struct {
	db      *sqldb.DB
	keyring *seal.Keyring
	cfg     Config

	mu       sync.Mutex
	keys     []Key // newest first
	loadedAt time.Time

	rotating sync.Mutex // held by rotateIfDue
}

// cacheFor is how long the cached key list is used before it is read again;
// an unknown kid reads it again at once (at most every minMiss).
const (
	cacheFor = time.Minute
	minMiss  = 5 * time.Second
)

// New returns a Store.
func New(db *sqldb.DB, keyring *seal.Keyring, cfg Config) *Store {
	return &Store{db: db, keyring: keyring, cfg: cfg}
}

func ad(kid string) []byte { return seal.AD("signing_keys", "private_key", kid) }

// Sealed is the signing keys' sealed column, for master key rotation.
var Sealed = sqldb.SealedColumn{Table: "signing_keys", Column: "private_key", IDColumn: "kid",
	AD: func(kid, _ string) []byte { return ad(kid) }}

// Rotate creates a new signing key that signs from now on.
func (s *Store) Rotate(ctx context.Context) (Key, error) {
	var k Key
	err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		k, err = s.insert(ctx, tx)
		return err
	})
	if err != nil {
		return Key{}, fmt.Errorf("store signing key: %w", err)
	}
	s.forget()
	return k, nil
}

// insert creates a new signing key in tx.
func (s *Store) insert(ctx context.Context, tx *sqldb.Tx) (Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("generate signing key: %w", err)
	}
	k := Key{ID: rand.Text()[:16], Public: pub, private: priv, CreatedAt: tx.Now}
	_, err = tx.Exec(ctx, `INSERT INTO signing_keys (kid, algorithm, public_key, private_key, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, Algorithm, []byte(pub), s.keyring.Seal(priv.Seed(), ad(k.ID)), tx.Now)
	return k, err
}

// rotateIfDue creates a new signing key, as Rotate does, unless the newest
// key is younger than RotateEvery: another caller rotated since the keys
// were read, and rotateIfDue returns their key. The callers of a Store wait
// for each other, and those of other processes for the transaction, which
// keeps others from writing signing_keys while it reads and inserts:
// concurrent first use makes one key.
func (s *Store) rotateIfDue(ctx context.Context) (Key, error) {
	s.rotating.Lock()
	defer s.rotating.Unlock()
	var k Key
	err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := tx.LockWrites(ctx, "signing_keys"); err != nil {
			return err
		}
		newest, err := s.read(ctx, tx, `ORDER BY created_at DESC, kid LIMIT 1`)
		switch {
		case err == nil && tx.Now.Sub(newest.CreatedAt) <= s.cfg.RotateEvery:
			k = newest
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		k, err = s.insert(ctx, tx)
		return err
	})
	if err != nil {
		return Key{}, fmt.Errorf("store signing key: %w", err)
	}
	s.forget()
	return k, nil
}

// read returns the key that the query's end (after FROM signing_keys)
// finds, or sql.ErrNoRows.
func (s *Store) read(ctx context.Context, tx *sqldb.Tx, where string, args ...any) (Key, error) {
	var k Key
	var pub, sealed []byte
	err := tx.QueryRow(ctx, `SELECT kid, public_key, private_key, created_at FROM signing_keys `+where, args...).
		Scan(&k.ID, &pub, &sealed, &k.CreatedAt)
	if err != nil {
		return Key{}, err
	}
	return k, s.open(&k, pub, sealed)
}

// forget makes the next use of the cached keys read them again.
func (s *Store) forget() {
	s.mu.Lock()
	s.loadedAt = time.Time{}
	s.mu.Unlock()
}

// open sets k's private and public keys from their stored columns.
func (s *Store) open(k *Key, pub, sealed []byte) error {
	seed, err := s.keyring.Open(sealed, ad(k.ID))
	if err != nil || len(seed) != ed25519.SeedSize {
		return fmt.Errorf("signing key %s: %w (is the master key the one it was sealed with?)", k.ID, seal.ErrOpen)
	}
	k.private, k.Public = ed25519.NewKeyFromSeed(seed), ed25519.PublicKey(pub)
	return nil
}

// load reads the keys that are still published.
func (s *Store) load(ctx context.Context) ([]Key, error) {
	var keys []Key
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		// The newest key, and every key that was replaced less than
		// TokenTTL ago (or is younger than RotateEvery + TokenTTL).
		rows, err := tx.Query(ctx, `SELECT kid, public_key, private_key, created_at FROM signing_keys
			WHERE created_at > $1 OR created_at = (SELECT max(created_at) FROM signing_keys)
			ORDER BY created_at DESC, kid`, tx.Now.Add(-2*s.cfg.RotateEvery-s.cfg.TokenTTL))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k Key
			var pub, sealed []byte
			if err := rows.Scan(&k.ID, &pub, &sealed, &k.CreatedAt); err != nil {
				return err
			}
			if err := s.open(&k, pub, sealed); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return keys, nil
}

// current returns the cached keys, reading them again when the cache is
// older than maxAge.
func (s *Store) current(ctx context.Context, maxAge time.Duration) ([]Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil && time.Since(s.loadedAt) < maxAge {
		return s.keys, nil
	}
	keys, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	s.keys, s.loadedAt = keys, time.Now()
	return keys, nil
}

// Signer returns the key that signs now, creating one when there is none or
// the newest is older than RotateEvery.
func (s *Store) Signer(ctx context.Context) (string, ed25519.PrivateKey, error) {
	keys, err := s.current(ctx, cacheFor)
	if err != nil {
		return "", nil, err
	}
	if len(keys) == 0 || time.Since(keys[0].CreatedAt) > s.cfg.RotateEvery {
		k, err := s.rotateIfDue(ctx)
		if err != nil {
			return "", nil, err
		}
		return k.ID, k.private, nil
	}
	return keys[0].ID, keys[0].private, nil
}

// PublicKey returns the public key with the given id, reading the table
// again when the id is not cached (a key made by another process).
func (s *Store) PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, bool) {
	for _, maxAge := range []time.Duration{cacheFor, minMiss} {
		keys, err := s.current(ctx, maxAge)
		if err != nil {
			return nil, false
		}
		for _, k := range keys {
			if k.ID == kid {
				return k.Public, true
			}
		}
	}
	return nil, false
}

// Published returns the published public keys as JSON Web Keys, the one
// that signs now first.
func (s *Store) Published(ctx context.Context) ([]jose.JSONWebKey, error) {
	keys, err := s.current(ctx, cacheFor)
	if err != nil {
		return nil, err
	}
	out := make([]jose.JSONWebKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, jose.JSONWebKey{Key: k.Public, KeyID: k.ID, Algorithm: Algorithm, Use: "sig"})
	}
	return out, nil
}

// JWKS returns the published public keys as a JSON Web Key Set.
func (s *Store) JWKS(ctx context.Context) ([]byte, error) {
	keys, err := s.Published(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return b, nil
}

// Age is when a published signing key was made and until when it signs.
type Age struct {
	ID        string
	CreatedAt time.Time
	// Until is when a newer key took over signing from it or, for the key
	// that signs now (Signs), when a newer one is due to (RotateEvery after
	// it was made, at the first token signed from then on).
	Until time.Time
	Signs bool
}

// Ages returns the published signing keys (those of JWKS), newest first:
// the first signs, the others only verify the tokens they signed.
func (s *Store) Ages(ctx context.Context) ([]Age, error) {
	keys, err := s.current(ctx, cacheFor)
	if err != nil {
		return nil, err
	}
	out := make([]Age, len(keys))
	for i, k := range keys {
		out[i] = Age{ID: k.ID, CreatedAt: k.CreatedAt, Until: k.CreatedAt.Add(s.cfg.RotateEvery), Signs: i == 0}
		if i > 0 {
			out[i].Until = keys[i-1].CreatedAt
		}
	}
	return out, nil
}
