package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
)

// Count returns how many entries of an action were recorded at or after
// since, in the caller's transaction (across users: a system one).
func Count(ctx context.Context, tx *sqldb.Tx, action string, since time.Time) (n int, err error) {
	err = tx.QueryRow(ctx, `SELECT COUNT(*) FROM activity_logs WHERE action = $1 AND created_at >= $2`, action, since.UTC()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", action, err)
	}
	return n, nil
}

// PerDay counts the entries of an action on each UTC day of the days from
// from's day, oldest first (see sqldb.PerDay).
func PerDay(ctx context.Context, tx *sqldb.Tx, action string, from time.Time, days int) ([]int, error) {
	return sqldb.PerDay(ctx, tx, "activity_logs", "created_at", "action = $1", from, days, action)
}
