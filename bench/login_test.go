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

// TestMedian: the middle of an odd count, the upper middle of an even one,
// whatever the order.
func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{30, 10, 20}, 20},
		{[]float64{4, 1, 3, 2}, 3},
		{[]float64{19.8, 80, 20.1, 20.0, 19.9}, 20.0},
	} {
		if got := median(slices.Clone(tt.xs)); got != tt.want {
			t.Errorf("median(%v) = %v; want %v", tt.xs, got, tt.want)
		}
	}
}
