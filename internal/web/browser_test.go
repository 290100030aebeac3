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
const browserHint = "the passkey browser test needs Chromium and playwright-core: apt-get install -y chromium && " +
	"npm install --prefix .ci/node playwright-core@1.64.1 (bash .ci/run does both)"

// TestPasskeysInBrowser drives a real browser, Debian's Chromium through
// playwright-core with a DevTools virtual authenticator, through both
// ceremonies on the page userd serves at /passkeys, on localhost.
func TestPasskeysInBrowser(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(browserHint)
	}
	modules := os.Getenv("USERD_NODE_MODULES")
	if modules == "" {
		modules, _ = filepath.Abs("../../.ci/node/node_modules")
	}
	if _, err := os.Stat(filepath.Join(modules, "playwright-core")); err != nil {
		t.Fatal(browserHint)
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil && os.Getenv("CHROMIUM") == "" {
		t.Fatal(browserHint)
	}
	db := dbtest.Open(t, "sqlite")
	c := startWith(t, db, options{rpOrigin: "auto"})
	userID, tok := c.signup(map[string]any{"email": "ann@example.com"})
	base := strings.Replace(c.url, "127.0.0.1", "localhost", 1)
	cmd := exec.Command(node, "testdata/passkeys_browser.cjs", base, tok)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("browser: %v\n%s", err, stderr)
	}
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
