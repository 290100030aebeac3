package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestImportCommands runs users import with its flags, users delete by
// legacy id and follows import on both engines.
func TestImportCommands(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			userd := runner(t, engine)
			cmd := func(args ...string) string {
				t.Helper()
				out, err := userd(args...)
				if err != nil {
					t.Fatalf("userd %v: %v\n%s", args, err, out)
				}
				return out
			}
			dir := t.TempDir()
			file := func(name, body string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			users := file("users.jsonl", `{"legacy_id":"L1","email":"a@example.com","nickname":"A"}`+"\n"+
				`{"legacy_id":"L2","email":"b@example.com","roles":["ADMIN"]}`+"\n"+`{"legacy_id":"L3","email":"c@example.com","status":"gone"}`+"\n")
			out, err := userd("users", "import", users)
			if err == nil || !strings.Contains(err.Error(), "unknown_fields") || !strings.Contains(out, `unknown field "nickname" in 1 records`) {
				t.Fatalf("import with an unknown field = %v\n%s", err, out)
			}
			if out := cmd("users", "list"); strings.Contains(out, "a@example.com") {
				t.Fatalf("a refused file wrote users:\n%s", out)
			}
			if out := cmd("users", "import", users, "--dry-run", "--ignore-unknown"); !strings.Contains(out, "dry run: read 3, valid 2, failing 1; nothing written") ||
				!strings.Contains(out, "line 3: invalid_status (status)") {
				t.Fatalf("dry run:\n%s", out)
			}
			if out := cmd("users", "import", users, "--ignore-unknown"); !strings.Contains(out, "read 3, imported 2, skipped 1") {
				t.Fatalf("import:\n%s", out)
			}
			if out := cmd("users", "import", users, "--ignore-unknown"); !strings.Contains(out, "imported 0") || !strings.Contains(out, "skipped 2: already_imported (legacy_id)") {
				t.Fatalf("import again:\n%s", out)
			}
			follows := file("follows.csv", "follower,following\nL1,b@example.com\nL2,L1\nL1,L1\n")
			if out := cmd("follows", "import", follows); !strings.Contains(out, "read 3, followed 2, skipped 1") || !strings.Contains(out, "skipped 1: self_follow") {
				t.Fatalf("follows import:\n%s", out)
			}
			if out := cmd("users", "delete", "L1"); !strings.Contains(out, "deleted ") {
				t.Fatalf("users delete by legacy id:\n%s", out)
			}
			if out := cmd("users", "list"); strings.Contains(out, "a@example.com") || !strings.Contains(out, "b@example.com") {
				t.Fatalf("after users delete L1:\n%s", out)
			}
			if _, err := userd("users", "delete", "L1"); err == nil || !strings.Contains(err.Error(), "user_not_found") {
				t.Fatalf("users delete of a gone legacy id = %v", err)
			}
		})
	}
}
