package rbac

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// ErrLastRole refuses to take a user's last role: every user holds at least
// one.
var ErrLastRole = userd.Errorf(userd.KindConflict, "last_role", "This is the user's last role: give them another before taking it.")

// MaxRolesPerUser bounds the roles one user holds, and so the size of their
// access tokens, which list the roles and what they carry.
const MaxRolesPerUser = 20

// ErrTooManyRoles refuses a role beyond MaxRolesPerUser.
var ErrTooManyRoles = userd.Errorf(userd.KindConflict, "too_many_roles", fmt.Sprintf("A user holds at most %d roles: take one before giving another.", MaxRolesPerUser))

// Exclusive are sets of mutually exclusive roles: a user holds at most one
// role of each set (see Give). A role may be in several sets.
type Exclusive [][]string

// Rivals returns the roles that giving role takes away: the others of every
// set that holds it, each once and sorted; none when no set holds it.
func (e Exclusive) Rivals(role string) []string {
	var out []string
	for _, set := range e {
		if slices.Contains(set, role) {
			out = append(out, slices.DeleteFunc(slices.Clone(set), func(r string) bool { return r == role })...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Clash returns two of roles that one set excludes from each other, and
// whether there are such two.
func (e Exclusive) Clash(roles []string) (string, string, bool) {
	for i, a := range roles {
		for _, b := range roles[i+1:] {
			if a != b && slices.Contains(e.Rivals(a), b) {
				return a, b, true
			}
		}
	}
	return "", "", false
}

// Check returns an error that names the first role of e that does not exist.
func (e Exclusive) Check(ctx context.Context, tx *sqldb.Tx) error {
	for _, set := range e {
		for _, name := range set {
			if _, err := roleID(ctx, tx, name); errors.Is(err, ErrRoleNotFound) {
				return fmt.Errorf("no role is called %q (roles are named in capitals, such as OWNER)", name)
			} else if err != nil {
				return err
			}
		}
	}
	return nil
}

// held returns the names of the roles a user holds.
func held(ctx context.Context, tx *sqldb.Tx, userID string) ([]string, error) {
	names, err := strings1(ctx, tx, `SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("roles held: %w", err)
	}
	return names, nil
}

// countRoles returns how many roles a user holds.
func countRoles(ctx context.Context, tx *sqldb.Tx, userID string) (n int, err error) {
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM user_roles WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count roles: %w", err)
	}
	return n, nil
}

// lockUser locks the user's row until the transaction ends, so that what is
// read of their roles after it stays true until it commits: every change of
// their roles through Give and Take (and CheckUser) waits for it.
func lockUser(ctx context.Context, tx *sqldb.Tx, userID string) error {
	if _, err := tx.LockRow(ctx, "users", "id", userID); err != nil {
		return fmt.Errorf("lock user: %w", err)
	}
	return nil
}

// Give gives a user a role by name, as Assign does, and in the same
// transaction takes from them the roles it excludes (see Exclusive.Rivals).
// It locks the user's row first, so that concurrent gifts of rival roles to
// one user leave them exactly one. It reports whether the user lacked the
// role and which roles it took from them (sorted), and returns
// ErrRoleNotFound, or ErrTooManyRoles when the user would hold more than
// MaxRolesPerUser (the transaction must then roll back).
func Give(ctx context.Context, tx *sqldb.Tx, userID, role string, ex Exclusive) (bool, []string, error) {
	if err := lockUser(ctx, tx, userID); err != nil {
		return false, nil, err
	}
	added, err := Assign(ctx, tx, userID, role)
	if err != nil {
		return false, nil, err
	}
	rivals := ex.Rivals(role)
	if len(rivals) == 0 {
		return added, nil, capped(ctx, tx, userID, added)
	}
	has, err := held(ctx, tx, userID)
	if err != nil {
		return false, nil, err
	}
	var took []string
	for _, r := range rivals {
		if !slices.Contains(has, r) {
			continue
		}
		if _, err := Unassign(ctx, tx, userID, r); err != nil {
			return false, nil, err
		}
		took = append(took, r)
	}
	return added, took, capped(ctx, tx, userID, added)
}

// capped returns ErrTooManyRoles when a role was added and the user now
// holds more than MaxRolesPerUser; the transaction must then roll back.
func capped(ctx context.Context, tx *sqldb.Tx, userID string, added bool) error {
	if !added {
		return nil
	}
	n, err := countRoles(ctx, tx, userID)
	if err != nil {
		return err
	}
	if n > MaxRolesPerUser {
		return ErrTooManyRoles
	}
	return nil
}

// Take takes a role from a user, as Unassign does, unless it is the last
// role they hold: then it returns ErrLastRole, and the transaction must roll
// back (it is the rollback that keeps the role). It locks the user's row
// first, so that of concurrent removals of a user's last two roles one
// succeeds; and it counts what the user holds after the removal, which
// waits for a role's deletion in progress (see KeepOne). It reports whether
// they had the role, and returns ErrRoleNotFound.
func Take(ctx context.Context, tx *sqldb.Tx, userID, role string) (bool, error) {
	if err := lockUser(ctx, tx, userID); err != nil {
		return false, err
	}
	took, err := Unassign(ctx, tx, userID, role)
	if err != nil || !took {
		return took, err
	}
	left, err := countRoles(ctx, tx, userID)
	if err != nil {
		return false, err
	}
	if left == 0 {
		return false, ErrLastRole
	}
	return true, nil
}

// KeepOne readies the deletion of the role with the given id in the same
// transaction: it gives DefaultRole to the role's holders who hold no other
// role, so that the deletion leaves none of them without one, and returns
// how many it gave it to. It locks those holders' rows (one statement each)
// and then keeps other transactions from changing user_roles until this one
// ends, so that no holder loses their other role meanwhile (a Take waits,
// then counts what the deletion left).
func KeepOne(ctx context.Context, tx *sqldb.Tx, id string) (int64, error) {
	const alone = `FROM user_roles ur WHERE ur.role_id = $1
		AND NOT EXISTS (SELECT 1 FROM user_roles o WHERE o.user_id = ur.user_id AND o.role_id <> ur.role_id)`
	// A change of their roles that holds their row would otherwise wait
	// for the lock below while this transaction waits for their row.
	users, err := strings1(ctx, tx, `SELECT ur.user_id `+alone+` ORDER BY ur.user_id`, id)
	if err != nil {
		return 0, fmt.Errorf("keep a role: %w", err)
	}
	for _, u := range users {
		if err := lockUser(ctx, tx, u); err != nil {
			return 0, err
		}
	}
	if err := tx.LockWrites(ctx, "user_roles"); err != nil {
		return 0, err
	}
	def, err := roleID(ctx, tx, DefaultRole)
	if err != nil {
		return 0, err
	}
	res, err := tx.Exec(ctx, `INSERT INTO user_roles (user_id, role_id, created_at)
		SELECT ur.user_id, $2, $3 `+alone+`
		ON CONFLICT (user_id, role_id) DO NOTHING`, id, def, tx.Now)
	if err != nil {
		return 0, fmt.Errorf("keep a role: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		tx.Invalidate(userd.EveryKey)
	}
	return n, nil
}
