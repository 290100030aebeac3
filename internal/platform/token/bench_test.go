package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"
)

func BenchmarkParseSessionToken(b *testing.B) {
	tok, _ := New(SessionPrefix)
	for b.Loop() {
		if _, ok := Parse(SessionPrefix, tok); !ok {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkNewSessionToken(b *testing.B) {
	for b.Loop() {
		New(SessionPrefix)
	}
}

func BenchmarkVerifyAccess(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	raw, err := SignAccess(Access{Issuer: "https://id.example", Audience: "https://id.example", Subject: "u", SessionID: "s", ID: "j",
		IssuedAt: now, Expires: now.Add(15 * time.Minute)}, "k1", priv)
	if err != nil {
		b.Fatal(err)
	}
	key := func(string) (ed25519.PublicKey, bool) { return pub, true }
	for b.Loop() {
		if _, err := VerifyAccess(raw, "https://id.example", "https://id.example", now, key); err != nil {
			b.Fatal(err)
		}
	}
}
