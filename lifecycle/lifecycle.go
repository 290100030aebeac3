// Package lifecycle ends a user: the one way every caller (the user, an
// administrator, the CLI) deletes one, so that every rule of deletion holds
// whoever asks.
package lifecycle

import (
	"context"

	"github.com/userd/userd/account"
	"github.com/userd/userd/social"
	"github.com/userd/userd/sqldb"
)

// DeleteUser removes a user in the caller's transaction, which must be
// allowed to cross users: it locks the user's row (no follow of them can
// commit meanwhile), takes them out of the follow graph so that every other
// user's counters stay exact, and deletes the row; the database cascades to
// and nulls what seed 001's Cascade Delete Summary says. It returns
// account.ErrNotFound.
func DeleteUser(ctx context.Context, tx *sqldb.Tx, id string) error {
	ok, err := tx.LockRow(ctx, "users", "id", id)
	if err != nil {
		return err
	}
	if !ok {
		return account.ErrNotFound
	}
	if err := social.Forget(ctx, tx, id); err != nil {
		return err
	}
	return account.Delete(ctx, tx, id)
}
