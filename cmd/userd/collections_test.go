package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestCollectionsApply: applying the trading journal declares its six
// collections; applying it again changes nothing; a bad file is an error.
func TestCollectionsApply(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			cmd := runner(t, engine)
			file := "../../examples/collections/trading-journal.json"
			out, err := cmd("collections", "apply", file)
			if err != nil || out != "created account_groups\ncreated mood_entries\ncreated orders\ncreated posts\ncreated tags\ncreated trading_accounts\n" {
				t.Fatalf("apply = %q, %v", out, err)
			}
			if out, err := cmd("collections", "apply", file); err != nil || strings.Count(out, "unchanged") != 6 {
				t.Fatalf("apply again = %q, %v", out, err)
			}
			bad := filepath.Join(t.TempDir(), "bad.json")
			os.WriteFile(bad, []byte(`{"collections": {"users": {"owner": "user", "schema": {"type": "object"}}}}`), 0o600)
			if _, err := cmd("collections", "apply", bad); err == nil || !strings.Contains(err.Error(), "invalid_name") {
				t.Fatalf("a userd table: %v", err)
			}
			if _, err := cmd("collections", "list"); err == nil || !strings.Contains(err.Error(), "usage") {
				t.Fatalf("another verb: %v", err)
			}
		})
	}
}
