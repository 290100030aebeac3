// Package password hashes and verifies passwords: argon2id in PHC string
// format for every new hash, and the bcrypt and argon2 hashes that other
// systems wrote, for imported users, with bounds on the work those hashes may
// demand.
package password

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// OWASP is the argon2id setting that userd hashes with by default: 7 MiB,
// five passes, one thread, the least memory among the settings that OWASP's
// Password Storage Cheat Sheet gives as equivalent (19 MiB × 2 passes, 12 × 3,
// 9 × 4, 7 × 5). Every hash allocates its memory afresh and the collector
// reclaims it later, so a burst of log-ins holds a multiple of it: with 7 MiB
// the server's peak under one is about 60% of what 19 MiB gives, for the same
// work a hash.
var OWASP = Params{Memory: 7 * 1024, Time: 5, Threads: 1}

// Bounds on the hashes Verify accepts, so a hostile import cannot exhaust the
// machine.
const (
	maxBcryptCost   = 14
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	saltLen         = 16
	keyLen          = 32
)

// ErrUnsupported is returned by Verify for a hash in a format it does not
// know or with parameters beyond its bounds.
var ErrUnsupported = errors.New("password: unsupported hash")

// Hasher hashes with fixed parameters and runs at most as many hashes at once
// as it has slots (the number of cores by default), so that a burst of
// log-ins queues instead of thrashing, and the argon2id memory in use at once
// is at most the slots times a hash's.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string
	queued atomic.Int64  // callers waiting for a slot
	begun  atomic.Uint64 // hashes and verifications begun since New
}

// New returns a Hasher with the given parameters that runs at most
// concurrency hashes at once (GOMAXPROCS when concurrency < 1).
func New(p Params, concurrency int) *Hasher {
	if concurrency < 1 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: p, slots: make(chan struct{}, concurrency)}
	for range concurrency {
		h.slots <- struct{}{}
	}
	// The dummy's key is random bytes, not a hash of anything: verifying
	// against it costs a real verification's work, never matches, and
	// costs nothing (nor a hash's memory) at start.
	h.dummy = h.phc(func([]byte) []byte {
		key := make([]byte, keyLen)
		rand.Read(key)
		return key
	})
	return h
}

// Hash returns the argon2id PHC string of pw. It returns ctx's error when ctx
// ends while waiting for a slot.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	return h.phc(func(salt []byte) []byte {
		return argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	}), nil
}

// phc returns the argon2id PHC string, with h's parameters and a new random
// salt, of the key that derive makes from the salt.
func (h *Hasher) phc(derive func(salt []byte) []byte) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	p := h.params
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(derive(salt)))
}

// Verify reports whether pw matches the encoded hash, and whether the hash
// should be replaced by a new one (it is not argon2id with this Hasher's
// parameters). It returns ErrUnsupported for an unknown format or parameters
// out of bounds, and ctx's error when ctx ends while waiting for a slot.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (match, rehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	switch f, hash := format(encoded); f {
	case formatArgon:
		return h.verifyArgon(hash, pw)
	case formatBcrypt:
		return verifyBcrypt(hash, pw)
	case formatBcryptSHA256:
		sum := sha256.Sum256([]byte(pw))
		return verifyBcrypt(hash, hex.EncodeToString(sum[:]))
	}
	return false, false, ErrUnsupported
}

// The hash formats Verify knows.
const (
	formatUnknown = iota
	formatArgon
	formatBcrypt
	formatBcryptSHA256 // Django's bcrypt_sha256: bcrypt over the hex SHA-256 of the password
)

// format tells a stored hash's format and strips the prefixes that Django
// puts before the standard forms ("argon2$", "bcrypt$", "bcrypt_sha256$").
func format(encoded string) (int, string) {
	switch {
	case strings.HasPrefix(encoded, "argon2$$argon2"):
		encoded = encoded[len("argon2$"):]
	case strings.HasPrefix(encoded, "bcrypt$$2"):
		encoded = encoded[len("bcrypt$"):]
	case strings.HasPrefix(encoded, "bcrypt_sha256$$2"):
		if isBcrypt(encoded[len("bcrypt_sha256$"):]) {
			return formatBcryptSHA256, encoded[len("bcrypt_sha256$"):]
		}
		return formatUnknown, ""
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"), strings.HasPrefix(encoded, "$argon2i$"):
		return formatArgon, encoded
	case isBcrypt(encoded):
		return formatBcrypt, encoded
	}
	return formatUnknown, ""
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// Recognize reports whether Verify can read a hash: a known format whose
// parameters are within bounds. Importers call it before storing one.
func Recognize(encoded string) bool {
	switch f, hash := format(encoded); f {
	case formatArgon:
		_, err := parseArgon(hash)
		return err == nil
	case formatBcrypt, formatBcryptSHA256:
		cost, err := bcrypt.Cost([]byte("$2a$" + hash[4:]))
		return err == nil && cost <= maxBcryptCost
	}
	return false
}

// VerifyDummy spends the work of a verification against a hash that matches
// nothing: log-in calls it for an unknown identifier so that answers and
// timings match those for a known one.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) {
	_, _, _ = h.Verify(ctx, h.dummy, pw)
}

// argonHash is a parsed argon2 PHC string.
type argonHash struct {
	variant    string
	params     Params
	salt, want []byte
}

// parseArgon reads $argon2id$v=19$m=7168,t=5,p=1$salt$hash within bounds.
func parseArgon(encoded string) (argonHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return argonHash{}, ErrUnsupported
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return argonHash{}, ErrUnsupported
	}
	a := argonHash{variant: parts[1]}
	p := &a.params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return argonHash{}, ErrUnsupported
	}
	if p.Memory < 8 || p.Memory > maxArgonMemory || p.Time < 1 || p.Time > maxArgonTime || p.Threads < 1 || p.Threads > maxArgonThreads {
		return argonHash{}, ErrUnsupported
	}
	b64 := base64.RawStdEncoding
	var err error
	if a.salt, err = b64.DecodeString(parts[4]); err != nil || len(a.salt) < 8 {
		return argonHash{}, ErrUnsupported
	}
	if a.want, err = b64.DecodeString(parts[5]); err != nil || len(a.want) < 16 || len(a.want) > 64 {
		return argonHash{}, ErrUnsupported
	}
	return a, nil
}

// verifyArgon checks pw against an argon2 hash, and asks for a rehash unless
// it is argon2id with h's parameters and key length.
func (h *Hasher) verifyArgon(encoded, pw string) (match, rehash bool, err error) {
	a, err := parseArgon(encoded)
	if err != nil {
		return false, false, err
	}
	p, n := a.params, uint32(len(a.want))
	var got []byte
	if a.variant == "argon2i" {
		got = argon2.Key([]byte(pw), a.salt, p.Time, p.Memory, p.Threads, n)
	} else {
		got = argon2.IDKey([]byte(pw), a.salt, p.Time, p.Memory, p.Threads, n)
	}
	match = subtle.ConstantTimeCompare(got, a.want) == 1
	rehash = a.variant != "argon2id" || p != h.params || len(a.want) != keyLen
	return match, rehash, nil
}

func verifyBcrypt(encoded, pw string) (match, rehash bool, err error) {
	// golang.org/x/crypto/bcrypt reads $2y$ as it reads $2a$/$2b$ only after
	// the prefix is normalised; the algorithms are the same.
	normal := []byte("$2a$" + encoded[4:])
	cost, err := bcrypt.Cost(normal)
	if err != nil || cost > maxBcryptCost {
		return false, false, ErrUnsupported
	}
	if len(pw) > 72 {
		// bcrypt ignores bytes past 72: refuse rather than match a prefix.
		return false, false, nil
	}
	err = bcrypt.CompareHashAndPassword(normal, []byte(pw))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, true, nil
	}
	if err != nil {
		return false, false, ErrUnsupported
	}
	return true, true, nil
}

// Load returns how many hashes (or verifications) run now, and how many
// wait for a slot.
func (h *Hasher) Load() (running, queued int) {
	return cap(h.slots) - len(h.slots), int(h.queued.Load())
}

// Begun returns how many hashes and verifications have begun since New: a
// count that moves while passwords are hashed (the memory limit follows it).
func (h *Hasher) Begun() uint64 { return h.begun.Load() }

// acquire waits for a free slot, or returns ctx's error when ctx ends first.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case <-h.slots:
		h.begun.Add(1)
		return nil
	default:
	}
	h.queued.Add(1)
	defer h.queued.Add(-1)
	select {
	case <-h.slots:
		h.begun.Add(1)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a hashing slot: %w", ctx.Err())
	}
}

// release frees the slot that acquire took.
func (h *Hasher) release() { h.slots <- struct{}{} }
