package rbac_test

import (
	"context"
	"errors"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// Grants of the seeded roles and of callers that tests use.
var (
	admin     = userd.Grants{Roles: []string{"ADMIN"}, Admin: true}
	endUser   = userd.Grants{Permissions: []string{"account:read", "account:write"}}
	usersOnly = userd.Grants{Permissions: []string{"account:read", "account:write", "users:write"}}
	roleAdmin = userd.Grants{Permissions: []string{"account:read", "account:write", "roles:write", "users:read", "users:write"}}
	nothing   = userd.Grants{}
)

// TestEscalationCovers: a caller covers a target when they hold each of its
// permissions and, for an administrator target, the admin flag.
func TestEscalationCovers(t *testing.T) {
	for _, tt := range []struct {
		name           string
		caller, target userd.Grants
		want           bool
	}{
		{"admin covers admin", admin, admin, true},
		{"admin covers anyone", admin, roleAdmin, true},
		{"admin with no permission listed covers everything", userd.Grants{Admin: true}, roleAdmin, true},
		{"anyone covers nothing", nothing, nothing, true},
		{"a user covers themselves", roleAdmin, roleAdmin, true},
		{"superset covers subset", roleAdmin, usersOnly, true},
		{"subset does not cover superset", usersOnly, roleAdmin, false},
		{"same permissions, target admin", roleAdmin, userd.Grants{Permissions: roleAdmin.Permissions, Admin: true}, false},
		{"an admin target with no permission listed", roleAdmin, userd.Grants{Admin: true}, false},
		{"disjoint permissions", userd.Grants{Permissions: []string{"users:write"}}, endUser, false},
		{"nothing does not cover an end user", nothing, endUser, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := rbac.Covers(tt.caller, tt.target); got != tt.want {
				t.Fatalf("Covers(%+v, %+v) = %v; want %v", tt.caller, tt.target, got, tt.want)
			}
		})
	}
}

// TestEscalationCheckGrant: giving, creating, changing or deleting a role
// needs roles:write and every privilege the role carries.
func TestEscalationCheckGrant(t *testing.T) {
	owner := rbac.Role{Name: "OWNER", Permissions: []string{"account:read", "account:write"}}
	adminRole := rbac.Role{Name: "ADMIN", IsAdmin: true}
	support := rbac.Role{Name: "SUPPORT", Permissions: []string{"users:read", "users:write"}}
	logs := rbac.Role{Name: "AUDITOR", Permissions: []string{"activity_logs:read"}}
	for _, tt := range []struct {
		name   string
		caller userd.Grants
		role   rbac.Role
		ok     bool
	}{
		{"admin gives admin", admin, adminRole, true},
		{"admin gives a role with permissions", admin, logs, true},
		{"roles:write gives a role it covers", roleAdmin, owner, true},
		{"roles:write gives a role of its own permissions", roleAdmin, support, true},
		{"roles:write gives an empty role", roleAdmin, rbac.Role{Name: "EMPTY"}, true},
		{"roles:write without the admin flag gives admin", roleAdmin, adminRole, false},
		{"roles:write gives a permission it lacks", roleAdmin, logs, false},
		{"an empty admin role is still admin", roleAdmin, rbac.Role{Name: "BOSS", IsAdmin: true}, false},
		{"without roles:write even a covered role", usersOnly, owner, false},
		{"without roles:write an empty role", usersOnly, rbac.Role{Name: "EMPTY"}, false},
		{"nothing gives nothing", nothing, rbac.Role{Name: "EMPTY"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := rbac.CheckGrant(tt.caller, tt.role)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("CheckGrant(%+v, %+v) = %v; want nil", tt.caller, tt.role, err)
			case !tt.ok && !errors.Is(err, rbac.ErrInsufficientPrivilege):
				t.Fatalf("CheckGrant(%+v, %+v) = %v; want ErrInsufficientPrivilege", tt.caller, tt.role, err)
			}
		})
	}
	if e := userd.ErrorOf(rbac.ErrInsufficientPrivilege); e.Kind != userd.KindForbidden || e.Code != "insufficient_privilege" || e.Message == "" {
		t.Fatalf("ErrInsufficientPrivilege = %+v", e)
	}
}

// TestEscalationCheckUser: the target's grants are read in the transaction,
// with the change it guards: a role given earlier in it counts.
func TestEscalationCheckUser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			u, err := account.Insert(ctx, tx, account.New{Identity: account.Identity{Email: "target@example.com"}})
			if err != nil {
				return err
			}
			for _, tt := range []struct {
				name   string
				caller userd.Grants
				give   string // a role given to the target first
				want   error
			}{
				{"no roles: anyone", nothing, "", nil},
				{"end user: not by nothing", nothing, rbac.DefaultRole, rbac.ErrInsufficientPrivilege},
				{"end user: by users:write", usersOnly, "", nil},
				{"admin: not by roles:write", roleAdmin, rbac.AdminRole, rbac.ErrInsufficientPrivilege},
				{"admin: by admin", admin, "", nil},
			} {
				if tt.give != "" {
					if _, err := rbac.Assign(ctx, tx, u.ID, tt.give); err != nil {
						return err
					}
				}
				if err := rbac.CheckUser(ctx, tx, tt.caller, u.ID); !errors.Is(err, tt.want) {
					t.Errorf("%s: CheckUser = %v; want %v", tt.name, err, tt.want)
				}
			}
			if err := rbac.CheckUser(ctx, tx, nothing, userd.NewID(tx.Now)); err != nil {
				t.Errorf("CheckUser of no user = %v; want nil (they hold nothing)", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
