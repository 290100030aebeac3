package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestEscalationSystem: the system, as the command line acts, creates an
// administrator and deletes them; a Who with neither the system flag nor
// grants may do neither.
func TestEscalationSystem(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := admin.New(db, authtest.Hasher(), nil)
		root := admin.NewUser{Identity: account.Identity{Email: "root@example.com"}, Roles: []string{rbac.DefaultRole, rbac.AdminRole}}
		if _, err := s.CreateUser(ctx, admin.Who{}, root); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
			t.Fatalf("CreateUser as nobody = %v; want ErrInsufficientPrivilege", err)
		}
		u, err := s.CreateUser(ctx, admin.Who{System: true}, root)
		if err != nil || !u.Grants.Admin || strings.Join(u.Grants.Roles, ",") != "ADMIN,END_USER" {
			t.Fatalf("CreateUser as the system = %+v, %v", u.Grants, err)
		}
		if err := s.DeleteUser(ctx, admin.Who{}, u.ID); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
			t.Fatalf("DeleteUser as nobody = %v; want ErrInsufficientPrivilege", err)
		}
		if err := s.DeleteUser(ctx, admin.Who{System: true}, u.ID); err != nil {
			t.Fatalf("DeleteUser as the system = %v", err)
		}
		if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("GetUser after the system deleted them = %v", err)
		}
	})
}
