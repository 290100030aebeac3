package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestOAuthClientsCommand: create prints the client id and, for a
// confidential client, its secret once; list shows the client without the
// secret; delete removes it; bad input is an error that makes nothing.
func TestOAuthClientsCommand(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			cmd := runner(t, engine)
			if _, err := cmd("oauth-clients", "create", "--name", "App", "--redirect-uri", "http://app.example/cb"); err == nil || !strings.Contains(err.Error(), "is not an absolute https URI") {
				t.Fatalf("an http redirect off loopback: %v", err)
			}
			if _, err := cmd("oauth-clients", "create", "--name", "App"); err == nil || !strings.Contains(err.Error(), "redirect URI") {
				t.Fatalf("no redirect URI: %v", err)
			}
			out, err := cmd("oauth-clients", "create", "--name", "Directory", "--redirect-uri", "https://app.example/cb", "--scope", "openid", "--scope", "email")
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`^client_id (udc_[a-z0-9]{20})\nclient_secret (udcs_[A-Za-z0-9_-]{43})\n`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("create printed %q", out)
			}
			id, secret := m[1], m[2]
			pub, err := cmd("oauth-clients", "create", "--name", "SPA", "--redirect-uri", "http://localhost:5173/cb", "--public", "--first-party")
			if err != nil || !regexp.MustCompile(`^client_id udc_[a-z0-9]{20}\n$`).MatchString(pub) {
				t.Fatalf("a public client: %q, %v", pub, err)
			}
			list, err := cmd("oauth-clients", "list")
			if err != nil || strings.Contains(list, secret) || !regexp.MustCompile(id+`\s+Directory\s+false\s+false\s+https://app.example/cb\s+openid email\n`).MatchString(list) ||
				!strings.Contains(list, "SPA") {
				t.Fatalf("list (%v):\n%s", err, list)
			}
			if out, err := cmd("oauth-clients", "delete", id); err != nil || out != "deleted "+id+"\n" {
				t.Fatalf("delete = %q, %v", out, err)
			}
			if list, _ := cmd("oauth-clients", "list"); strings.Contains(list, id) || strings.Count(list, "\n") != 2 {
				t.Fatalf("list after the deletion:\n%s", list)
			}
			if _, err := cmd("oauth-clients", "delete", id); err == nil {
				t.Fatal("deleting a deleted client passed")
			}
		})
	}
}
