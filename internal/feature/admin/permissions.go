package admin

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/apikey"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Permissions lists every permission, userd's own and the application's,
// by key; who needs rbac.RolesRead. It returns rbac.ErrInsufficientPrivilege.
func (s *Service) Permissions(ctx context.Context, who Who) ([]rbac.Permission, error) {
	if !who.grants().Has(rbac.RolesRead) {
		return nil, rbac.ErrInsufficientPrivilege
	}
	var out []rbac.Permission
	err := s.view(ctx, func(tx *sqldb.Tx) (err error) {
		out, err = rbac.Permissions(ctx, tx)
		return err
	})
	return out, err
}

// CreatePermission adds an application's permission (see
// rbac.CreatePermission), which roles may then carry; who needs
// rbac.RolesWrite. Nobody holds a new permission but administrators, so
// giving it to a role still needs what rbac.CheckGrant says. It returns
// what rbac.CreatePermission returns, and rbac.ErrInsufficientPrivilege.
func (s *Service) CreatePermission(ctx context.Context, who Who, key, description string) (rbac.Permission, error) {
	if !who.grants().Has(rbac.RolesWrite) {
		return rbac.Permission{}, rbac.ErrInsufficientPrivilege
	}
	var p rbac.Permission
	err := s.tx(ctx, func(tx *sqldb.Tx) (ev audit.Event, err error) {
		p, err = rbac.CreatePermission(ctx, tx, key, description)
		return who.event(audit.PermissionCreated, "permission", key, map[string]any{"key": key}), err
	})
	return p, err
}

// DeletePermission removes an application's permission. While something
// carries it (a role or a live API key), it refuses with
// rbac.ErrPermissionInUse unless force, which takes it from each: who must
// then be allowed to change each of those roles (see rbac.CheckGrant) and
// keys. It returns rbac.ErrPermissionNotFound,
// rbac.ErrPermissionBuiltin for one of userd's own, rbac.ErrPermissionInUse
// and rbac.ErrInsufficientPrivilege. The trail records the key, force, and
// the names of the roles that lost it.
func (s *Service) DeletePermission(ctx context.Context, who Who, key string, force bool) error {
	if !who.grants().Has(rbac.RolesWrite) {
		return rbac.ErrInsufficientPrivilege
	}
	return s.tx(ctx, func(tx *sqldb.Tx) (audit.Event, error) {
		// Locked: no role gains the permission between the count and the
		// deletion.
		p, err := rbac.LockPermission(ctx, tx, key)
		if err != nil {
			return audit.Event{}, err
		}
		if p.Builtin {
			return audit.Event{}, rbac.ErrPermissionBuiltin
		}
		// Roles and live API keys carry permissions.
		roles, err := rbac.PermissionRoles(ctx, tx, key)
		if err != nil {
			return audit.Event{}, err
		}
		keys, err := apikey.Carrying(ctx, tx, key)
		if err != nil {
			return audit.Event{}, err
		}
		if len(roles)+len(keys) > 0 && !force {
			return audit.Event{}, rbac.ErrPermissionInUse
		}
		names, keyIDs := []string{}, []string{}
		for _, r := range roles {
			if err := rbac.CheckGrant(who.grants(), r); err != nil {
				return audit.Event{}, err
			}
			names = append(names, r.Name)
		}
		for _, k := range keys {
			if err := who.mayKey(k.Grants()); err != nil {
				return audit.Event{}, err
			}
			keyIDs = append(keyIDs, k.ID)
			tx.Invalidate(userd.APIKeyKey(k.ID))
		}
		if err := rbac.DeletePermission(ctx, tx, key); err != nil {
			return audit.Event{}, err
		}
		return who.event(audit.PermissionDeleted, "permission", key,
			map[string]any{"key": key, "forced": force, "roles_affected": names, "api_keys_affected": keyIDs}), nil
	})
}
