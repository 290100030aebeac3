package jobs

import (
	"context"
	"fmt"

	"github.com/userd/userd/internal/platform/sqldb"
)

// Pending returns how many jobs wait to run, and how many of them failed
// their last attempt and wait to retry, in the caller's transaction.
func Pending(ctx context.Context, tx *sqldb.Tx) (waiting, failing int, err error) {
	err = tx.QueryRow(ctx, `SELECT COUNT(*), COUNT(last_error) FROM jobs WHERE done_at IS NULL`).Scan(&waiting, &failing)
	if err != nil {
		return 0, 0, fmt.Errorf("count jobs: %w", err)
	}
	return waiting, failing, nil
}
