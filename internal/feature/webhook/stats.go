package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
)

// Failures returns how many deliveries failed (an error, or an answer that
// is not 2xx) at or after since, in the caller's transaction.
func Failures(ctx context.Context, tx *sqldb.Tx, since time.Time) (n int, err error) {
	err = tx.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries
		WHERE created_at >= $1 AND (error IS NOT NULL OR status_code IS NULL OR status_code < 200 OR status_code > 299)`, since.UTC()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count webhook failures: %w", err)
	}
	return n, nil
}
