package web_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// browserHint says how to get what the browser test needs.
const browserHint = "the browser tests need Chromium and the packages of .ci/node/package.json (playwright-core, @axe-core/playwright, " +
	"openid-client, @auth/core): apt-get install -y chromium && " +
	"npm ci --prefix .ci/node (bash .ci/run does both)"

// nodeWithBrowser returns node and the node_modules folder that hold
// playwright-core, axe-core and the extra packages a test names (such as
// openid-client), and fails the test when they or Chromium are missing.
func nodeWithBrowser(t *testing.T, extra ...string) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(browserHint)
	}
	modules = os.Getenv("USERD_NODE_MODULES")
	if modules == "" {
		modules, _ = filepath.Abs("../../.ci/node/node_modules")
	}
	for _, m := range append([]string{"playwright-core", "@axe-core/playwright"}, extra...) {
		if _, err := os.Stat(filepath.Join(modules, m)); err != nil {
			t.Fatal(browserHint)
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil && os.Getenv("CHROMIUM") == "" {
		t.Fatal(browserHint)
	}
	return node, modules
}

// runNode runs a script of testdata with node, stdin as its input, and
// returns what it printed; it fails the test when the script fails.
func runNode(t *testing.T, node, modules, stdin string, args ...string) []byte {
	t.Helper()
	return runNodeFiles(t, node, modules, stdin, nil, args...)
}

// runNodeFiles is runNode with files handed to the script as its file
// descriptors 3, 4 and on (such as a listening socket).
func runNodeFiles(t *testing.T, node, modules, stdin string, files []*os.File, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.ExtraFiles = files
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("browser: %v\n%s", err, stderr)
	}
	return out
}

// TestPasskeysInBrowser drives a real browser, Debian's Chromium through
// playwright-core with a DevTools virtual authenticator, through both
// ceremonies on the page userd serves at /passkeys, on localhost.
func TestPasskeysInBrowser(t *testing.T) {
	node, modules := nodeWithBrowser(t)
	db := dbtest.Open(t, "sqlite")
	c := startWith(t, db, options{rpOrigin: "auto"})
	userID, tok := c.signup(map[string]any{"email": "ann@example.com"})
	base := strings.Replace(c.url, "127.0.0.1", "localhost", 1)
	out := runNode(t, node, modules, "", "testdata/passkeys_browser.cjs", base, tok)
	var res struct {
		Registered map[string]any `json:"registered"`
		Login      struct {
			User    map[string]any `json:"user"`
			Session map[string]any `json:"session"`
		} `json:"login"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("browser said %s: %v", out, err)
	}
	if res.Registered["name"] != "Chromium" || res.Login.User["id"] != userID || res.Login.Session["token"] == nil {
		t.Fatalf("browser ceremonies: %s", out)
	}
	if r := c.do("GET", "/v1/me/passkeys", nil, tok); len(r.Body["items"].([]any)) != 1 {
		t.Fatalf("passkeys after the browser registered one: %s", r.Raw)
	}
}
