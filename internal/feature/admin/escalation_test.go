package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func ptr[T any](v T) *T { return &v }

// everyPermission is every permission that the database has.
var everyPermission = []string{"account:read", "account:write", "activity_logs:read", "api_keys:read", "api_keys:write", "billing:read", "billing:write", "collections:write", "comments:moderate",
	"companies:write", "crm:write", "integrations:write", "items:feature", "mail:read", "newsletter:read", "newsletter:write", "notifications:send", "oauth_clients:read", "oauth_clients:write", "reports:review", "roles:read", "roles:write", "seed:write",
	"sponsor_ads:review", "surveys:read", "surveys:write", "synchronizations:reveal", "users:moderate", "users:read", "users:write", "vault:reveal", "webhooks:read", "webhooks:write"}

// newCast makes the roles and the people of an escalation test, each with
// END_USER, the roles listed, and a session opened now:
//
//	adm    ADMIN
//	uw     USER_WRITER: users:read, users:write
//	rw     ROLE_WRITER: users:read, users:write, roles:read, roles:write
//	every  EVERYTHING: every permission, without the admin flag
//	boss   ADMIN, the target of most attempts
//	peer   AUDITOR: activity_logs:read, which uw and rw lack
//	plain  END_USER only
//
// HELPER (users:read) is a role that rw covers; so is OWNER, a seeded role
// with END_USER's account:read and account:write.
func newCast(t *testing.T, db *sqldb.DB) *bench {
	t.Helper()
	b := newBench(t, db)
	b.makeRoles(map[string][]string{
		"USER_WRITER": {"users:read", "users:write"},
		"ROLE_WRITER": {"users:read", "users:write", "roles:read", "roles:write"},
		"EVERYTHING":  everyPermission,
		"AUDITOR":     {"activity_logs:read"},
		"HELPER":      {"users:read"},
	})
	b.person("adm", "admin@example.com", rbac.AdminRole)
	b.person("uw", "uw@example.com", "USER_WRITER")
	b.person("rw", "rw@example.com", "ROLE_WRITER")
	b.person("every", "every@example.com", "EVERYTHING")
	b.person("boss", "boss@example.com", rbac.AdminRole)
	b.person("peer", "peer@example.com", "AUDITOR")
	b.person("plain", "plain@example.com")
	return b
}

// op is an administrative operation, as one person does it.
type op func(ctx context.Context, w admin.Who) error

func (b *bench) create(email string, roles ...string) op {
	return func(ctx context.Context, w admin.Who) error {
		_, err := b.s.CreateUser(ctx, w, admin.NewUser{Identity: account.Identity{Email: email}, Password: "correct horse battery", Roles: roles})
		return err
	}
}

func (b *bench) update(person string, p account.Patch) op {
	return func(ctx context.Context, w admin.Who) error {
		_, err := b.s.UpdateUser(ctx, w, b.id[person], p)
		return err
	}
}

func (b *bench) remove(person string) op {
	return func(ctx context.Context, w admin.Who) error { return b.s.DeleteUser(ctx, w, b.id[person]) }
}

func (b *bench) endSessions(person string) op {
	return func(ctx context.Context, w admin.Who) error {
		_, err := b.s.EndSessions(ctx, w, b.id[person], "")
		return err
	}
}

func (b *bench) setRole(person, role string, on bool) op {
	return func(ctx context.Context, w admin.Who) error { return b.s.SetRole(ctx, w, b.id[person], role, on) }
}

func (b *bench) createRole(name string, admin_ bool, perms ...string) op {
	return func(ctx context.Context, w admin.Who) error {
		p := rbac.RolePatch{Name: &name, IsAdmin: &admin_}
		if perms != nil {
			p.Permissions = &perms
		}
		_, err := b.s.CreateRole(ctx, w, p)
		return err
	}
}

func (b *bench) updateRole(name string, p rbac.RolePatch) op {
	return func(ctx context.Context, w admin.Who) error {
		_, err := b.s.UpdateRole(ctx, w, b.role[name], p)
		return err
	}
}

func (b *bench) deleteRole(name string) op {
	return func(ctx context.Context, w admin.Who) error { return b.s.DeleteRole(ctx, w, b.role[name]) }
}

// attempt is an operation by a person, and the error it must return (nil
// for none).
type attempt struct {
	name string
	by   string
	op   op
	want error
}

// try runs each attempt as a subtest, as the person acts at that moment,
// and checks its error; a refused one must leave every row that an
// administrative operation can change as it was.
func (b *bench) try(t *testing.T, attempts []attempt) {
	t.Helper()
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			b.t = t
			before := b.world()
			w := admin.Who{}
			if a.by != "" {
				w = b.who(a.by)
			}
			err := a.op(context.Background(), w)
			if a.want == nil && err != nil || a.want != nil && !errors.Is(err, a.want) {
				t.Fatalf("%s: err = %v; want %v", a.by, err, a.want)
			}
			if err == nil {
				return
			}
			if diff := cmp.Diff(before, b.world()); diff != "" {
				t.Fatalf("a refused operation changed the database (-before +after):\n%s", diff)
			}
		})
	}
	b.t = t
}

// roles returns a user's roles, comma-separated.
func (b *bench) roles(person string) string {
	return strings.Join(b.user(b.id[person]).Grants.Roles, ",")
}

// TestEscalationRefused: with users:write, with users:write and roles:write,
// and with every permission but not the admin flag, a caller can neither
// give a privilege they lack nor touch a user or a role that holds one,
// whatever the operation: each refusal is rbac.ErrInsufficientPrivilege and
// changes no row. The administrator under attack keeps their email, status,
// roles and session, and nobody became an administrator.
func TestEscalationRefused(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		b := newCast(t, db)
		evil := account.Patch{Email: ptr("evil@example.com")}
		banned, suspended := account.Patch{Status: ptr(account.StatusBanned)}, account.Patch{Status: ptr(account.StatusSuspended)}
		perms := func(p ...string) rbac.RolePatch { return rbac.RolePatch{Permissions: &p} }
		ip := rbac.ErrInsufficientPrivilege
		b.try(t, []attempt{
			// users:write only.
			{"users:write creates an ADMIN", "uw", b.create("new@example.com", "ADMIN"), ip},
			{"users:write creates with a role it covers", "uw", b.create("new@example.com", "OWNER"), ip},
			{"users:write creates naming END_USER", "uw", b.create("new@example.com", "END_USER"), ip},
			{"users:write changes an admin's email", "uw", b.update("boss", evil), ip},
			{"users:write changes an admin's name", "uw", b.update("boss", account.Patch{FirstName: ptr("Evil")}), ip},
			{"users:write suspends an admin", "uw", b.update("boss", suspended), ip},
			{"users:write bans an admin", "uw", b.update("boss", banned), ip},
			{"users:write deletes an admin", "uw", b.remove("boss"), ip},
			{"users:write ends an admin's sessions", "uw", b.endSessions("boss"), ip},
			{"users:write ends the sessions of a holder of a permission it lacks", "uw", b.endSessions("peer"), ip},
			{"users:write changes a holder of a permission it lacks", "uw", b.update("peer", evil), ip},
			{"users:write bans a holder of a permission it lacks", "uw", b.update("peer", banned), ip},
			{"users:write deletes a holder of a permission it lacks", "uw", b.remove("peer"), ip},
			{"users:write gives a role", "uw", b.setRole("plain", "OWNER", true), ip},
			{"users:write gives itself a role it holds", "uw", b.setRole("uw", "USER_WRITER", true), ip},
			{"users:write takes ADMIN", "uw", b.setRole("boss", "ADMIN", false), ip},
			{"users:write creates a role", "uw", b.createRole("MINE", false), ip},
			{"users:write changes a role it covers", "uw", b.updateRole("HELPER", rbac.RolePatch{Description: ptr("mine")}), ip},
			{"users:write deletes a role it covers", "uw", b.deleteRole("HELPER"), ip},

			// users:write and roles:write, not admin.
			{"roles:write creates an ADMIN", "rw", b.create("new@example.com", "ADMIN"), ip},
			{"roles:write creates with a permission it lacks", "rw", b.create("new@example.com", "AUDITOR"), ip},
			{"roles:write creates with a role it covers and ADMIN", "rw", b.create("new@example.com", "OWNER", "ADMIN"), ip},
			{"roles:write changes an admin's email", "rw", b.update("boss", evil), ip},
			{"roles:write bans an admin", "rw", b.update("boss", banned), ip},
			{"roles:write deletes an admin", "rw", b.remove("boss"), ip},
			{"roles:write makes itself ADMIN", "rw", b.setRole("rw", "ADMIN", true), ip},
			{"roles:write gives itself a permission it lacks", "rw", b.setRole("rw", "AUDITOR", true), ip},
			{"roles:write gives ADMIN", "rw", b.setRole("plain", "ADMIN", true), ip},
			{"roles:write gives a permission it lacks", "rw", b.setRole("plain", "AUDITOR", true), ip},
			{"roles:write gives an admin a role", "rw", b.setRole("boss", "OWNER", true), ip},
			{"roles:write gives a holder of a permission it lacks a role", "rw", b.setRole("peer", "OWNER", true), ip},
			{"roles:write takes ADMIN from an admin", "rw", b.setRole("boss", "ADMIN", false), ip},
			{"roles:write takes END_USER from an admin", "rw", b.setRole("boss", "END_USER", false), ip},
			{"roles:write takes a permission it lacks", "rw", b.setRole("peer", "AUDITOR", false), ip},
			{"roles:write creates an admin role", "rw", b.createRole("CHIEFS", true), ip},
			{"roles:write creates a role with a permission it lacks", "rw", b.createRole("SPIES", false, "users:read", "activity_logs:read"), ip},
			{"roles:write flags a role admin", "rw", b.updateRole("HELPER", rbac.RolePatch{IsAdmin: ptr(true)}), ip},
			{"roles:write adds a permission it lacks", "rw", b.updateRole("HELPER", perms("users:read", "activity_logs:read")), ip},
			{"roles:write adds a permission it lacks to its own role", "rw", b.updateRole("ROLE_WRITER", perms("roles:write", "activity_logs:read")), ip},
			{"roles:write renames a role with a permission it lacks", "rw", b.updateRole("AUDITOR", rbac.RolePatch{Description: ptr("mine now")}), ip},
			{"roles:write empties a role with a permission it lacks", "rw", b.updateRole("AUDITOR", perms()), ip},
			{"roles:write changes the ADMIN role", "rw", b.updateRole("ADMIN", rbac.RolePatch{Description: ptr("nobody")}), ip},
			{"roles:write unflags the ADMIN role", "rw", b.updateRole("ADMIN", rbac.RolePatch{IsAdmin: ptr(false)}), ip},
			{"roles:write deletes a role with a permission it lacks", "rw", b.deleteRole("AUDITOR"), ip},
			{"roles:write deletes the ADMIN role", "rw", b.deleteRole("ADMIN"), ip},

			// Every permission, not the admin flag.
			{"every permission creates an ADMIN", "every", b.create("new@example.com", "ADMIN"), ip},
			{"every permission makes itself ADMIN", "every", b.setRole("every", "ADMIN", true), ip},
			{"every permission gives ADMIN", "every", b.setRole("plain", "ADMIN", true), ip},
			{"every permission changes an admin's email", "every", b.update("boss", evil), ip},
			{"every permission bans an admin", "every", b.update("boss", banned), ip},
			{"every permission deletes an admin", "every", b.remove("boss"), ip},
			{"every permission ends an admin's sessions", "every", b.endSessions("boss"), ip},
			{"every permission takes ADMIN", "every", b.setRole("boss", "ADMIN", false), ip},
			{"every permission creates an admin role", "every", b.createRole("CHIEFS", true), ip},
			{"every permission flags a role admin", "every", b.updateRole("AUDITOR", rbac.RolePatch{IsAdmin: ptr(true)}), ip},
			{"every permission unflags the ADMIN role", "every", b.updateRole("ADMIN", rbac.RolePatch{IsAdmin: ptr(false)}), ip},
			{"every permission deletes the ADMIN role", "every", b.deleteRole("ADMIN"), ip},

			// Nobody: no session, no grants, not the system.
			{"nobody gives a role", "", b.setRole("plain", "OWNER", true), ip},
			{"nobody changes an end user", "", b.update("plain", account.Patch{FirstName: ptr("P")}), ip},
			{"nobody ends an end user's sessions", "", b.endSessions("plain"), ip},
		})

		boss := b.user(b.id["boss"])
		if *boss.Email != "boss@example.com" || boss.Status != account.StatusActive || strings.Join(boss.Grants.Roles, ",") != "ADMIN,END_USER" {
			t.Fatalf("the admin after the attempts: %s %s %v", *boss.Email, boss.Status, boss.Grants.Roles)
		}
		if _, err := b.auth.Authenticate(context.Background(), b.token["boss"]); err != nil {
			t.Fatalf("the admin's session after the attempts: %v", err)
		}
		if users, err := b.s.ListUsers(context.Background(), "new@", "", 10); err != nil || len(users) != 0 {
			t.Fatalf("a refused create left users %v, %v", users, err)
		}
		for _, p := range []string{"uw", "rw", "every"} {
			if g := b.who(p).Actor.Grants; g.Admin {
				t.Fatalf("%s became an administrator: %+v", p, g)
			}
		}
	})
}

// TestEscalationAllowed: what the rule allows works, with exact results.
// users:write alone creates END_USERs and changes users it covers, itself
// included; roles:write gives, takes, makes, changes and deletes roles it
// covers, even its own; every grant is read when the change runs, so a user
// who gains a permission leaves the reach of those who lack it; an
// administrator may do everything; each change is in the trail under its
// actor, and nothing else is.
func TestEscalationAllowed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newCast(t, db)
		u, err := b.s.CreateUser(ctx, b.who("uw"), admin.NewUser{Identity: account.Identity{Email: "made-by-uw@example.com"}})
		if err != nil || strings.Join(u.Grants.Roles, ",") != "END_USER" || strings.Join(u.Grants.Permissions, ",") != "account:read,account:write" || u.Grants.Admin {
			t.Fatalf("users:write creates without roles = %+v, %v", u.Grants, err)
		}
		b.id["madeByUW"] = u.ID
		u, err = b.s.CreateUser(ctx, b.who("rw"), admin.NewUser{Identity: account.Identity{Email: "made-by-rw@example.com"}, Roles: []string{"OWNER", "ROLE_WRITER"}})
		if err != nil || strings.Join(u.Grants.Roles, ",") != "OWNER,ROLE_WRITER" || strings.Join(u.Grants.Permissions, ",") != "account:read,account:write,roles:read,roles:write,users:read,users:write" {
			t.Fatalf("roles:write creates with roles it covers = %+v, %v", u.Grants, err)
		}
		b.id["madeByRW"] = u.ID
		ip := rbac.ErrInsufficientPrivilege
		b.try(t, []attempt{
			{"users:write changes an end user", "uw", b.update("plain", account.Patch{FirstName: ptr("Plain")}), nil},
			{"users:write changes itself", "uw", b.update("uw", account.Patch{FirstName: ptr("Uma")}), nil},
			{"users:write deletes a user it covers", "uw", b.remove("madeByUW"), nil},
			{"roles:write gives a role it covers", "rw", b.setRole("plain", "HELPER", true), nil},
			{"roles:write gives its own role", "rw", b.setRole("plain", "ROLE_WRITER", true), nil},
			{"roles:write gives it again", "rw", b.setRole("plain", "ROLE_WRITER", true), nil},
			{"roles:write takes a role", "rw", b.setRole("plain", "ROLE_WRITER", false), nil},
			{"roles:write changes a role it covers", "rw", b.updateRole("HELPER", rbac.RolePatch{Description: ptr("helps"), Permissions: &[]string{"users:read", "roles:read"}}), nil},
			{"every permission gives a permission it holds", "every", b.setRole("plain", "AUDITOR", true), nil},
			{"every permission changes a holder of it", "every", b.update("peer", account.Patch{FirstName: ptr("Pete")}), nil},
			{"roles:write creates a role it covers", "rw", b.createRole("DESK", false, "users:read"), nil},
		})
		if _, err := b.s.GetUser(ctx, b.id["madeByUW"]); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("the user uw deleted: %v", err)
		}
		if got := b.roles("plain"); got != "AUDITOR,END_USER,HELPER" {
			t.Fatalf("plain's roles = %s; want AUDITOR,END_USER,HELPER", got)
		}
		roles, _, err := b.s.Roles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range roles {
			b.role[r.Name] = r.ID
			if r.Name == "HELPER" && (r.Description != "helps" || strings.Join(r.Permissions, ",") != "roles:read,users:read" || r.IsAdmin) {
				t.Fatalf("HELPER after rw changed it: %+v", r)
			}
		}
		b.try(t, []attempt{
			{"roles:write deletes a role it covers", "rw", b.deleteRole("DESK"), nil},
			// plain now holds activity_logs:read (AUDITOR, given by every):
			// rw no longer covers them.
			{"roles:write changes a user who gained a permission it lacks", "rw", b.update("plain", account.Patch{FirstName: ptr("P")}), ip},
			{"admin makes an admin", "adm", b.setRole("plain", "ADMIN", true), nil},
			{"every permission changes the new admin", "every", b.update("plain", account.Patch{FirstName: ptr("P")}), ip},
			{"admin changes an admin's email", "adm", b.update("boss", account.Patch{Email: ptr("boss2@example.com")}), nil},
			{"admin creates an admin role", "adm", b.createRole("CHIEFS", true, "users:read"), nil},
			{"admin creates an ADMIN", "adm", b.create("root2@example.com", "ADMIN"), nil},
			{"admin takes ADMIN", "adm", b.setRole("plain", "ADMIN", false), nil},
			{"admin bans an admin", "adm", b.update("boss", account.Patch{Status: ptr(account.StatusBanned)}), nil},
			{"admin deletes an admin", "adm", b.remove("boss"), nil},
			// Taking one's own role is acting on oneself: allowed, and then
			// roles:write is gone.
			{"roles:write takes its own role", "rw", b.setRole("rw", "ROLE_WRITER", false), nil},
			{"without its role, roles:write gives nothing", "rw", b.setRole("plain", "HELPER", true), ip},
		})
		if _, err := b.s.GetUser(ctx, b.id["boss"]); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("the admin that adm deleted: %v", err)
		}
		if _, err := b.auth.Authenticate(ctx, b.token["boss"]); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("the deleted admin's session = %v; want ErrUnauthenticated", err)
		}
		plain := b.user(b.id["plain"])
		if got := strings.Join(plain.Grants.Roles, ","); got != "AUDITOR,END_USER,HELPER" || *plain.FirstName != "Plain" || plain.Grants.Admin {
			t.Fatalf("plain after the allowed changes: roles %s, first name %s, %+v", got, *plain.FirstName, plain.Grants)
		}
		if got := b.roles("rw"); got != "END_USER" {
			t.Fatalf("rw's roles = %s; want END_USER", got)
		}
		b.makeRoles(nil)
		root2, err := b.s.ListUsers(ctx, "root2@", "", 2)
		if err != nil || len(root2) != 1 {
			t.Fatalf("the ADMIN that adm created: %v, %v", root2, err)
		}
		b.id["root2"] = root2[0].ID
		for actor, want := range map[string][]string{
			"uw": {"admin.user_created madeByUW", "admin.user_updated plain", "admin.user_updated uw", "admin.user_deleted madeByUW"},
			"rw": {"admin.user_created madeByRW", "admin.role_assigned plain", "admin.role_assigned plain", "admin.role_assigned plain",
				"admin.role_removed plain", "admin.role_updated HELPER", "admin.role_created DESK", "admin.role_deleted DESK", "admin.role_removed rw"},
			"every": {"admin.role_assigned plain", "admin.user_updated peer"},
			"adm": {"admin.role_assigned plain", "admin.user_updated boss", "admin.role_created CHIEFS", "admin.user_created root2",
				"admin.role_removed plain", "admin.user_updated boss", "admin.user_deleted boss"},
		} {
			if got := b.trail(b.id[actor]); !cmp.Equal(got, want) {
				t.Errorf("%s's trail:\n got %v\nwant %v", actor, got, want)
			}
		}
	})
}
