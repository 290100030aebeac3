// Package token makes and reads userd's opaque secrets: random tokens with a
// recognisable prefix, of which only a SHA-256 hash is ever stored.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// SessionPrefix starts every session token, so that secret scanners and
// people can recognise one.
const SessionPrefix = "uds_"

// randomLen is the number of random bytes in a token: 256 bits.
const randomLen = 32

// encodedLen is the length of the base64url (unpadded) encoding of randomLen
// bytes.
var encodedLen = base64.RawURLEncoding.EncodedLen(randomLen)

// New returns a new token with the given prefix and the hash to store.
func New(prefix string) (tok string, hash []byte) {
	b := make([]byte, randomLen)
	rand.Read(b)
	tok = prefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, Hash(tok)
}

// Hash returns the SHA-256 hash of tok, the only form in which a token is
// stored. A 256-bit random token needs no salt or slow hash.
func Hash(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// Parse reports whether s has the shape of a token with the given prefix (the
// prefix, then exactly 43 base64url characters) and returns its hash. It does
// not say whether the token exists: only the store knows.
func Parse(prefix, s string) ([]byte, bool) {
	body, ok := strings.CutPrefix(s, prefix)
	if !ok || len(body) != encodedLen {
		return nil, false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	// The last character carries 2 spare bits that must be zero, so that each
	// token has one spelling.
	if _, err := base64.RawURLEncoding.Strict().DecodeString(body); err != nil {
		return nil, false
	}
	return Hash(s), true
}
