package rbac

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// The application's permissions: keys "resource:action" that roles may
// carry beside userd's own (the builtin ones, which migrations seed).

// permissionKeyRE is the form of an application's permission key, which
// PermissionKeyMax bounds.
var permissionKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$`)

// PermissionKeyMax is the longest permission key, in bytes, and
// MaxPermissions how many permissions an application may define (userd's
// own are not counted). Together they bound what an access token's
// permissions claim may list: a user whose roles carry every application
// permission lists at most 200 keys of 64 bytes (about 13.4 KB of JSON,
// 17.9 KB once base64url-encoded) beside userd's own; token.MaxJWT leaves
// room for that and for a long list of roles (see there).
const (
	PermissionKeyMax = 64
	MaxPermissions   = 200
)

// reservedResources are userd's resources, those it has and those it
// plans: an application's permission keys may not name them, so that a
// permission of userd's to come never meets one of the application's of
// the same key. reservedKeys are single keys that userd plans in a
// resource that otherwise stays the application's.
var (
	reservedResources = []string{"account", "users", "roles", "permissions", "notifications", "activity_logs", "api_keys", "vault",
		"synchronizations", "reports", "sponsor_ads", "billing", "collections", "webhooks", "orgs", "oauth_clients", "mail",
		"companies", "integrations", "crm", "seed", "newsletter", "surveys"}
	reservedKeys = []string{"items:feature", "comments:moderate"}
)

// Reserved reports whether key is userd's to define (see
// reservedResources): every builtin permission's key is.
func Reserved(key string) bool {
	resource, _, _ := strings.Cut(key, ":")
	return slices.Contains(reservedResources, resource) || slices.Contains(reservedKeys, key)
}

// Errors of the application's permissions.
var (
	ErrPermissionNotFound = userd.Errorf(userd.KindNotFound, "permission_not_found", "No such permission.")
	ErrPermissionExists   = &userd.Error{Kind: userd.KindConflict, Code: "permission_exists", Message: "A permission has this key.",
		Fields: []userd.FieldError{{Field: "key", Code: "taken", Message: "A permission has this key."}}}
	ErrPermissionBuiltin = userd.Errorf(userd.KindConflict, "permission_builtin", "This permission is userd's own: it cannot be deleted.")
	ErrPermissionInUse   = userd.Errorf(userd.KindConflict, "permission_in_use",
		"Roles or API keys carry this permission: take it from them first, or delete it with force=true.")
	ErrTooManyPermissions = userd.Errorf(userd.KindConflict, "too_many_permissions",
		fmt.Sprintf("An application defines at most %d permissions: delete one first.", MaxPermissions))
)

// ValidPermissionKey reports whether key has the form of a permission key:
// lower-case "resource:action", each a letter then letters, digits or '_',
// at most PermissionKeyMax bytes in all.
func ValidPermissionKey(key string) bool {
	return len(key) <= PermissionKeyMax && permissionKeyRE.MatchString(key)
}

// checkPermission returns the field errors of a new permission.
func checkPermission(key, description string) []userd.FieldError {
	var fe []userd.FieldError
	switch {
	case key == "":
		fe = append(fe, userd.FieldError{Field: "key", Code: "required", Message: "A permission needs a key."})
	case !ValidPermissionKey(key):
		fe = append(fe, userd.FieldError{Field: "key", Code: "invalid_permission_key",
			Message: fmt.Sprintf("A permission key is resource:action in lower case, each a letter then letters, digits or '_', at most %d characters.", PermissionKeyMax)})
	case Reserved(key):
		fe = append(fe, userd.FieldError{Field: "key", Code: "reserved_permission",
			Message: "This key is userd's: it keeps the resources " + strings.Join(reservedResources, ", ") + " and the key " +
				strings.Join(reservedKeys, ", ") + " for itself. Choose another."})
	}
	if len(description) > 500 {
		fe = append(fe, userd.FieldError{Field: "description", Code: "invalid_text", Message: "Use at most 500 characters."})
	}
	return fe
}

// CreatePermission adds an application's permission, which roles may then
// carry. It returns a KindInvalid error for a bad or reserved key (see
// Reserved) or a bad description, ErrTooManyPermissions when the
// application has MaxPermissions already, and ErrPermissionExists when a
// permission has the key.
func CreatePermission(ctx context.Context, tx *sqldb.Tx, key, description string) (Permission, error) {
	if err := userd.Invalid(checkPermission(key, description)); err != nil {
		return Permission{}, err
	}
	// Locked: concurrent creations count one after the other, so that
	// they never pass MaxPermissions together.
	if err := tx.LockWrites(ctx, "permissions"); err != nil {
		return Permission{}, err
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM permissions WHERE NOT builtin`).Scan(&n); err != nil {
		return Permission{}, fmt.Errorf("count permissions: %w", err)
	}
	if n >= MaxPermissions {
		return Permission{}, ErrTooManyPermissions
	}
	_, err := tx.Exec(ctx, `INSERT INTO permissions (id, key, description, builtin) VALUES ($1, $2, $3, false)`,
		userd.NewID(tx.Now), key, description)
	if sqldb.Violated(err, sqldb.Unique, "idx_permissions_key") {
		return Permission{}, ErrPermissionExists
	}
	if err != nil {
		return Permission{}, fmt.Errorf("create permission: %w", err)
	}
	tx.Invalidate(userd.EveryKey) // an administrator holds it now
	return Permission{Key: key, Description: description}, nil
}

// LockPermission returns the permission with the given key, which stays as
// it is and whose roles (see PermissionRoles) gain none until tx ends; or
// ErrPermissionNotFound.
func LockPermission(ctx context.Context, tx *sqldb.Tx, key string) (Permission, error) {
	if !ValidPermissionKey(key) {
		return Permission{}, ErrPermissionNotFound
	}
	if _, err := tx.LockRow(ctx, "permissions", "key", key); err != nil {
		return Permission{}, fmt.Errorf("lock permission: %w", err)
	}
	p := Permission{Key: key}
	err := tx.QueryRow(ctx, `SELECT description, builtin FROM permissions WHERE key = $1`, key).Scan(&p.Description, &p.Builtin)
	if errors.Is(err, sql.ErrNoRows) {
		return Permission{}, ErrPermissionNotFound
	}
	if err != nil {
		return Permission{}, fmt.Errorf("get permission: %w", err)
	}
	return p, nil
}

// PermissionRoles returns the roles that carry the permission with the
// given key, by name.
func PermissionRoles(ctx context.Context, tx *sqldb.Tx, key string) ([]Role, error) {
	ids, err := strings1(ctx, tx, `SELECT r.id FROM roles r JOIN role_permissions rp ON rp.role_id = r.id
		JOIN permissions p ON p.id = rp.permission_id WHERE p.key = $1 ORDER BY r.name`, key)
	if err != nil {
		return nil, fmt.Errorf("permission roles: %w", err)
	}
	out := make([]Role, 0, len(ids))
	for _, id := range ids {
		r, err := Get(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// DeletePermission removes an application's permission; the roles that
// carry it lose it (role_permissions cascade), as does whatever else refers
// to it by a cascading foreign key. It returns ErrPermissionNotFound, and
// ErrPermissionBuiltin for one of userd's own.
func DeletePermission(ctx context.Context, tx *sqldb.Tx, key string) error {
	p, err := LockPermission(ctx, tx, key)
	if err != nil {
		return err
	}
	if p.Builtin {
		return ErrPermissionBuiltin
	}
	if _, err := tx.Exec(ctx, `DELETE FROM permissions WHERE key = $1 AND NOT builtin`, key); err != nil {
		return fmt.Errorf("delete permission: %w", err)
	}
	tx.Invalidate(userd.EveryKey)
	return nil
}
