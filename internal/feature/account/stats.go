package account

import (
	"context"
	"fmt"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
)

// Count returns how many users there are, in the caller's transaction
// (across users: a system one).
func Count(ctx context.Context, tx *sqldb.Tx) (n int, err error) {
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// SignupsPerDay counts the users created on each UTC day of the days from
// from's day, oldest first (see sqldb.PerDay).
func SignupsPerDay(ctx context.Context, tx *sqldb.Tx, from time.Time, days int) ([]int, error) {
	return sqldb.PerDay(ctx, tx, "users", "created_at", "", from, days)
}
