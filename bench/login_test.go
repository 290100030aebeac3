package main

import (
	"slices"
	"testing"
)

// TestLabelEngine: under -unsafe-fast-postgres the rows of the harness's own
// PostgreSQL say so, those of SQLite and of a -database-url do not.
func TestLabelEngine(t *testing.T) {
	defer func(v bool) { unsafeFastPG = v }(unsafeFastPG)
	rows := func() []row { return []row{{Engine: "sqlite"}, {Engine: "postgres"}} }
	engines := func(rs []row) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Engine)
		}
		return out
	}
	for _, tt := range []struct {
		unsafe bool
		dbURL  string
		want   []string
	}{
		{false, "", []string{"sqlite", "postgres"}},
		{true, "", []string{"sqlite", "postgres (unsafe-fast)"}},
		{true, "postgres://elsewhere/db", []string{"sqlite", "postgres"}},
	} {
		unsafeFastPG = tt.unsafe
		rs := rows()
		labelEngine(rs, tt.dbURL)
		if got := engines(rs); !slices.Equal(got, tt.want) {
			t.Errorf("unsafe %v, url %q: engines %q; want %q", tt.unsafe, tt.dbURL, got, tt.want)
		}
	}
	unsafeFastPG = true
	if got := pgDurability(); !slices.Contains(got, "fsync=off") {
		t.Errorf("-unsafe-fast-postgres settings %q lack fsync=off", got)
	}
	unsafeFastPG = false
	if got := pgDurability(); !slices.Equal(got, []string{"fsync=on", "synchronous_commit=on", "full_page_writes=on"}) {
		t.Errorf("default settings %q; want durable", got)
	}
}

// TestParseConns: -login-conns takes whole numbers from 1.
func TestParseConns(t *testing.T) {
	defer func(v []int) { loginConns = v }(loginConns)
	if err := parseConns("8, 64,256"); err != nil || !slices.Equal(loginConns, []int{8, 64, 256}) {
		t.Fatalf("parseConns = %v, %v; want [8 64 256]", loginConns, err)
	}
	for _, bad := range []string{"", "0", "8,,64", "x"} {
		if err := parseConns(bad); err == nil {
			t.Errorf("parseConns(%q) accepted", bad)
		}
	}
}
