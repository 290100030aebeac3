// Package rbac owns roles, permissions, role_permissions and user_roles: who
// may do what. A role with the admin flag passes every check.
package rbac

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// The roles that every database has.
const (
	DefaultRole = "END_USER" // given to every new user
	AdminRole   = "ADMIN"
)

// protected roles cannot be deleted: new users need the default one, and
// deleting the admin role could lock every administrator out.
var protected = []string{DefaultRole, AdminRole}

// Role is a named set of permissions.
type Role struct {
	ID          string
	Name        string
	Description string
	IsAdmin     bool
	Permissions []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Permission is a permission key and what it allows. A builtin one is
// userd's own (a migration seeds it); the others are the application's
// (see CreatePermission).
type Permission struct {
	Key         string
	Description string
	Builtin     bool
}

// Errors that the functions of this package return.
var (
	ErrRoleNotFound  = userd.Errorf(userd.KindNotFound, "role_not_found", "No such role.")
	ErrRoleNameTaken = &userd.Error{Kind: userd.KindConflict, Code: "role_name_taken", Message: "A role has this name.",
		Fields: []userd.FieldError{{Field: "name", Code: "taken", Message: "A role has this name."}}}
	ErrRoleProtected = userd.Errorf(userd.KindConflict, "role_protected", "END_USER and ADMIN cannot be deleted.")
)

var roleNameRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,63}$`)

// Grants returns a user's roles and effective permissions: an
// administrator holds every permission. It reads what the roles grant in
// tx too.
func Grants(ctx context.Context, tx *sqldb.Tx, userID string) (userd.Grants, error) {
	gs, err := Held(ctx, tx, userID)
	if err != nil {
		return userd.Grants{}, err
	}
	c, err := ReadCatalog(ctx, tx)
	if err != nil {
		return userd.Grants{}, fmt.Errorf("user grants: %w", err)
	}
	return gs.Grants(c), nil
}

// Held returns the roles that a user holds, for a Catalog to name; none
// for a user who does not exist.
//
// The subquery compares with the user's row, not with the parameter: a
// parameter compared with an indexed column makes SQLite, once ANALYZE has
// run, prepare the statement again for each new value (a third of a
// request's CPU on SQLite in bench W9).
func Held(ctx context.Context, tx *sqldb.Tx, userID string) (GrantScan, error) {
	var gs GrantScan
	err := tx.QueryRow(ctx, `SELECT `+GrantColumn("u.id")+` FROM users u WHERE u.id = $1`, userID).Scan(gs.Dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return GrantScan{}, nil
	}
	if err != nil {
		return GrantScan{}, fmt.Errorf("user grants: %w", err)
	}
	return gs, nil
}

// strings1 returns the first column of every row.
func strings1(ctx context.Context, tx *sqldb.Tx, q string, args ...any) ([]string, error) {
	return sqldb.All(ctx, tx, sqldb.ScanString, q, args...)
}

// roleID returns the id of the role with the given name, or ErrRoleNotFound.
func roleID(ctx context.Context, tx *sqldb.Tx, name string) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT id FROM roles WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrRoleNotFound
	}
	if err != nil {
		return "", fmt.Errorf("find role: %w", err)
	}
	return id, nil
}

// Assign gives a user a role by name; assigning a role twice is not an
// error. A role the user held only because a plan grants it (see
// AssignByPlan) is theirs by hand from then on: a plan's end no longer takes
// it. It reports whether the user did not have it, and returns
// ErrRoleNotFound.
func Assign(ctx context.Context, tx *sqldb.Tx, userID, role string) (bool, error) {
	id, err := roleID(ctx, tx, role)
	if err != nil {
		return false, err
	}
	res, err := tx.Exec(ctx, `INSERT INTO user_roles (user_id, role_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, role_id) DO NOTHING`, userID, id, tx.Now)
	if err != nil {
		return false, fmt.Errorf("assign role: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		if _, err := tx.Exec(ctx, `UPDATE user_roles SET by_plan = false WHERE user_id = $1 AND role_id = $2 AND by_plan`, userID, id); err != nil {
			return false, fmt.Errorf("assign role: %w", err)
		}
	}
	tx.Invalidate(userd.UserKey(userID))
	return n == 1, nil
}

// AssignByPlan gives a user a role by name because a plan they subscribe to
// grants it: the role is marked as the plan's, unless they hold it already
// (by hand or by another plan), which it leaves as it is. It reports
// whether the user did not have it, and returns ErrRoleNotFound. Unlike
// Give, it neither takes rival roles nor counts the user's roles: a
// provider's event must not fail for them.
func AssignByPlan(ctx context.Context, tx *sqldb.Tx, userID, role string) (bool, error) {
	id, err := roleID(ctx, tx, role)
	if err != nil {
		return false, err
	}
	res, err := tx.Exec(ctx, `INSERT INTO user_roles (user_id, role_id, created_at, by_plan) VALUES ($1, $2, $3, true)
		ON CONFLICT (user_id, role_id) DO NOTHING`, userID, id, tx.Now)
	if err != nil {
		return false, fmt.Errorf("assign role by plan: %w", err)
	}
	n, _ := res.RowsAffected()
	tx.Invalidate(userd.UserKey(userID))
	return n == 1, nil
}

// UnassignByPlan takes from a user a role that they hold only because a
// plan granted it (see AssignByPlan); a role given by hand stays. When it
// took their last role, they get DefaultRole, as every user holds one. It
// reports whether it took the role, and returns ErrRoleNotFound.
func UnassignByPlan(ctx context.Context, tx *sqldb.Tx, userID, role string) (bool, error) {
	id, err := roleID(ctx, tx, role)
	if err != nil {
		return false, err
	}
	if err := lockUser(ctx, tx, userID); err != nil {
		return false, err
	}
	res, err := tx.Exec(ctx, `DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2 AND by_plan`, userID, id)
	if err != nil {
		return false, fmt.Errorf("remove role by plan: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	tx.Invalidate(userd.UserKey(userID))
	left, err := countRoles(ctx, tx, userID)
	if err != nil {
		return false, err
	}
	if left == 0 {
		return true, AssignDefault(ctx, tx, userID)
	}
	return true, nil
}

// HeldByPlan returns the names of the roles a user holds only because a
// plan grants them, sorted.
func HeldByPlan(ctx context.Context, tx *sqldb.Tx, userID string) ([]string, error) {
	names, err := strings1(ctx, tx, `SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
		WHERE ur.user_id = $1 AND ur.by_plan ORDER BY r.name`, userID)
	if err != nil {
		return nil, fmt.Errorf("roles held by plan: %w", err)
	}
	return names, nil
}

// Unassign takes a role from a user; taking one they lack is not an error.
// It reports whether they had it, and returns ErrRoleNotFound.
func Unassign(ctx context.Context, tx *sqldb.Tx, userID, role string) (bool, error) {
	id, err := roleID(ctx, tx, role)
	if err != nil {
		return false, err
	}
	res, err := tx.Exec(ctx, `DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2`, userID, id)
	if err != nil {
		return false, fmt.Errorf("remove role: %w", err)
	}
	n, _ := res.RowsAffected()
	tx.Invalidate(userd.UserKey(userID))
	return n == 1, nil
}

// Permissions lists every permission.
func Permissions(ctx context.Context, tx *sqldb.Tx) ([]Permission, error) {
	rows, err := tx.Query(ctx, `SELECT key, description, builtin FROM permissions ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("list permissions: %w", err)
	}
	defer rows.Close()
	var out []Permission
	for rows.Next() {
		var p Permission
		if err := rows.Scan(&p.Key, &p.Description, &p.Builtin); err != nil {
			return nil, fmt.Errorf("list permissions: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Roles lists every role with its permissions, by name.
func Roles(ctx context.Context, tx *sqldb.Tx) ([]Role, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, description, is_admin, created_at, updated_at FROM roles ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	var out []Role
	for rows.Next() {
		var r Role
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &r.IsAdmin, &r.CreatedAt, &r.UpdatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list roles: %w", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	for i := range out {
		if out[i].Permissions, err = rolePermissions(ctx, tx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func rolePermissions(ctx context.Context, tx *sqldb.Tx, roleID string) ([]string, error) {
	keys, err := strings1(ctx, tx, `SELECT p.key FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id
		WHERE rp.role_id = $1 ORDER BY p.key`, roleID)
	if err != nil {
		return nil, fmt.Errorf("role permissions: %w", err)
	}
	return keys, nil
}

// Get returns the role with the given id, or ErrRoleNotFound.
func Get(ctx context.Context, tx *sqldb.Tx, id string) (Role, error) {
	var r Role
	err := tx.QueryRow(ctx, `SELECT id, name, description, is_admin, created_at, updated_at FROM roles WHERE id = $1`, id).
		Scan(&r.ID, &r.Name, &r.Description, &r.IsAdmin, &r.CreatedAt, &r.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Role{}, ErrRoleNotFound
	}
	if err != nil {
		return Role{}, fmt.Errorf("get role: %w", err)
	}
	r.Permissions, err = rolePermissions(ctx, tx, id)
	return r, err
}

// Named returns the role with the given name, or ErrRoleNotFound.
func Named(ctx context.Context, tx *sqldb.Tx, name string) (Role, error) {
	id, err := roleID(ctx, tx, name)
	if err != nil {
		return Role{}, err
	}
	return Get(ctx, tx, id)
}

// RolePatch changes a role; nil fields stay as they are.
type RolePatch struct {
	Name        *string
	Description *string
	IsAdmin     *bool
	Permissions *[]string
}

// Apply returns r with the fields that p sets changed: the role that
// creating (from the zero Role) or updating with p would make.
func (p RolePatch) Apply(r Role) Role {
	if p.Name != nil {
		r.Name = *p.Name
	}
	if p.Description != nil {
		r.Description = *p.Description
	}
	if p.IsAdmin != nil {
		r.IsAdmin = *p.IsAdmin
	}
	if p.Permissions != nil {
		r.Permissions = *p.Permissions
	}
	return r
}

// check validates a patch against the known permissions.
func (p *RolePatch) check(ctx context.Context, tx *sqldb.Tx) error {
	var fe []userd.FieldError
	if p.Name != nil && !roleNameRE.MatchString(*p.Name) {
		fe = append(fe, userd.FieldError{Field: "name", Code: "invalid_role_name", Message: "A role name is 2 to 64 capital letters, digits or '_', starting with a letter."})
	}
	if p.Description != nil && len(*p.Description) > 500 {
		fe = append(fe, userd.FieldError{Field: "description", Code: "invalid_text", Message: "Use at most 500 characters."})
	}
	if p.Permissions != nil {
		unknown, err := Unknown(ctx, tx, *p.Permissions)
		if err != nil {
			return err
		}
		fe = append(fe, unknown...)
	}
	return userd.Invalid(fe)
}

// Create makes a role. It returns a KindInvalid error for a bad name or an
// unknown permission, and ErrRoleNameTaken.
func Create(ctx context.Context, tx *sqldb.Tx, p RolePatch) (Role, error) {
	if p.Name == nil {
		return Role{}, userd.Invalid([]userd.FieldError{{Field: "name", Code: "required", Message: "A role needs a name."}})
	}
	if err := p.check(ctx, tx); err != nil {
		return Role{}, err
	}
	id, r := userd.NewID(tx.Now), p.Apply(Role{})
	_, err := tx.Exec(ctx, `INSERT INTO roles (id, name, description, is_admin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		id, r.Name, r.Description, r.IsAdmin, tx.Now)
	if sqldb.Violated(err, sqldb.Unique, "idx_roles_name") {
		return Role{}, ErrRoleNameTaken
	}
	if err != nil {
		return Role{}, fmt.Errorf("create role: %w", err)
	}
	if p.Permissions != nil {
		if err := setPermissions(ctx, tx, id, *p.Permissions); err != nil {
			return Role{}, err
		}
	}
	return Get(ctx, tx, id)
}

// Update changes a role. A role made an administrator's is taken from the
// users who held it only by plan (see AssignByPlan): no plan grants an
// administrator's role. It returns what Create returns, and
// ErrRoleNotFound.
func Update(ctx context.Context, tx *sqldb.Tx, id string, p RolePatch) (Role, error) {
	if err := p.check(ctx, tx); err != nil {
		return Role{}, err
	}
	r, err := Get(ctx, tx, id)
	if err != nil {
		return Role{}, err
	}
	wasAdmin := r.IsAdmin
	r = p.Apply(r)
	_, err = tx.Exec(ctx, `UPDATE roles SET name = $1, description = $2, is_admin = $3, updated_at = $4 WHERE id = $5`,
		r.Name, r.Description, r.IsAdmin, tx.Now, id)
	if sqldb.Violated(err, sqldb.Unique, "idx_roles_name") {
		return Role{}, ErrRoleNameTaken
	}
	if err != nil {
		return Role{}, fmt.Errorf("update role: %w", err)
	}
	tx.Invalidate(userd.EveryKey)
	if r.IsAdmin && !wasAdmin {
		if err := dropByPlan(ctx, tx, id); err != nil {
			return Role{}, err
		}
	}
	if p.Permissions != nil {
		if err := setPermissions(ctx, tx, id, *p.Permissions); err != nil {
			return Role{}, err
		}
	}
	return Get(ctx, tx, id)
}

// dropByPlan takes a role from the users who hold it only by plan, and
// gives DefaultRole to those left without a role.
func dropByPlan(ctx context.Context, tx *sqldb.Tx, roleID string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM user_roles WHERE role_id = $1 AND by_plan`, roleID); err != nil {
		return fmt.Errorf("take role held by plan: %w", err)
	}
	return AssignDefaultToRoleless(ctx, tx)
}

// setPermissions makes the role carry exactly keys (each once, whatever
// repeats keys holds). A key whose permission is gone since check read it,
// or goes while the insert waits for its deletion to commit, is the same
// KindInvalid error as a key that never existed: the role is never made or
// changed without a permission that it was asked to carry.
func setPermissions(ctx context.Context, tx *sqldb.Tx, roleID string, keys []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM role_permissions WHERE role_id = $1`, roleID); err != nil {
		return fmt.Errorf("set role permissions: %w", err)
	}
	for _, key := range slices.Compact(slices.Sorted(slices.Values(keys))) {
		res, err := tx.Exec(ctx, `INSERT INTO role_permissions (role_id, permission_id)
			SELECT $1, id FROM permissions WHERE key = $2`, roleID, key)
		if c := sqldb.ViolatedKind(err); c != nil && c.Kind == sqldb.ForeignKey {
			return UnknownPermission(key)
		}
		if err != nil {
			return fmt.Errorf("set role permissions: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set role permissions: %w", err)
		} else if n != 1 {
			return UnknownPermission(key)
		}
	}
	return nil
}

// UnknownPermission is the error of a permission key, given to a role or
// an API key, that no permission has (one deleted since it was checked
// too).
func UnknownPermission(key string) error {
	return userd.Invalid([]userd.FieldError{unknownPermissionField(key)})
}

func unknownPermissionField(key string) userd.FieldError {
	return userd.FieldError{Field: "permissions", Code: "unknown_permission", Message: fmt.Sprintf("No permission is called %q.", key)}
}

// Unknown returns a field error for each of keys that no permission has.
func Unknown(ctx context.Context, tx *sqldb.Tx, keys []string) ([]userd.FieldError, error) {
	known, err := Permissions(ctx, tx)
	if err != nil {
		return nil, err
	}
	var fe []userd.FieldError
	for _, key := range keys {
		if !slices.ContainsFunc(known, func(p Permission) bool { return p.Key == key }) {
			fe = append(fe, unknownPermissionField(key))
		}
	}
	return fe, nil
}

// Delete removes a role; its assignments go with it. It returns
// ErrRoleNotFound, or ErrRoleProtected for END_USER and ADMIN.
func Delete(ctx context.Context, tx *sqldb.Tx, id string) (Role, error) {
	r, err := Get(ctx, tx, id)
	if err != nil {
		return Role{}, err
	}
	if slices.Contains(protected, r.Name) {
		return Role{}, ErrRoleProtected
	}
	if _, err := tx.Exec(ctx, `DELETE FROM roles WHERE id = $1`, id); err != nil {
		return Role{}, fmt.Errorf("delete role: %w", err)
	}
	tx.Invalidate(userd.EveryKey)
	return r, nil
}

// AssignDefault gives a new user the default role.
func AssignDefault(ctx context.Context, tx *sqldb.Tx, userID string) error {
	_, err := Assign(ctx, tx, userID, DefaultRole)
	return err
}

// AssignDefaultToRoleless gives the default role to every user who has no
// role: the bulk path's counterpart of AssignDefault.
func AssignDefaultToRoleless(ctx context.Context, tx *sqldb.Tx) error {
	id, err := roleID(ctx, tx, DefaultRole)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO user_roles (user_id, role_id, created_at)
		SELECT u.id, $1, $2 FROM users u WHERE NOT EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id)`, id, tx.Now)
	if err != nil {
		return fmt.Errorf("assign default role: %w", err)
	}
	tx.Invalidate(userd.EveryKey)
	return nil
}
