package main

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestSeed applies the demonstration seed on both engines: everything it
// names is made once, and a second run says when it was seeded and
// changes nothing. A seed that fails leaves nothing behind, not even a
// status, so that a corrected file may run.
func TestSeed(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			args := dbArgs(t, engine)
			cmd := func(a ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append(a, args...), &out)
				return out.String(), err
			}
			counts := func() map[string]int {
				db, err := openWith(ctx, "test", args, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				got := map[string]int{}
				for name, q := range map[string]string{"users": "users", "hashed": "users WHERE password_hash LIKE '$argon2id$%'", "companies": "companies",
					"integration_mappings": "integration_mappings", "seed_status": "seed_status", "roles": "roles WHERE name = 'ACCOUNT_MANAGER'",
					"client_profiles": "client_profiles WHERE company_id IS NOT NULL", "user_roles": "user_roles",
					"activity_logs": "activity_logs WHERE action = 'crm.seed_applied'"} {
					var n int
					if err := db.SQL().QueryRow(`SELECT count(*) FROM ` + q).Scan(&n); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
					got[name] = n
				}
				return got
			}
			bad := filepath.Join(t.TempDir(), "bad.json")
			os.WriteFile(bad, []byte(`{"version": "1", "roles": [{"name": "ACCOUNT_MANAGER"}],
				"companies": [{"name": "Acme", "domain": "acme.example"}],
				"users": [{"email": "a@example.com", "password": "a long password 1", "roles": ["NO_SUCH_ROLE"]}]}`), 0o600)
			if _, err := cmd("seed", bad); err == nil || !strings.Contains(err.Error(), "role") {
				t.Fatalf("a seed with an unknown role: %v", err)
			}
			none := map[string]int{"users": 0, "hashed": 0, "companies": 0, "integration_mappings": 0, "seed_status": 0, "roles": 0, "client_profiles": 0, "user_roles": 0, "activity_logs": 0}
			if got := counts(); !maps.Equal(got, none) {
				t.Fatalf("after a failed seed: %v; want nothing", got)
			}
			os.WriteFile(bad, []byte(`{"version": "1", "users": [{"email": "a@example.com", "password": "password"}]}`), 0o600)
			if _, err := cmd("seed", bad); err == nil || !strings.Contains(err.Error(), "users[0].password: password_too_common") {
				t.Fatalf("a common password: %v", err)
			}
			file := "../../examples/seed/demo.json"
			out, err := cmd("seed", file)
			if err != nil || !strings.HasPrefix(out, "seeded demo-2026-12 at ") {
				t.Fatalf("seed = %q, %v", out, err)
			}
			want := map[string]int{"users": 4, "hashed": 4, "companies": 3, "integration_mappings": 2, "seed_status": 1, "roles": 1, "client_profiles": 3, "user_roles": 6, "activity_logs": 1}
			if got := counts(); !maps.Equal(got, want) {
				t.Fatalf("after the seed: %v; want %v", got, want)
			}
			out, err = cmd("seed", file)
			if err != nil || !strings.HasPrefix(out, "already seeded at ") || !strings.Contains(out, "version demo-2026-12") {
				t.Fatalf("seed again = %q, %v", out, err)
			}
			if got := counts(); !maps.Equal(got, want) {
				t.Fatalf("after a second seed: %v; want %v", got, want)
			}
			if out, err := cmd("seed", "--data-dir", "x"); err == nil || !strings.Contains(err.Error(), "usage") {
				t.Fatalf("no file: %q, %v", out, err)
			}
		})
	}
}
