package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	k, err := NewKeyring(key(1))
	if err != nil {
		t.Fatal(err)
	}
	ad := AD("synchronizations", "token", "row-1", "user-1")
	s := k.Seal([]byte("secret"), ad)
	if bytes.Contains(s, []byte("secret")) {
		t.Fatal("the plaintext shows in the sealed value")
	}
	if bytes.Equal(s, k.Seal([]byte("secret"), ad)) {
		t.Fatal("sealing twice gives the same bytes")
	}
	got, err := k.Open(s, ad)
	if err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(s, AD("synchronizations", "token", "row-2", "user-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with another row's AD = %v; want ErrOpen", err)
	}
	for i := range s {
		bad := bytes.Clone(s)
		bad[i] ^= 1
		if _, err := k.Open(bad, ad); err == nil {
			t.Fatalf("a flipped bit at %d still opened", i)
		}
	}
	if _, err := k.Open(s[:len(s)-1], ad); err == nil {
		t.Fatal("a truncated value opened")
	}
}

func TestRotation(t *testing.T) {
	old, _ := NewKeyring(key(1))
	s := old.Seal([]byte("v"), nil)
	rotated, _ := NewKeyring(key(2), key(1))
	if id, _ := rotated.SealedBy(s); id != KeyID(key(1)) || id == rotated.PrimaryID() {
		t.Fatalf("SealedBy = %q", id)
	}
	if got, err := rotated.Open(s, nil); err != nil || string(got) != "v" {
		t.Fatalf("the new keyring cannot open the old value: %v", err)
	}
	if id, _ := rotated.SealedBy(rotated.Seal([]byte("v"), nil)); id != KeyID(key(2)) {
		t.Fatal("the new keyring does not seal with its primary key")
	}
	fresh, _ := NewKeyring(key(3))
	if _, err := fresh.Open(s, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("an unknown key opened: %v", err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("create = %d bytes, %v, %v", len(k1), created, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v; want 0600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("load = %v, %v", created, err)
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("a bad key file loaded")
	}
	if _, err := NewKeyring([]byte("short")); err == nil {
		t.Fatal("a short key made a keyring")
	}
}
