package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// permWorld is the world (see bench.world) and every permission.
func (b *bench) permWorld() string {
	b.t.Helper()
	var sb strings.Builder
	sb.WriteString(b.world())
	ctx := sqldb.System(context.Background())
	err := b.db.View(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, key, description, builtin FROM permissions ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, key, desc string
			var builtin bool
			if err := rows.Scan(&id, &key, &desc, &builtin); err != nil {
				return err
			}
			fmt.Fprintln(&sb, id, key, desc, builtin)
		}
		return rows.Err()
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return sb.String()
}

// permTrail returns an actor's entries of the application's permissions,
// oldest first, each as "action target_type target_id metadata".
func (b *bench) permTrail(actorID string) []string {
	b.t.Helper()
	rows, err := b.db.SQL().Query(`SELECT action, target_type, target_id, ip, metadata FROM activity_logs
		WHERE user_id = $1 AND action LIKE 'permission.%' ORDER BY id`, actorID)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var action, ttype, tid, ip, meta string
		if err := rows.Scan(&action, &ttype, &tid, &ip, &meta); err != nil {
			b.t.Fatal(err)
		}
		if ip != client.IP {
			b.t.Errorf("%s %s: ip %q; want %q", action, tid, ip, client.IP)
		}
		var m map[string]any // re-encoded: jsonb orders keys its own way
		if err := json.Unmarshal([]byte(meta), &m); err != nil {
			b.t.Fatalf("metadata %q: %v", meta, err)
		}
		canon, _ := json.Marshal(m)
		out = append(out, strings.Join([]string{action, ttype, tid, string(canon)}, " "))
	}
	return out
}

// permissions returns every permission's key, with "*" after a builtin one.
func (b *bench) permissions() []string {
	b.t.Helper()
	ps, err := b.s.Permissions(context.Background(), admin.Who{System: true})
	if err != nil {
		b.t.Fatal(err)
	}
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Key+map[bool]string{true: "*"}[p.Builtin])
	}
	return out
}

// TestAdminPermissions: the application's permissions. Every seeded one is
// builtin; a bad key (each case) or description, a taken key, a caller
// without roles:write are refused and change nothing; a new key is not
// builtin, and a role may then carry it, which its holders then hold; a
// caller who lacks it still cannot give it to a role; a builtin, unknown or
// carried key is not deleted (each refusal changes nothing), unless force,
// which takes it from its roles, and which needs the caller to cover those
// roles; the trail records each creation and deletion exactly.
func TestAdminPermissions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newCast(t, db)
		maker := b.person("maker", "maker@example.com")
		adm, rw, uw := b.who("adm"), b.who("rw"), b.who("uw")

		// Every seeded permission is builtin (whatever migrations seed).
		builtin := b.permissions()
		for _, k := range everyPermission {
			if !slices.Contains(builtin, k+"*") {
				t.Fatalf("permissions %v; want %s builtin", builtin, k)
			}
		}
		for _, k := range builtin {
			if !strings.HasSuffix(k, "*") {
				t.Fatalf("permissions %v; want every seeded one builtin", builtin)
			}
		}

		create := func(w admin.Who, key, desc string) func() error {
			return func() error { _, err := b.s.CreatePermission(ctx, w, key, desc); return err }
		}
		del := func(w admin.Who, key string, force bool) func() error {
			return func() error { return b.s.DeletePermission(ctx, w, key, force) }
		}
		bad := []string{"items", "Items:create", "items:Create", "ITEMS:CREATE", "items:", ":create", ":", "1items:create", "items:1create",
			"_items:create", "items:_create", "items:create:all", "items-x:create", "items.x:create", "items :create", " items:create",
			"items:create ", "ítems:create", "items:create\n", strings.Repeat("a", 50) + ":" + strings.Repeat("b", 50),
			strings.Repeat("a", 32) + ":" + strings.Repeat("b", 32)}
		var rs []refusal
		for _, key := range bad {
			rs = append(rs, refusal{fmt.Sprintf("key %q", key), create(rw, key, ""), []string{"key/invalid_permission_key"}, nil})
		}
		rs = append(rs,
			refusal{"no key", create(rw, "", "x"), []string{"key/required"}, nil},
			refusal{"a long description", create(rw, "items:create", strings.Repeat("d", 501)), []string{"description/invalid_text"}, nil},
			refusal{"both wrong", create(rw, "items", strings.Repeat("d", 501)), []string{"key/invalid_permission_key", "description/invalid_text"}, nil},
			refusal{"without roles:write", create(uw, "items:create", ""), nil, rbac.ErrInsufficientPrivilege},
		)
		// userd's resources, present and planned, and items:feature are
		// userd's: every builtin key among them.
		reserved := []string{"account:read", "users:read", "users:export", "roles:write", "permissions:read", "notifications:send",
			"activity_logs:purge", "api_keys:write", "vault:reveal", "synchronizations:reveal", "reports:read", "sponsor_ads:write",
			"billing:read", "collections:read", "webhooks:write", "orgs:create", "oauth_clients:write", "mail:send", "items:feature"}
		for _, key := range builtin {
			reserved = append(reserved, strings.TrimSuffix(key, "*"))
		}
		for _, key := range slices.Compact(slices.Sorted(slices.Values(reserved))) {
			rs = append(rs, refusal{fmt.Sprintf("reserved %q", key), create(rw, key, ""), []string{"key/reserved_permission"}, nil})
		}
		b.refuseIn(t, b.permWorld, rs)

		p, err := b.s.CreatePermission(ctx, rw, "items:create", "Create items")
		if want := (rbac.Permission{Key: "items:create", Description: "Create items"}); err != nil || p != want {
			t.Fatalf("create = %+v, %v; want %+v", p, err, want)
		}
		longest := strings.Repeat("a", 31) + ":" + strings.Repeat("b", 32)
		if _, err := b.s.CreatePermission(ctx, adm, longest, ""); err != nil {
			t.Fatalf("create a key of %d characters = %v", len(longest), err)
		}
		if got, want := b.permissions(), append([]string{longest, "items:create"}, builtin...); !cmp.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Fatalf("permissions %v; want %v", got, want)
		}
		// The application's own resources, even beside a reserved name.
		for _, key := range []string{"items:features", "itemsfeature:read", "user:read", "accounts:read", "mailer:send", "billing_x:read"} {
			if _, err := b.s.CreatePermission(ctx, b.who("every"), key, ""); err != nil {
				t.Fatalf("create %s = %v", key, err)
			}
			if err := b.s.DeletePermission(ctx, b.who("every"), key, false); err != nil {
				t.Fatalf("delete %s = %v", key, err)
			}
		}
		// Listing them needs roles:read, as the route does.
		if _, err := b.s.Permissions(ctx, uw); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
			t.Fatalf("list without roles:read = %v; want ErrInsufficientPrivilege", err)
		}
		if ps, err := b.s.Permissions(ctx, rw); err != nil || len(ps) != len(builtin)+2 {
			t.Fatalf("list with roles:read = %d permissions, %v; want %d", len(ps), err, len(builtin)+2)
		}

		createRole := func(w admin.Who, name string, perms ...string) func() error {
			return func() error {
				_, err := b.s.CreateRole(ctx, w, rbac.RolePatch{Name: &name, Permissions: &perms})
				return err
			}
		}
		b.refuseIn(t, b.permWorld, []refusal{
			{"a taken key", create(adm, "items:create", "again"), nil, rbac.ErrPermissionExists},
			{"a role with a key that is not defined", createRole(adm, "MAKER", "items:delete"), []string{"permissions/unknown_permission"}, nil},
			{"a role with a key its maker lacks", createRole(rw, "MAKER", "items:create"), nil, rbac.ErrInsufficientPrivilege},
			{"a builtin key deleted", del(adm, "users:read", false), nil, rbac.ErrPermissionBuiltin},
			{"a builtin key deleted with force", del(adm, "roles:write", true), nil, rbac.ErrPermissionBuiltin},
			{"an unknown key deleted", del(adm, "items:delete", true), nil, rbac.ErrPermissionNotFound},
			{"a malformed key deleted", del(adm, "Items:Create", true), nil, rbac.ErrPermissionNotFound},
			{"a key deleted without roles:write", del(uw, longest, false), nil, rbac.ErrInsufficientPrivilege},
		})

		r, err := b.s.CreateRole(ctx, adm, rbac.RolePatch{Name: ptr("MAKER"), Permissions: &[]string{"items:create", "account:read"}})
		if err != nil || strings.Join(r.Permissions, ",") != "account:read,items:create" {
			t.Fatalf("create MAKER = %+v, %v", r, err)
		}
		b.role["MAKER"] = r.ID
		if err := b.s.SetRole(ctx, adm, maker, "MAKER", true); err != nil {
			t.Fatal(err)
		}
		if g := b.who("maker").Actor.Grants; strings.Join(g.Permissions, ",") != "account:read,account:write,items:create" || !g.Has("items:create") {
			t.Fatalf("MAKER's holder holds %v", g.Permissions)
		}

		b.refuseIn(t, b.permWorld, []refusal{
			{"a carried key deleted", del(adm, "items:create", false), nil, rbac.ErrPermissionInUse},
			{"a carried key deleted with force by one who lacks it", del(rw, "items:create", true), nil, rbac.ErrInsufficientPrivilege},
		})
		if err := b.s.DeletePermission(ctx, adm, "items:create", true); err != nil {
			t.Fatalf("forced deletion = %v", err)
		}
		roles, _, err := b.s.Roles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range roles {
			if r.Name == "MAKER" && strings.Join(r.Permissions, ",") != "account:read" {
				t.Fatalf("MAKER after the deletion carries %v", r.Permissions)
			}
		}
		if g := b.who("maker").Actor.Grants; strings.Join(g.Permissions, ",") != "account:read,account:write" {
			t.Fatalf("MAKER's holder after the deletion holds %v", g.Permissions)
		}
		if err := b.s.DeletePermission(ctx, adm, "items:create", true); !errors.Is(err, rbac.ErrPermissionNotFound) {
			t.Fatalf("deleted twice = %v; want ErrPermissionNotFound", err)
		}
		// A key that nothing carries goes without force, by a caller who
		// lacks it; the key may then be defined again.
		if err := b.s.DeletePermission(ctx, rw, longest, false); err != nil {
			t.Fatalf("deleting a key that nothing carries = %v", err)
		}
		if _, err := b.s.CreatePermission(ctx, rw, "items:create", ""); err != nil {
			t.Fatalf("defining a deleted key again = %v", err)
		}
		if got, want := b.permissions(), append([]string{"items:create"}, builtin...); !cmp.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Fatalf("permissions %v; want %v", got, want)
		}

		if got, want := b.permTrail(b.id["rw"]), []string{
			`permission.created permission items:create {"key":"items:create"}`,
			`permission.deleted permission ` + longest + ` {"api_keys_affected":[],"forced":false,"key":"` + longest + `","roles_affected":[]}`,
			`permission.created permission items:create {"key":"items:create"}`,
		}; !cmp.Equal(got, want) {
			t.Fatalf("rw's trail (-want +got):\n%s", cmp.Diff(want, got))
		}
		if got, want := b.permTrail(b.id["adm"]), []string{
			`permission.created permission ` + longest + ` {"key":"` + longest + `"}`,
			`permission.deleted permission items:create {"api_keys_affected":[],"forced":true,"key":"items:create","roles_affected":["MAKER"]}`,
		}; !cmp.Equal(got, want) {
			t.Fatalf("adm's trail (-want +got):\n%s", cmp.Diff(want, got))
		}
	})
}

// TestAdminPermissionRace: eight administrators define one key at once:
// exactly one succeeds, the seven others are ErrPermissionExists, and the
// trail records one creation.
func TestAdminPermissionRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		adm := b.who("adm")
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = b.s.CreatePermission(context.Background(), adm, "items:create", fmt.Sprint("by ", i))
			}()
		}
		close(start)
		wg.Wait()
		created, exists := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			case errors.Is(err, rbac.ErrPermissionExists):
				exists++
			default:
				t.Errorf("create = %v", err)
			}
		}
		if created != 1 || exists != n-1 {
			t.Fatalf("%d created, %d permission_exists; want 1 and %d", created, exists, n-1)
		}
		if got := b.permTrail(b.id["adm"]); len(got) != 1 || got[0] != `permission.created permission items:create {"key":"items:create"}` {
			t.Fatalf("trail %v; want one creation", got)
		}
		var count int
		if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM permissions WHERE key = 'items:create' AND NOT builtin`).Scan(&count); err != nil || count != 1 {
			t.Fatalf("%d rows of items:create, %v; want 1", count, err)
		}
	})
}

// TestPermissionCap: an application defines at most rbac.MaxPermissions
// permissions (userd's own are not counted): one more is
// rbac.ErrTooManyPermissions and changes nothing, also when the key is
// taken; deleting one makes room for one. Eight concurrent creations for
// the last place: exactly one gets it.
func TestPermissionCap(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		adm := b.who("adm")
		builtin := len(b.permissions())
		for i := range rbac.MaxPermissions - 1 {
			if _, err := b.s.CreatePermission(ctx, adm, fmt.Sprintf("items:action_%03d", i), ""); err != nil {
				t.Fatalf("permission %d: %v", i, err)
			}
		}
		errs := dbtest.AtOnce(8, func(i int) error {
			_, err := b.s.CreatePermission(ctx, adm, fmt.Sprintf("racers:r%d", i), "")
			return err
		})
		created := 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, rbac.ErrTooManyPermissions):
				t.Fatalf("a creation for the last place = %v", err)
			}
		}
		if created != 1 {
			t.Fatalf("%d creations for the last place succeeded (%v); want 1", created, errs)
		}
		if got := len(b.permissions()); got != builtin+rbac.MaxPermissions {
			t.Fatalf("%d permissions; want %d builtin and %d", got, builtin, rbac.MaxPermissions)
		}
		create := func(key string) func() error {
			return func() error { _, err := b.s.CreatePermission(ctx, adm, key, ""); return err }
		}
		b.refuseIn(t, b.permWorld, []refusal{
			{"one more", create("items:one_more"), nil, rbac.ErrTooManyPermissions},
			{"one more, taken", create("items:action_000"), nil, rbac.ErrTooManyPermissions},
		})
		if err := b.s.DeletePermission(ctx, adm, "items:action_000", false); err != nil {
			t.Fatal(err)
		}
		if err := create("items:one_more")(); err != nil {
			t.Fatalf("a creation after a deletion = %v", err)
		}
	})
}

// TestPermissionDeletedWhileRoleMade: the deletion of a permission races
// the creation of a role that carries it, round after round. Each round
// ends in one of two ways: the role carries the permission and the
// deletion is refused as permission_in_use, or the role is refused (422
// permissions/unknown_permission) and the permission is gone. Never an
// internal error, never a role made without the permission.
func TestPermissionDeletedWhileRoleMade(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		adm := b.who("adm")
		outcomes := map[string]int{}
		for round := range 30 {
			key, name := fmt.Sprintf("items:round_%d", round), fmt.Sprintf("ROUND_%d", round)
			if _, err := b.s.CreatePermission(ctx, adm, key, ""); err != nil {
				t.Fatal(err)
			}
			errs := dbtest.AtOnce(2, func(i int) error {
				if i == 0 {
					_, err := b.s.CreateRole(ctx, adm, rbac.RolePatch{Name: &name, Permissions: &[]string{key, "account:read"}})
					return err
				}
				return b.s.DeletePermission(ctx, adm, key, false)
			})
			roles, perms, err := b.s.Roles(ctx)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(roles, func(r rbac.Role) bool { return r.Name == name })
			exists := slices.ContainsFunc(perms, func(p rbac.Permission) bool { return p.Key == key })
			switch {
			case errs[0] == nil && errors.Is(errs[1], rbac.ErrPermissionInUse):
				if i < 0 || !slices.Equal(roles[i].Permissions, []string{"account:read", key}) || !exists {
					t.Fatalf("round %d: the role was made and the deletion refused, but the role is %+v (found %v) and the permission exists %v",
						round, roles[min(max(i, 0), len(roles)-1)], i >= 0, exists)
				}
				outcomes["role made"]++
			case errs[0] != nil && errs[1] == nil:
				if got := invalid(t, errs[0]); !slices.Equal(got, []string{"permissions/unknown_permission"}) {
					t.Fatalf("round %d: the role's refusal has field errors %v", round, got)
				}
				if i >= 0 || exists {
					t.Fatalf("round %d: the role was refused and the permission deleted, but the role exists %v and the permission %v", round, i >= 0, exists)
				}
				outcomes["permission deleted"]++
			default:
				t.Fatalf("round %d: role %v, deletion %v; want one of the two outcomes", round, errs[0], errs[1])
			}
		}
		t.Logf("outcomes: %v", outcomes)
	})
}
