package admin_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// assigned returns the metadata of adm's role assignments from the n-th on.
func (b *bench) assigned(from int) []map[string]any {
	b.t.Helper()
	return b.metadata(b.id["adm"], "admin.role_assigned")[from:]
}

// TestExclusiveRoles: giving a role of an exclusive set takes the others of
// each set that holds it, in the same transaction, and the trail names what
// it replaced; roles outside the sets stay. A user created with two roles of
// a set is refused and nothing is written; a set naming a role that does not
// exist is refused and the sets in force stay.
func TestExclusiveRoles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		b.person("ann", "ann@example.com")
		adm := b.who("adm")
		if err := b.s.SetExclusiveRoles(ctx, rbac.Exclusive{{"AGENT", "BROKER", "OWNER"}, {"OPT_USER", "TC_ADMIN"}}); err != nil {
			t.Fatal(err)
		}
		if err := b.s.SetExclusiveRoles(ctx, rbac.Exclusive{{"OWNER", "NOPE"}}); err == nil || !strings.Contains(err.Error(), `"NOPE"`) {
			t.Fatalf("a set with an unknown role = %v; want an error naming it", err)
		}
		give := func(role string, want string, meta map[string]any) {
			t.Helper()
			before := len(b.metadata(b.id["adm"], "admin.role_assigned"))
			if err := b.s.SetRole(ctx, adm, b.id["ann"], role, true); err != nil {
				t.Fatalf("give %s: %v", role, err)
			}
			if got := b.roles("ann"); got != want {
				t.Fatalf("after giving %s, ann holds %s; want %s", role, got, want)
			}
			if got := b.assigned(before); !cmp.Equal(got, []map[string]any{meta}) {
				t.Fatalf("the trail of giving %s: %v; want %v", role, got, meta)
			}
		}
		meta := func(role string, changed bool, replaced ...any) map[string]any {
			m := map[string]any{"role": role, "changed": changed}
			if len(replaced) > 0 {
				m["replaced"] = replaced
			}
			return m
		}
		give("OWNER", "END_USER,OWNER", meta("OWNER", true))
		give("AGENT", "AGENT,END_USER", meta("AGENT", true, "OWNER"))
		give("AGENT", "AGENT,END_USER", meta("AGENT", false))
		give("TC_ADMIN", "AGENT,END_USER,TC_ADMIN", meta("TC_ADMIN", true))
		give("OPT_USER", "AGENT,END_USER,OPT_USER", meta("OPT_USER", true, "TC_ADMIN"))
		// The unknown set was not taken: BROKER still takes AGENT, and
		// OWNER is not made exclusive of anything else.
		give("BROKER", "BROKER,END_USER,OPT_USER", meta("BROKER", true, "AGENT"))
		// Two roles of a set held from before the set: giving one takes the
		// others, whether the user had it or not.
		b.grant(b.id["ann"], "OWNER", "AGENT")
		give("BROKER", "BROKER,END_USER,OPT_USER", meta("BROKER", false, "AGENT", "OWNER"))

		// Seed 003's one role per user: END_USER in the set.
		if err := b.s.SetExclusiveRoles(ctx, rbac.Exclusive{{"AGENT", "BROKER", "END_USER", "OWNER"}}); err != nil {
			t.Fatal(err)
		}
		bob := b.person("bob", "bob@example.com")
		if err := b.s.SetRole(ctx, adm, bob, "AGENT", true); err != nil {
			t.Fatal(err)
		}
		if got := b.roles("bob"); got != "AGENT" {
			t.Fatalf("bob holds %s; want AGENT alone", got)
		}
		if got := b.assigned(0); !cmp.Equal(got[len(got)-1], meta("AGENT", true, "END_USER")) {
			t.Fatalf("the trail of giving bob AGENT: %v", got[len(got)-1])
		}

		create := func(roles ...string) func() error {
			return func() error {
				_, err := b.s.CreateUser(ctx, adm, admin.NewUser{Identity: account.Identity{Email: "new@example.com"}, Roles: roles})
				return err
			}
		}
		b.refuse(t, []refusal{
			{"created with two roles of a set", create("OWNER", "AGENT"), []string{"roles/exclusive_roles"}, nil},
			{"created with END_USER and a role of its set", create("END_USER", "BROKER"), []string{"roles/exclusive_roles"}, nil},
		})
		u, err := b.s.CreateUser(ctx, adm, admin.NewUser{Identity: account.Identity{Email: "new@example.com"}, Roles: []string{"OWNER", "TC_ADMIN"}})
		if err != nil || strings.Join(u.Grants.Roles, ",") != "OWNER,TC_ADMIN" {
			t.Fatalf("created with roles of no common set: %v, %v", u.Grants.Roles, err)
		}
	})
}

// TestExclusiveRolesConcurrent: eight administrators' requests at once give
// one user four roles of one exclusive set, twice each: every one succeeds,
// the user ends with exactly one of the set (and END_USER, outside it), and
// the trail adds up: each gift that changed something but the first replaced
// exactly one role, the others none.
func TestExclusiveRolesConcurrent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		set := []string{"AGENT", "BROKER", "OWNER", "TC_ADMIN"}
		if err := b.s.SetExclusiveRoles(ctx, rbac.Exclusive{set}); err != nil {
			t.Fatal(err)
		}
		adm := b.who("adm")
		for round := range 3 {
			name := fmt.Sprintf("user%d", round)
			user := b.person(name, name+"@example.com")
			from := len(b.assigned(0))
			errs := dbtest.AtOnce(8, func(i int) error { return b.s.SetRole(ctx, adm, user, set[i%len(set)], true) })
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, gift %d: %v", round, i, err)
				}
			}
			roles := b.user(user).Grants.Roles
			var held []string
			for _, r := range roles {
				if r != rbac.DefaultRole {
					held = append(held, r)
				}
			}
			if len(roles) != 2 || len(held) != 1 {
				t.Fatalf("round %d: the user holds %v; want END_USER and one of %v", round, roles, set)
			}
			changed, replaced := 0, 0
			for _, m := range b.assigned(from) {
				if m["changed"] == true {
					changed++
				}
				if r, ok := m["replaced"].([]any); ok {
					replaced += len(r)
				}
			}
			if len(b.assigned(from)) != 8 || replaced != changed-1 {
				t.Fatalf("round %d: %d gifts audited, %d changed something, %d roles replaced; want 8, n and n-1", round, len(b.assigned(from)), changed, replaced)
			}
		}
	})
}

// TestLastRole: taking a user's last role is rbac.ErrLastRole and changes
// nothing; taking a role they lack is not an error even when they hold one;
// an unknown role is rbac.ErrRoleNotFound. Deleting a role gives END_USER to
// those it would leave without one, and the trail counts them.
func TestLastRole(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		ann := b.person("ann", "ann@example.com")
		bob := b.person("bob", "bob@example.com")
		adm := b.who("adm")
		take := func(user, role string) func() error {
			return func() error { return b.s.SetRole(ctx, adm, user, role, false) }
		}
		b.refuse(t, []refusal{
			{"END_USER, the only role", take(ann, "END_USER"), nil, rbac.ErrLastRole},
			{"an unknown role", take(ann, "NOPE"), nil, rbac.ErrRoleNotFound},
		})
		if err := b.s.SetRole(ctx, adm, ann, "OWNER", true); err != nil {
			t.Fatal(err)
		}
		if err := take(ann, "END_USER")(); err != nil {
			t.Fatal(err)
		}
		if got := b.roles("ann"); got != "OWNER" {
			t.Fatalf("ann holds %s; want OWNER", got)
		}
		b.refuse(t, []refusal{{"OWNER, now the only role", take(ann, "OWNER"), nil, rbac.ErrLastRole}})
		if err := take(ann, "AGENT")(); err != nil {
			t.Fatalf("taking a role ann lacks = %v; want nil", err)
		}
		if got, want := b.metadata(b.id["adm"], "admin.role_removed"), []map[string]any{
			{"role": "END_USER", "changed": true}, {"role": "AGENT", "changed": false},
		}; !cmp.Equal(got, want) {
			t.Fatalf("the trail of the removals %v; want %v", got, want)
		}

		// DESK is ann's only role and one of bob's two.
		b.makeRoles(map[string][]string{"DESK": {"account:read"}})
		for _, u := range []string{ann, bob} {
			if err := b.s.SetRole(ctx, adm, u, "DESK", true); err != nil {
				t.Fatal(err)
			}
		}
		if err := take(ann, "OWNER")(); err != nil {
			t.Fatal(err)
		}
		if err := b.s.DeleteRole(ctx, adm, b.role["DESK"]); err != nil {
			t.Fatal(err)
		}
		if got := b.roles("ann") + " " + b.roles("bob"); got != "END_USER END_USER" {
			t.Fatalf("after DESK went, ann and bob hold %s; want END_USER each", got)
		}
		if got, want := b.metadata(b.id["adm"], "admin.role_deleted"), []map[string]any{{"name": "DESK", "given_default": float64(1)}}; !cmp.Equal(got, want) {
			t.Fatalf("the trail of the deletion %v; want %v", got, want)
		}
	})
}

// TestLastRoleConcurrent: two concurrent removals of a user's two roles:
// exactly one succeeds, the other is rbac.ErrLastRole, and the user keeps
// the role the successful one did not take. A removal racing the deletion
// of the user's other role leaves them END_USER either way; a gift racing
// the deletion of the user's only role leaves them the gift.
func TestLastRoleConcurrent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		adm := b.who("adm")
		for round := range 5 {
			name := fmt.Sprintf("user%d", round)
			user := b.person(name, name+"@example.com", "OWNER")
			two := []string{"END_USER", "OWNER"}
			errs := dbtest.AtOnce(2, func(i int) error { return b.s.SetRole(ctx, adm, user, two[i], false) })
			var kept string
			switch {
			case errs[0] == nil && errors.Is(errs[1], rbac.ErrLastRole):
				kept = "OWNER"
			case errs[1] == nil && errors.Is(errs[0], rbac.ErrLastRole):
				kept = "END_USER"
			default:
				t.Fatalf("round %d: removals = %v; want one nil and one ErrLastRole", round, errs)
			}
			if got := b.roles(name); got != kept {
				t.Fatalf("round %d: the user holds %q; want %s", round, got, kept)
			}
		}
		for round := range 5 {
			name, role := fmt.Sprintf("desk%d", round), fmt.Sprintf("DESK%d", round)
			b.makeRoles(map[string][]string{role: {"account:read"}})
			user := b.person(name, name+"@example.com", role)
			errs := dbtest.AtOnce(2, func(i int) error {
				if i == 0 {
					return b.s.DeleteRole(ctx, adm, b.role[role])
				}
				return b.s.SetRole(ctx, adm, user, "END_USER", false)
			})
			if errs[0] != nil || (errs[1] != nil && !errors.Is(errs[1], rbac.ErrLastRole)) {
				t.Fatalf("round %d: deletion %v, removal %v", round, errs[0], errs[1])
			}
			if got := b.roles(name); got != "END_USER" {
				t.Fatalf("round %d: the user holds %q; want END_USER", round, got)
			}
		}
		// A gift to a user whose only role is being deleted: both succeed,
		// and the user holds OWNER, with END_USER when the deletion saw
		// them without another role.
		for round := range 3 {
			name, role := fmt.Sprintf("gift%d", round), fmt.Sprintf("GIFT%d", round)
			b.makeRoles(map[string][]string{role: {"account:read"}})
			user := b.person(name, name+"@example.com", role)
			if err := b.s.SetRole(ctx, adm, user, "END_USER", false); err != nil {
				t.Fatal(err)
			}
			errs := dbtest.AtOnce(2, func(i int) error {
				if i == 0 {
					return b.s.DeleteRole(ctx, adm, b.role[role])
				}
				return b.s.SetRole(ctx, adm, user, "OWNER", true)
			})
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("round %d: deletion %v, gift %v", round, errs[0], errs[1])
			}
			if got := b.roles(name); got != "OWNER" && got != "END_USER,OWNER" {
				t.Fatalf("round %d: the user holds %q; want OWNER, with or without END_USER", round, got)
			}
		}
	})
}

// TestDeleteRoleGivesDefault: deleting a role gives END_USER to those who
// held that role alone, which is a gift of END_USER: a caller who may
// delete the role but not give END_USER (they lack its account:read and
// account:write) is refused and nothing changes; the same caller deletes a
// role that leaves nobody without one; an administrator deletes the first.
func TestDeleteRoleGivesDefault(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newCast(t, db)
		b.makeRoles(map[string][]string{"DESK": {"users:read"}, "SHELF": {"users:read"}})
		// keeper holds ROLE_WRITER alone: roles:write without END_USER's
		// permissions. lone holds DESK alone; pair holds DESK and SHELF
		// beside END_USER.
		keeper := b.person("keeper", "keeper@example.com", "ROLE_WRITER")
		lone := b.person("lone", "lone@example.com", "DESK")
		b.person("pair", "pair@example.com", "DESK", "SHELF")
		system(t, b, func(ctx context.Context, tx *sqldb.Tx) error {
			for _, u := range []string{keeper, lone} {
				if _, err := rbac.Unassign(ctx, tx, u, rbac.DefaultRole); err != nil {
					return err
				}
			}
			return nil
		})
		if got := b.roles("keeper") + " " + b.roles("lone") + " " + b.roles("pair"); got != "ROLE_WRITER DESK DESK,END_USER,SHELF" {
			t.Fatalf("roles %s", got)
		}
		kw := b.who("keeper")
		b.refuse(t, []refusal{
			{"a role whose deletion gives END_USER", func() error { return b.s.DeleteRole(ctx, kw, b.role["DESK"]) }, nil, rbac.ErrInsufficientPrivilege},
		})
		if err := b.s.DeleteRole(ctx, kw, b.role["SHELF"]); err != nil {
			t.Fatalf("a deletion that leaves nobody without a role = %v", err)
		}
		if err := b.s.DeleteRole(ctx, b.who("adm"), b.role["DESK"]); err != nil {
			t.Fatal(err)
		}
		if got := b.roles("lone") + " " + b.roles("pair"); got != "END_USER END_USER" {
			t.Fatalf("after the deletions lone and pair hold %s; want END_USER each", got)
		}
		if got, want := b.metadata(keeper, "admin.role_deleted"), []map[string]any{{"name": "SHELF"}}; !cmp.Equal(got, want) {
			t.Fatalf("keeper's trail %v; want %v", got, want)
		}
	})
}

// system runs fn in a transaction as the system, as an operator would.
func system(t *testing.T, b *bench, fn func(ctx context.Context, tx *sqldb.Tx) error) {
	t.Helper()
	ctx := sqldb.System(context.Background())
	if err := b.db.Tx(ctx, func(tx *sqldb.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

// TestRolesPerUserCapped: a user holds at most rbac.MaxRolesPerUser roles,
// so that their access tokens stay bounded; the gift beyond is refused and
// changes nothing, and a user is not created with more.
func TestRolesPerUserCapped(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		user := b.person("user", "user@example.com")
		roles := map[string][]string{}
		var names []string
		for i := range rbac.MaxRolesPerUser {
			name := fmt.Sprintf("EXTRA_%02d", i)
			roles[name], names = nil, append(names, name)
		}
		b.makeRoles(roles)
		adm := b.who("adm")
		for _, name := range names[:rbac.MaxRolesPerUser-1] { // END_USER and these: the cap
			if err := b.s.SetRole(ctx, adm, user, name, true); err != nil {
				t.Fatal(err)
			}
		}
		before := b.user(user).Grants.Roles
		if err := b.s.SetRole(ctx, adm, user, names[rbac.MaxRolesPerUser-1], true); !errors.Is(err, rbac.ErrTooManyRoles) {
			t.Fatalf("a role beyond the cap: %v", err)
		}
		if after := b.user(user).Grants.Roles; len(after) != rbac.MaxRolesPerUser || !slices.Equal(after, before) {
			t.Fatalf("roles after the refused gift: %d %v", len(after), after)
		}
		if err := b.s.SetRole(ctx, adm, user, names[0], true); err != nil { // one they hold: not a new one
			t.Fatalf("giving a role held again: %v", err)
		}
		_, err := b.s.CreateUser(ctx, adm, admin.NewUser{Identity: account.Identity{Email: "many@example.com"}, Roles: append(names, rbac.DefaultRole)})
		if fields := invalid(t, err); !slices.Equal(fields, []string{"roles/too_many"}) {
			t.Fatalf("a user created with too many roles: %v", fields)
		}
	})
}
