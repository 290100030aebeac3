package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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

// KindCounts are the jobs of one kind by state, as the jobs table holds
// them.
type KindCounts struct {
	Kind string
	// Waiting jobs are not done and not leased: due, retrying or
	// scheduled later.
	Waiting int
	// Running jobs are leased by a worker now.
	Running int
	// Retrying jobs are waiting ones whose last attempt failed.
	Retrying int
	// Failed jobs ended with their last attempt failed (cancelled ones
	// aside); they are kept for Retention.
	Failed int
}

// Counts returns the jobs of each kind by state, and how long the oldest
// due job that no worker holds has been due (zero when none is), at the
// transaction's time, in one statement: for metrics, read at each scrape.
// It reads the jobs not done (through idx_jobs_due) and the failed ones
// (idx_jobs_failed), never the finished jobs that the table keeps for
// Retention. A kind with neither is left out.
func Counts(ctx context.Context, tx *sqldb.Tx) (kinds []KindCounts, oldestDue time.Duration, err error) {
	var oldest sql.NullTime // the same on every row
	err = sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
		var k KindCounts
		if err := row.Scan(&k.Kind, &k.Waiting, &k.Running, &k.Retrying, &k.Failed, &oldest); err != nil {
			return err
		}
		kinds = append(kinds, k)
		return nil
	}, `SELECT k.kind, k.waiting, k.running, k.retrying, k.failed, o.run_at FROM (
			SELECT kind, CAST(SUM(waiting) AS INTEGER) AS waiting, CAST(SUM(running) AS INTEGER) AS running,
				CAST(SUM(retrying) AS INTEGER) AS retrying, CAST(SUM(failed) AS INTEGER) AS failed
			FROM (
				SELECT kind,
					COUNT(CASE WHEN locked_until IS NULL OR locked_until < $1 THEN 1 END) AS waiting,
					COUNT(CASE WHEN locked_until >= $1 THEN 1 END) AS running,
					COUNT(CASE WHEN (locked_until IS NULL OR locked_until < $1) AND last_error IS NOT NULL THEN 1 END) AS retrying,
					0 AS failed
				FROM jobs WHERE done_at IS NULL GROUP BY kind
				UNION ALL
				SELECT kind, 0, 0, 0, COUNT(*) FROM jobs
				WHERE done_at IS NOT NULL AND last_error IS NOT NULL AND last_error <> $2 GROUP BY kind
			) u GROUP BY kind) k
		LEFT JOIN (SELECT run_at FROM jobs WHERE done_at IS NULL AND run_at <= $1 AND (locked_until IS NULL OR locked_until < $1)
			ORDER BY run_at LIMIT 1) o ON TRUE
		ORDER BY k.kind`, tx.Now, cancelled)
	if err != nil {
		return nil, 0, fmt.Errorf("count jobs by kind: %w", err)
	}
	if oldest.Valid {
		oldestDue = max(tx.Now.Sub(oldest.Time), 0)
	}
	return kinds, oldestDue, nil
}
