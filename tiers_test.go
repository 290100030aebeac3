package userd_test

import (
	"os/exec"
	"strings"
	"testing"
)

// tiers places every package of the module on a layer: a package imports
// only packages of lower layers (and the root package's vocabulary, which
// every package may use). A new package must be given its layer here.
var tiers = map[string]int{
	// Vocabulary and leaves that know nothing of userd.
	"":                         0,
	"password/internal/argon2": 0,
	"mail":                     0,
	"seal":                     0,
	"token":                    0,
	// The database and hashing.
	"sqldb":    1,
	"password": 1,
	// Engines, caches, and the features that stand on the database alone.
	"sqlite":    2,
	"postgres":  2,
	"memo":      2,
	"account":   2,
	"audit":     2,
	"jobs":      2,
	"keys":      2,
	"layout":    2,
	"notify":    2,
	"ratelimit": 2,
	"rbac":      2,
	"webhook":   2,
	"mfa":       2,
	// Features that use other features' functions.
	"referral":        3,
	"social":          3,
	"vault":           3,
	"passkey":         3,
	"synchronization": 3,
	"userimport":      3,
	// Sign-up and sign-in, and what composes features in one transaction.
	"auth":      4,
	"lifecycle": 4,
	// What builds on sign-in.
	"federation": 5,
	"admin":      5,
	// The edges: HTTP, the clean-up job, the command, the test harness and
	// the load generator.
	"janitor":   6,
	"web":       6,
	"dbtest":    7,
	"cmd/userd": 7,
	"bench":     8,
}

// harness are the packages that no production package may import.
var harness = []string{"dbtest", "bench"}

// TestImportTiers fails when a package imports one of its own layer or a
// higher one, imports the test harness, or has no layer.
func TestImportTiers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/userd/userd"
	rel := func(path string) (string, bool) {
		if path == module {
			return "", true
		}
		p, ok := strings.CutPrefix(path, module+"/")
		return p, ok
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, _ := rel(fields[0])
		tier, ok := tiers[pkg]
		if !ok {
			t.Errorf("package %q has no layer in tiers_test.go", pkg)
			continue
		}
		seen++
		for _, imp := range fields[1:] {
			dep, ours := rel(imp)
			if !ours || dep == "" {
				continue
			}
			depTier, known := tiers[dep]
			switch {
			case !known:
				t.Errorf("%q imports %q, which has no layer", pkg, dep)
			case depTier >= tier:
				t.Errorf("%q (layer %d) imports %q (layer %d): only lower layers may be imported", pkg, tier, dep, depTier)
			}
			for _, h := range harness {
				if dep == h && pkg != "bench" {
					t.Errorf("%q imports the test harness %q", pkg, dep)
				}
			}
		}
	}
	if seen < 30 {
		t.Fatalf("go list named %d packages", seen)
	}
}
