package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestAPIKeysCommand: create prints the key once on its first line, list
// shows the key without its secret, revoke marks it, and bad input is an
// error that makes nothing.
func TestAPIKeysCommand(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			cmd := runner(t, engine)
			if _, err := cmd("api-keys", "create", "--name", "bot", "--permission", "users:fly"); err == nil || !strings.Contains(err.Error(), "unknown_permission") {
				t.Fatalf("an unknown permission: %v", err)
			}
			if _, err := cmd("api-keys", "create", "--name", "bot", "--permission", "users:read", "--expires-at", "tomorrow"); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
				t.Fatalf("a bad expiry: %v", err)
			}
			out, err := cmd("api-keys", "create", "--name", "bot", "--permission", "users:read", "--permission", "vault:reveal", "--expires-at", "2099-01-01T00:00:00Z")
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`^(udk_[A-Za-z0-9_-]{43})\n# id ([0-9a-f-]{36});`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("create printed %q", out)
			}
			key, id := m[1], m[2]
			list, err := cmd("api-keys", "list")
			if err != nil || strings.Contains(list, key) || !regexp.MustCompile(id+`\s+bot\s+users:read,vault:reveal\s+\S+\s+-\s+2099-01-01T00:00:00Z\s+-\n`).MatchString(list) {
				t.Fatalf("list (%v):\n%s", err, list)
			}
			if out, err := cmd("api-keys", "revoke", id); err != nil || out != "revoked "+id+"\n" {
				t.Fatalf("revoke = %q, %v", out, err)
			}
			if list, _ := cmd("api-keys", "list"); !regexp.MustCompile(id+`.*2099-01-01T00:00:00Z\s+\d{4}-`).MatchString(list) || strings.Count(list, "\n") != 2 {
				t.Fatalf("list after revoke:\n%s", list)
			}
			if _, err := cmd("api-keys", "revoke"); err == nil || !strings.Contains(err.Error(), "usage") {
				t.Fatalf("revoke without an id: %v", err)
			}
		})
	}
}
