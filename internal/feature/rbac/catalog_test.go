package rbac_test

import (
	"context"
	"slices"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestCatalog: the grants of the roles a user holds, as a catalogue names
// them: their names and permissions, each once; an administrator's flag
// with every permission key (Grants) or only their roles' (Carried); and a
// catalogue read before a role was made does not name it. (What a process
// remembers of it is TestCallerCacheInvalidation's, in internal/web.)
func TestCatalog(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := sqldb.System(context.Background())
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			u, err := account.Insert(ctx, tx, account.New{Identity: account.Identity{Email: "cat@example.com"}})
			if err != nil {
				return err
			}
			none, err := rbac.Held(ctx, tx, u.ID)
			if err != nil {
				return err
			}
			before, err := rbac.ReadCatalog(ctx, tx)
			if err != nil {
				return err
			}
			if g := none.Grants(before); g.Roles != nil || g.Permissions != nil || g.Admin {
				t.Errorf("no role: %+v", g)
			}
			for _, r := range []struct {
				name  string
				perms []string
			}{{"EDITOR", []string{"users:read", "users:write"}}, {"AUDITOR", []string{"users:read", "activity_logs:read"}}} {
				if _, err := rbac.Create(ctx, tx, rbac.RolePatch{Name: &r.name, Permissions: &r.perms}); err != nil {
					return err
				}
				if _, err := rbac.Assign(ctx, tx, u.ID, r.name); err != nil {
					return err
				}
			}
			held, err := rbac.Held(ctx, tx, u.ID)
			if err != nil {
				return err
			}
			if before.Names(held) {
				t.Error("a catalogue read before the roles were made names them")
			}
			c, err := rbac.ReadCatalog(ctx, tx)
			if err != nil {
				return err
			}
			if !c.Names(held) {
				t.Error("the catalogue does not name the roles")
			}
			want := userd.Grants{Roles: []string{"AUDITOR", "EDITOR"}, Permissions: []string{"activity_logs:read", "users:read", "users:write"}}
			for what, g := range map[string]userd.Grants{"grants": held.Grants(c), "carried": held.Carried(c)} {
				if !slices.Equal(g.Roles, want.Roles) || !slices.Equal(g.Permissions, want.Permissions) || g.Admin {
					t.Errorf("%s: %+v, want %+v", what, g, want)
				}
			}

			if _, err := rbac.Assign(ctx, tx, u.ID, rbac.AdminRole); err != nil {
				return err
			}
			if held, err = rbac.Held(ctx, tx, u.ID); err != nil {
				return err
			}
			all, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT key FROM permissions`)
			if err != nil {
				return err
			}
			slices.Sort(all)
			g := held.Grants(c)
			if !g.Admin || !slices.Equal(g.Roles, []string{"ADMIN", "AUDITOR", "EDITOR"}) || !slices.Equal(g.Permissions, all) {
				t.Errorf("an administrator's grants: %+v (every key: %v)", g, all)
			}
			if g := held.Carried(c); !g.Admin || !slices.Equal(g.Permissions, want.Permissions) {
				t.Errorf("an administrator's carried grants: %+v", g)
			}
			if direct, err := rbac.Grants(ctx, tx, u.ID); err != nil || !slices.Equal(direct.Permissions, all) || !direct.Admin {
				t.Errorf("rbac.Grants: %+v, %v", direct, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
