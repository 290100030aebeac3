package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestRoleFlags: --signup-roles and --exclusive-roles read their variables
// (USERD_EXCLUSIVE_ROLES separating sets with ';'), and --help lists them.
func TestRoleFlags(t *testing.T) {
	t.Setenv("USERD_SIGNUP_ROLES", "OWNER, AGENT,BROKER,")
	t.Setenv("USERD_EXCLUSIVE_ROLES", "OWNER,AGENT,BROKER;TC_ADMIN,OPT_USER,TC_ADMIN")
	fs, c := serveFlags()
	if err := parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	ex, err := c.exclusive()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"OWNER", "AGENT", "BROKER"}; !cmp.Equal(c.auth.SignupRoles, want) {
		t.Errorf("sign-up roles %q; want %q", c.auth.SignupRoles, want)
	}
	if want := (rbac.Exclusive{{"AGENT", "BROKER", "OWNER"}, {"OPT_USER", "TC_ADMIN"}}); !cmp.Equal(ex, want) {
		t.Errorf("exclusive roles %q; want %q", ex, want)
	}
	fs, c = serveFlags()
	if err := parse(fs, []string{"--signup-roles", "OWNER", "--exclusive-roles", "OWNER,AGENT", "--exclusive-roles", "BROKER,TC_ADMIN"}); err != nil {
		t.Fatal(err)
	}
	if ex, _ := c.exclusive(); !cmp.Equal(c.auth.SignupRoles, []string{"OWNER"}) || len(ex) != 2 {
		t.Errorf("the flags over the variables: sign-up roles %q, exclusive roles %q", c.auth.SignupRoles, ex)
	}
	var help strings.Builder
	fs, _ = serveFlags()
	fs.SetOutput(&help)
	fs.PrintDefaults()
	for _, want := range []string{"-signup-roles", "USERD_SIGNUP_ROLES", "-exclusive-roles", "USERD_EXCLUSIVE_ROLES"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("serve's help lacks %q", want)
		}
	}
}

// TestServeRefusesBadRoles: serve does not start with a sign-up role that
// does not exist or has the admin flag, nor with an exclusive set of one
// role or naming a role that does not exist; the error names the flag and
// the role.
func TestServeRefusesBadRoles(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			for _, tt := range []struct {
				args []string
				want string
			}{
				{[]string{"--signup-roles", "OWNER,AGNET"}, `--signup-roles: no role is called "AGNET"`},
				{[]string{"--signup-roles", "owner"}, `--signup-roles: no role is called "owner"`},
				{[]string{"--signup-roles", "ADMIN"}, "--signup-roles: the role ADMIN has the admin flag"},
				{[]string{"--exclusive-roles", "OWNER,BROKR"}, `--exclusive-roles: no role is called "BROKR"`},
				{[]string{"--exclusive-roles", "OWNER,OWNER"}, `--exclusive-roles "OWNER,OWNER": name at least two roles`},
			} {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // should serve start after all
				err := run(ctx, append(append([]string{"serve", "--addr", freeAddr(t), "--rate-limits", "off"}, tt.args...), dbArgs(t, engine)...), io.Discard)
				cancel()
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%v: %v; want an error with %q", tt.args, err, tt.want)
				}
			}
			// With good roles, serve starts and a sign-up chooses one.
			base, stop := startServe(t, append([]string{"--signup-roles", "OWNER,AGENT,BROKER", "--exclusive-roles", "OWNER,AGENT,BROKER"}, dbArgs(t, engine)...))
			if base == "" {
				t.Fatal(stop())
			}
			defer stop()
			tok := call(t, "POST", base+"/v1/auth/signup", "", map[string]any{"email": "ann@example.com", "password": "correct horse battery", "role": "BROKER"})["session"].(map[string]any)["token"].(string)
			if roles := call(t, "GET", base+"/v1/me", tok, nil)["roles"]; !cmp.Equal(roles, []any{"BROKER"}) {
				t.Fatalf("the roles of a sign-up as BROKER: %v", roles)
			}
		})
	}
}
