package rbac

import (
	"context"
	"fmt"

	"github.com/userd/userd/internal/platform/sqldb"
)

// Holders returns the ids of up to limit users who hold the named role
// (given by hand or by a plan: user_roles), newest first, created before
// the user beforeID ("" for the first page). It returns ErrRoleNotFound.
func Holders(ctx context.Context, tx *sqldb.Tx, role, beforeID string, limit int) ([]string, error) {
	id, err := roleID(ctx, tx, role)
	if err != nil {
		return nil, err
	}
	ids, err := strings1(ctx, tx, `SELECT user_id FROM user_roles WHERE role_id = $1 AND user_id < $2 ORDER BY user_id DESC LIMIT $3`,
		id, sqldb.Before(beforeID), limit)
	if err != nil {
		return nil, fmt.Errorf("role holders: %w", err)
	}
	return ids, nil
}

// HolderCounts returns how many users hold each role (in user_roles), by
// the role's name; a role that nobody holds is absent.
func HolderCounts(ctx context.Context, tx *sqldb.Tx) (map[string]int, error) {
	out := map[string]int{}
	err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
		var name string
		var n int
		if err := row.Scan(&name, &n); err != nil {
			return err
		}
		out[name] = n
		return nil
	}, `SELECT r.name, count(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id GROUP BY r.name`)
	if err != nil {
		return nil, fmt.Errorf("role holder counts: %w", err)
	}
	return out, nil
}
