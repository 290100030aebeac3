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
		args := make([]any, 0, 2*len(chunk)+1)
		args = append(args, tx.Now)
		var values []byte
		for i, a := range chunk {
			id, ok := ids[a.Role]
			if !ok {
				return ErrRoleNotFound
			}
			if i > 0 {
				values = append(values, ", "...)
			}
			values = fmt.Appendf(values, "($%d, $%d, $1)", len(args)+1, len(args)+2)
			args = append(args, a.UserID, id)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_roles (user_id, role_id, created_at) VALUES `+string(values)+`
			ON CONFLICT (user_id, role_id) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("assign roles: %w", err)
		}
	}
	return nil
}
