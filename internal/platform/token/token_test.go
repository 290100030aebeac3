package token

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewParse(t *testing.T) {
	tok, hash := New(SessionPrefix)
	if !strings.HasPrefix(tok, SessionPrefix) || len(tok) != len(SessionPrefix)+43 {
		t.Fatalf("token %q has the wrong shape", tok)
	}
	got, ok := Parse(SessionPrefix, tok)
	if !ok || !bytes.Equal(got, hash) {
		t.Fatalf("Parse(New()) = %x, %v; want %x, true", got, ok, hash)
	}
	other, _ := New(SessionPrefix)
	if other == tok {
		t.Fatal("two tokens are equal")
	}
}

func TestParseRejects(t *testing.T) {
	tok, _ := New(SessionPrefix)
	body := tok[len(SessionPrefix):]
	for name, s := range map[string]string{
		"empty":         "",
		"prefix only":   SessionPrefix,
		"no prefix":     body,
		"other prefix":  "udr_" + body,
		"short":         tok[:len(tok)-1],
		"long":          tok + "A",
		"bad alphabet":  SessionPrefix + "+" + body[1:],
		"padding":       SessionPrefix + body[:42] + "=",
		"space":         SessionPrefix + " " + body[1:],
		"non-canonical": SessionPrefix + body[:42] + "B", // "B" sets a spare bit
		"unicode":       SessionPrefix + "é" + body[2:],
	} {
		if _, ok := Parse(SessionPrefix, s); ok {
			t.Errorf("%s: Parse(%q) accepted", name, s)
		}
	}
}

func FuzzParse(f *testing.F) {
	tok, _ := New(SessionPrefix)
	f.Add(tok)
	f.Add("")
	f.Add(SessionPrefix + strings.Repeat("A", 43))
	f.Fuzz(func(t *testing.T, s string) {
		hash, ok := Parse(SessionPrefix, s)
		if !ok {
			return
		}
		if len(s) != len(SessionPrefix)+43 || !strings.HasPrefix(s, SessionPrefix) {
			t.Fatalf("accepted %q of the wrong shape", s)
		}
		if !bytes.Equal(hash, Hash(s)) {
			t.Fatal("hash differs from Hash")
		}
	})
}
