// Package seal is envelope encryption for secrets at rest: each value is
// encrypted with AES-256-GCM under a fresh data key, and the data key is
// wrapped by a master key. The output names the master key that wrapped it,
// and additional data binds it to where it is stored, so a sealed value
// cannot be moved to another row.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of a master key and of a data key: 256 bits.
const KeySize = 32

// version is the first byte of every sealed value.
const version = 1

// ErrOpen is returned by Open for a value that is not sealed by a known key,
// is corrupt, or is bound to other additional data.
var ErrOpen = errors.New("seal: cannot open value")

// Keyring holds master keys: the primary one seals, every one opens.
type Keyring struct {
	primary string
	keys    map[string]cipher.AEAD
}

// KeyID names a master key: the first 8 bytes of a hash of it, in hex.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("userd seal key id\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

// NewKeyring returns a keyring that seals with primary and opens with
// primary and every key of others. Each key is KeySize bytes.
func NewKeyring(primary []byte, others ...[]byte) (*Keyring, error) {
	k := &Keyring{keys: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{primary}, others...) {
		aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("master key %d: %w", i, err)
		}
		id := KeyID(key)
		k.keys[id] = aead
		if i == 0 {
			k.primary = id
		}
	}
	return k, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("want %d bytes, have %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// PrimaryID returns the id of the key that seals.
func (k *Keyring) PrimaryID() string { return k.primary }

// Seal encrypts plaintext bound to ad. The layout is: version, key id
// length and key id, the wrapped data key (nonce and sealed key), then the
// nonce and the sealed plaintext.
func (k *Keyring) Seal(plaintext, ad []byte) []byte {
	master := k.keys[k.primary]
	dek := make([]byte, KeySize)
	rand.Read(dek)
	data, _ := newAEAD(dek) // a fresh 32-byte key cannot fail
	out := []byte{version, byte(len(k.primary))}
	out = append(out, k.primary...)
	wrapNonce := make([]byte, master.NonceSize())
	rand.Read(wrapNonce)
	out = append(out, wrapNonce...)
	out = master.Seal(out, wrapNonce, dek, ad)
	nonce := make([]byte, data.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return data.Seal(out, nonce, plaintext, ad)
}

// Open decrypts a value sealed with ad by any key of the keyring. It returns
// ErrOpen when it cannot.
func (k *Keyring) Open(sealed, ad []byte) ([]byte, error) {
	id, rest, ok := k.split(sealed)
	if !ok {
		return nil, ErrOpen
	}
	master := k.keys[id]
	ns, wrappedLen := master.NonceSize(), KeySize+master.Overhead()
	if len(rest) < ns+wrappedLen+ns+master.Overhead() {
		return nil, ErrOpen
	}
	dek, err := master.Open(nil, rest[:ns], rest[ns:ns+wrappedLen], ad)
	if err != nil {
		return nil, ErrOpen
	}
	data, err := newAEAD(dek)
	if err != nil {
		return nil, ErrOpen
	}
	rest = rest[ns+wrappedLen:]
	plain, err := data.Open(nil, rest[:ns], rest[ns:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// SealedBy returns the id of the master key that sealed a value, so a key
// rotation can find what is left to re-seal.
func (k *Keyring) SealedBy(sealed []byte) (string, bool) {
	if len(sealed) < 2 || sealed[0] != version || len(sealed) < 2+int(sealed[1]) {
		return "", false
	}
	return string(sealed[2 : 2+int(sealed[1])]), true
}

func (k *Keyring) split(sealed []byte) (id string, rest []byte, ok bool) {
	id, ok = k.SealedBy(sealed)
	if !ok {
		return "", nil, false
	}
	if _, known := k.keys[id]; !known {
		return "", nil, false
	}
	return id, sealed[2+len(id):], true
}

// AD builds additional data from the parts that locate a value, such as
// table, column, row id and user id.
func AD(parts ...string) []byte {
	return []byte(strings.Join(parts, "\x00"))
}

// LoadOrCreateKey returns the master key in the file at path (base64, 32
// bytes), creating the file with a new key and mode 0600 when it does not
// exist. created says whether it did.
func LoadOrCreateKey(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err = ParseKey(string(b))
		return key, false, err
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read master key: %w", err)
	}
	key = make([]byte, KeySize)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process made it first
			return LoadOrCreateKey(path)
		}
		return nil, false, fmt.Errorf("create master key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("write master key: %w", err)
	}
	return key, true, nil
}

// ParseKey reads a base64 master key of KeySize bytes.
func ParseKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("a master key is %d bytes in base64 (openssl rand -base64 32)", KeySize)
	}
	return key, nil
}
