package userd

import (
	"strings"
	"testing"
	"time"
)

func TestNewIDIsUUIDv7(t *testing.T) {
	now := time.UnixMilli(0x0193_4a5b_6c7d)
	id := NewID(now)
	if len(id) != 36 || id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
		t.Fatalf("NewID = %q; want version 7, variant 10", id)
	}
	if !strings.HasPrefix(id, "01934a5b-6c7d-") {
		t.Fatalf("NewID = %q; want the milliseconds 01934a5b6c7d first", id)
	}
	if got, ok := ParseID(id); !ok || got != id {
		t.Fatalf("ParseID(NewID) = %q, %v", got, ok)
	}
	if NewID(now) == id {
		t.Fatal("two ids in one millisecond are equal")
	}
	prev := id
	for range 1000 {
		next := NewID(now)
		if next <= prev {
			t.Fatalf("ids of one millisecond do not increase: %q then %q", prev, next)
		}
		prev = next
	}
	if later := NewID(now.Add(time.Millisecond)); later <= id {
		t.Fatalf("a later id %q does not sort after %q", later, id)
	}
}

func TestParseID(t *testing.T) {
	for in, want := range map[string]string{
		"01934A5B-6C7D-7ABC-8DEF-0123456789AB": "01934a5b-6c7d-7abc-8def-0123456789ab",
		"01934a5b-6c7d-7abc-8def-0123456789ab": "01934a5b-6c7d-7abc-8def-0123456789ab",
		"":                                     "",
		"01934a5b6c7d7abc8def0123456789ab":     "",
		"01934a5b-6c7d-7abc-8def-0123456789ag": "",
		"01934a5b-6c7d-7abc-8def_0123456789ab": "",
		"'; DROP TABLE users; --             ": "",
	} {
		got, ok := ParseID(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
