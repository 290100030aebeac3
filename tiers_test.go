package userd_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// tiers places every package of the module on a layer: a package imports
// only packages of lower layers (and the root package's vocabulary, which
// every package may use). A new package must be given its layer here.
var tiers = map[string]int{
	// Vocabulary and leaves that know nothing of userd.
	"":                        0,
	"internal/platform/mail":  0,
	"internal/platform/seal":  0,
	"internal/platform/token": 0,
	"internal/platform/batch": 0,
	// The Go client of the HTTP API, for applications: it imports nothing
	// of userd.
	"client": 0,
	// The database and hashing.
	"internal/platform/sqldb":    1,
	"internal/platform/password": 1,
	// Engines, caches, and the features that stand on the database alone.
	"internal/platform/sqlite":   2,
	"internal/platform/postgres": 2,
	"internal/platform/memo":     2,
	"internal/feature/account":   2,
	"internal/feature/jobs":      2,
	"internal/feature/keys":      2,
	"internal/feature/layout":    2,
	"internal/feature/notify":    2,
	"internal/feature/ratelimit": 2,
	"internal/feature/rbac":      2,
	"internal/feature/mfa":       2,
	// The outbox of webhook events, which schedules their delivery jobs.
	"internal/feature/outbox": 3,
	// The audit trail, which writes the webhook events that what it
	// records makes to the outbox in the same transaction.
	"internal/feature/audit": 4,
	// Webhook endpoints and the delivery of the outbox's events, audited.
	"internal/feature/webhook": 5,
	// The OpenID Provider, whose tokens userd's signing keys sign, whose
	// claims read accounts and roles, and whose grants end with a user's
	// sessions (auth).
	"internal/feature/openid": 5,
	// Features that use other features' functions.
	"internal/feature/referral":        6,
	"internal/feature/apikey":          6,
	"internal/feature/social":          6,
	"internal/feature/engagement":      6,
	"internal/feature/vault":           6,
	"internal/feature/passkey":         6,
	"internal/feature/synchronization": 6,
	"internal/feature/organization":    6,
	"internal/feature/newsletter":      6,
	// The mail queue, whose deliveries are jobs.
	"internal/feature/mailq": 6,
	// Billing, which gives and takes the roles of plans.
	"internal/feature/billing": 6,
	// Sign-up and sign-in.
	"internal/feature/auth": 7,
	// Sponsor ads, which check item slugs by engagement's rule.
	"internal/feature/sponsor": 7,
	// Collections, whose organisations' records follow membership.
	"internal/feature/collection": 7,
	// Imports of users and of their follows (social's counters).
	"internal/feature/userimport": 7,
	// Surveys, whose anonymous ids follow engagement's rule.
	"internal/feature/survey": 7,
	// What builds on sign-in: log-in through other identities, and
	// moderation.
	"internal/feature/federation": 8,
	"internal/feature/moderation": 8,
	// The CRM tables and the seed, which makes users with passwords
	// checked as sign-up checks them.
	"internal/feature/crm": 8,
	// A user's end and export, which read every feature's rows.
	"internal/feature/lifecycle": 9,
	// The administration, which composes them.
	"internal/feature/admin": 10,
	// The edges: HTTP, the clean-up job, the metrics, the command, the test
	// harness and the load generator.
	"internal/janitor":          11,
	"internal/metrics":          11,
	"internal/web":              11,
	"internal/testkit/dbtest":   12,
	"internal/testkit/authtest": 12,
	"internal/testkit/proxies":  12,
	"cmd/userd":                 12,
	"bench":                     13,
	// The example service of an application, on the Go client.
	"examples/go": 13,
}

// forbidden are imports that the layers would allow but a rule does not:
// HTTP handlers decode, call a feature and encode, and never reach the
// database themselves.
var forbidden = map[string][]string{
	"internal/web": {"internal/platform/sqldb", "internal/platform/sqlite", "internal/platform/postgres"},
}

// harness are the packages that no production package may import.
var harness = []string{"internal/testkit/dbtest", "internal/testkit/authtest", "internal/testkit/proxies", "bench"}

// TestImportTiers fails when a package imports one of its own layer or a
// higher one, imports the test harness, or has no layer, and when a package
// of internal/platform (what knows nothing of users) imports one outside it.
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
			if strings.HasPrefix(pkg, "internal/platform/") && !strings.HasPrefix(dep, "internal/platform/") {
				t.Errorf("%q is of the platform and imports %q, which is not", pkg, dep)
			}
			if slices.Contains(forbidden[pkg], dep) {
				t.Errorf("%q imports %q, which a rule forbids it", pkg, dep)
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
