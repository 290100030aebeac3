package userd_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// features is the folder of the features, the owners of tables.
const features = "internal/feature/"

// owners names the one package (a folder of features) that writes each table (the README's
// architecture section lists the same).
var owners = map[string]string{
	"users":                    "account",
	"activity_logs":            "audit",
	"sessions":                 "auth",
	"refresh_tokens":           "auth",
	"verification_tokens":      "auth",
	"password_reset_tokens":    "auth",
	"signing_keys":             "keys",
	"rate_limits":              "ratelimit",
	"roles":                    "rbac",
	"permissions":              "rbac",
	"role_permissions":         "rbac",
	"user_roles":               "rbac",
	"dashboard_layouts":        "layout",
	"notifications":            "notify",
	"notification_counters":    "notify",
	"referrals":                "referral",
	"referred_users":           "referral",
	"user_accounts":            "vault",
	"user_credentials":         "vault",
	"synchronizations":         "synchronization",
	"jobs":                     "jobs",
	"webhook_deliveries":       "webhook",
	"user_follows":             "social",
	"user_follow_stats":        "social",
	"accounts":                 "federation",
	"oauth_states":             "federation",
	"mfa_totp":                 "mfa",
	"mfa_recovery_codes":       "mfa",
	"mfa_challenges":           "mfa",
	"authenticators":           "passkey",
	"api_keys":                 "apikey",
	"api_key_permissions":      "apikey",
	"webauthn_challenges":      "passkey",
	"client_profiles":          "engagement",
	"votes":                    "engagement",
	"favorites":                "engagement",
	"item_stats":               "engagement",
	"featured_items":           "engagement",
	"comments":                 "engagement",
	"item_views":               "engagement",
	"item_daily_stats":         "engagement",
	"item_rankings":            "engagement",
	"view_keys":                "engagement",
	"hidden_items":             "engagement",
	"reports":                  "moderation",
	"moderation_history":       "moderation",
	"sponsor_ads":              "sponsor",
	"organizations":            "organization",
	"organization_members":     "organization",
	"organization_invitations": "organization",
	"payment_providers":        "billing",
	"payment_accounts":         "billing",
	"subscriptions":            "billing",
	"subscription_history":     "billing",
	"billing_events":           "billing",
	"plan_roles":               "billing",
	"collections":              "collection",
	"collection_records":       "collection",
	"collection_changes":       "collection",
	// The CRM tables (issue 21, item 5).
	"companies":                "crm",
	"integration_mappings":     "crm",
	"twenty_crm_config":        "crm",
	"seed_status":              "crm",
	"newsletter_subscriptions": "newsletter",
	"surveys":                  "survey",
	"survey_responses":         "survey",
	// Webhooks (issue 24): endpoints and deliveries, and the outbox.
	"webhook_endpoints":    "webhook",
	"webhook_events":       "outbox",
	"mail_deliveries":      "mailq",
	"oauth_clients":        "openid",
	"oauth_consents":       "openid",
	"oauth_authorizations": "openid",
	"oauth_grants":         "openid",
	"oauth_tokens":         "openid",
}

// writes finds the statements that change a table, in SQL that Go code
// writes out (upper-case keywords, lower-case names, as the code writes
// them). A table name spliced in at run time is not seen: the mail tokens'
// kinds in auth, and sqldb's re-sealing of every sealed column for a key
// rotation.
var writes = regexp.MustCompile(`\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([a-z_]+)`)

// notOwners are the folders whose SQL is not a feature's: the engines'
// set-up and the harnesses, which load data in bulk the way an operator
// would.
var notOwners = []string{"internal/platform/postgres", "internal/platform/sqlite", "internal/testkit/dbtest", "bench"}

// sources parses every Go file of the module but tests and the folders of
// notOwners, and calls fn with its path, its package's folder ("" for the
// root) and its syntax.
func sources(t *testing.T, fn func(path, pkg string, file *ast.File)) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && slices.Contains(notOwners, filepath.ToSlash(path)) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if pkg == "." {
			pkg = ""
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		fn(path, pkg, file)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTableOwners fails when a package writes a table that another package
// owns, or a table that has no owner, and when a migration makes a table
// that has no owner.
func TestTableOwners(t *testing.T) {
	sources(t, func(path, pkg string, file *ast.File) {
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range writes.FindAllStringSubmatch(s, -1) {
				table := m[2]
				if owner, ok := owners[table]; !ok {
					t.Errorf("%s writes %s, which has no owner", path, table)
				} else if features+owner != pkg {
					t.Errorf("%s writes %s, which %s owns", path, table, owner)
				}
			}
			return true
		})
	})
	made := regexp.MustCompile(`CREATE TABLE ([a-z_]+)`)
	migrations, err := filepath.Glob("internal/platform/sqlite/migrations/*.sql")
	if err != nil || len(migrations) == 0 {
		t.Fatalf("migrations: %v, %d files", err, len(migrations))
	}
	for _, f := range migrations {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range made.FindAllStringSubmatch(string(body), -1) {
			if _, ok := owners[m[1]]; !ok {
				t.Errorf("%s makes %s, which has no owner in owners_test.go", f, m[1])
			}
		}
	}
}

// TestAuditActionsAreConstants fails when an audit event spells its action
// out in a string of its own instead of taking one of audit's constants,
// the one list of the codes that clients filter on.
func TestAuditActionsAreConstants(t *testing.T) {
	sources(t, func(path, pkg string, file *ast.File) {
		ast.Inspect(file, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok || pkg == features+"audit" {
				return true
			}
			if key, ok := kv.Key.(*ast.Ident); !ok || key.Name != "Action" {
				return true
			}
			ast.Inspect(kv.Value, func(v ast.Node) bool {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					t.Errorf("%s: the audit action %s is not one of audit's constants", path, lit.Value)
				}
				return true
			})
			return true
		})
	})
}

// TestFeaturesNameNoEngine fails when a feature asks which engine it runs
// on: what differs between engines is a method of sqldb's Dialect.
func TestFeaturesNameNoEngine(t *testing.T) {
	sources(t, func(path, pkg string, file *ast.File) {
		if !strings.HasPrefix(pkg, features) {
			return
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Engine" {
				t.Errorf("%s asks for the engine's name: ask the dialect for what differs instead", path)
			}
			return true
		})
	})
}

// TestFeaturesScopeTheirTransactions fails when a feature opens a
// transaction on the context it was given as it is: a feature says whose
// rows a transaction may touch (sqldb.AsUser, sqldb.System or db.Own)
// instead of inheriting the scope of whatever called it.
func TestFeaturesScopeTheirTransactions(t *testing.T) {
	sources(t, func(path, pkg string, file *ast.File) {
		if !strings.HasPrefix(pkg, features) {
			return
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Tx" && sel.Sel.Name != "View") {
				return true
			}
			if id, ok := call.Args[0].(*ast.Ident); ok && id.Name == "ctx" {
				t.Errorf("%s opens a transaction in its caller's scope: say it (sqldb.AsUser, sqldb.System)", path)
			}
			return true
		})
	})
}

// TestDatabaseTestsStopTheirCluster: every test package that opens a
// database through dbtest has dbtest.Main as its TestMain, which stops the
// throwaway PostgreSQL cluster when the package's tests end (without it,
// each run leaves one running).
func TestDatabaseTestsStopTheirCluster(t *testing.T) {
	uses, mains := map[string]bool{}, map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") || strings.HasPrefix(path, "internal/testkit/") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		uses[dir] = uses[dir] || strings.Contains(string(b), "dbtest.")
		mains[dir] = mains[dir] || strings.Contains(string(b), "dbtest.Main(m)")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := range uses {
		if uses[dir] && !mains[dir] {
			t.Errorf("%s uses dbtest without func TestMain(m *testing.M) { dbtest.Main(m) }", dir)
		}
	}
}
