package rbac

import (
	"context"
	"fmt"
	"slices"

	"github.com/userd/userd/internal/platform/sqldb"
)

// Names returns the names of every role.
func Names(ctx context.Context, tx *sqldb.Tx) ([]string, error) {
	return strings1(ctx, tx, `SELECT name FROM roles ORDER BY name`)
}

// Assignment is a role, by name, to give a user.
type Assignment struct {
	UserID, Role string
}

// assignmentsAtOnce is how many assignments AssignAll writes a statement.
const assignmentsAtOnce = 100

// AssignAll gives users roles, a statement per assignmentsAtOnce
// assignments: the bulk path of Assign for new users, who hold no role
// yet and so are in no cache. Assigning a role twice is not an error. It returns ErrRoleNotFound
// when a role does not exist.
func AssignAll(ctx context.Context, tx *sqldb.Tx, as []Assignment) error {
	if len(as) == 0 {
		return nil
	}
	ids := map[string]string{}
	rows, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) ([2]string, error) {
		var r [2]string
		return r, row.Scan(&r[0], &r[1])
	}, `SELECT name, id FROM roles`)
	if err != nil {
		return fmt.Errorf("list roles: %w", err)
	}
	for _, r := range rows {
		ids[r[0]] = r[1]
	}
	for chunk := range slices.Chunk(as, assignmentsAtOnce) {
		args := make([]any, 0, 3*len(chunk))
		for _, a := range chunk {
			id, ok := ids[a.Role]
			if !ok {
				return ErrRoleNotFound
			}
			args = append(args, a.UserID, id, tx.Now)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_roles (user_id, role_id, created_at) VALUES `+sqldb.Values(1, len(chunk), 3)+`
			ON CONFLICT (user_id, role_id) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("assign roles: %w", err)
		}
	}
	return nil
}
