package rbac

import (
	"context"
	"fmt"
	"slices"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// RolesWrite is the permission to create, change and delete roles, and to
// give them to users; RolesRead, to read roles and permissions.
const (
	RolesWrite = "roles:write"
	RolesRead  = "roles:read"
)

// ErrInsufficientPrivilege refuses a change that gives a privilege the
// caller lacks, or that touches a user or a role holding one (see Covers).
var ErrInsufficientPrivilege = &userd.Error{Kind: userd.KindForbidden, Code: "insufficient_privilege",
	Message: "This gives or touches a permission or an admin flag that you do not hold yourself."}

// Covers reports whether caller holds every privilege of target: each of its
// permissions and, when target has it, the admin flag. An administrator
// covers everyone. It is the rule against escalation: nobody gives a
// privilege they lack, nor changes a user or a role that holds one.
func Covers(caller, target userd.Grants) bool {
	if caller.Admin {
		return true
	}
	if target.Admin {
		return false
	}
	return !slices.ContainsFunc(target.Permissions, func(key string) bool { return !caller.Has(key) })
}

// CheckGrant returns ErrInsufficientPrivilege unless caller may give role to
// a user, create it, change it or delete it: they hold RolesWrite and cover
// the role's permissions and admin flag.
func CheckGrant(caller userd.Grants, role Role) error {
	if !caller.Has(RolesWrite) || !Covers(caller, userd.Grants{Permissions: role.Permissions, Admin: role.IsAdmin}) {
		return ErrInsufficientPrivilege
	}
	return nil
}

// CheckUser returns ErrInsufficientPrivilege unless caller covers the grants
// of the user with the given id, which it reads in tx so that they are those
// the change sees: it locks the user's row first, so that a role given to
// them concurrently (through CheckUser too) waits for this transaction. A
// user who does not exist holds nothing. It returns the error of reading
// the grants too.
func CheckUser(ctx context.Context, tx *sqldb.Tx, caller userd.Grants, userID string) error {
	if _, err := tx.LockRow(ctx, "users", "id", userID); err != nil {
		return fmt.Errorf("check privilege: %w", err)
	}
	target, err := Grants(ctx, tx, userID)
	if err != nil {
		return fmt.Errorf("check privilege: %w", err)
	}
	if !Covers(caller, target) {
		return ErrInsufficientPrivilege
	}
	return nil
}
