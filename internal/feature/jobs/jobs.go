// Package jobs owns jobs: a durable queue of scheduled work in the database
// itself, shared by every userd process. A due job is claimed with a lease,
// runs once, retries with exponential backoff when it fails, and survives
// restarts.
package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Job is a claimed job.
type Job struct {
	ID       string
	Kind     string
	Key      string
	Payload  json.RawMessage
	Attempts int // including this one
	RunAt    time.Time
	// ScheduledAt names the occurrence: the time it was scheduled for,
	// which retries keep.
	ScheduledAt time.Time

	maxAttempts int
}

// Final reports whether this is the job's last attempt: if it fails, the
// job ends with its error instead of being retried.
func (j Job) Final() bool { return j.Attempts >= j.maxAttempts }

// Handler does a job. It returns the time of the job's next run for a
// recurring job (zero: the job is done), or an error to retry it later.
type Handler func(ctx context.Context, j Job) (next time.Time, err error)

// Enqueue schedules a job of a kind under key at runAt. A pending job with
// the same key is rescheduled with the new payload, so scheduling twice
// keeps one job.
func Enqueue(ctx context.Context, tx *sqldb.Tx, kind, key string, payload any, runAt time.Time) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", kind, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO jobs (id, kind, key, payload, run_at, scheduled_at, created_at) VALUES ($1, $2, $3, $4, $5, $5, $6)
		ON CONFLICT (key) WHERE done_at IS NULL DO UPDATE SET kind = excluded.kind, payload = excluded.payload,
			run_at = excluded.run_at, scheduled_at = excluded.scheduled_at, attempts = 0, last_error = NULL`,
		userd.NewID(tx.Now), kind, key, string(b), runAt.UTC(), tx.Now)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", kind, err)
	}
	return nil
}

// cancelled is the last_error of a job that Cancel ended.
const cancelled = "cancelled"

// Cancel ends the pending job with the given key, if there is one.
func Cancel(ctx context.Context, tx *sqldb.Tx, key string) error {
	if _, err := tx.Exec(ctx, `UPDATE jobs SET done_at = $1, last_error = $3 WHERE key = $2 AND done_at IS NULL`, tx.Now, key, cancelled); err != nil {
		return fmt.Errorf("cancel job %s: %w", key, err)
	}
	return nil
}

// DefaultLease is how long a claimed job is its runner's unless SetLease
// says otherwise: a job whose process dies while running it runs again
// once its lease has expired.
const DefaultLease = 5 * time.Minute

// Runner claims and runs due jobs of the kinds it has handlers for; jobs
// of other kinds wait for a runner that has them (another process's, or
// another runner of this process with a lease of its own).
type Runner struct {
	db       *sqldb.DB
	handlers map[string]Handler
	worker   string
	lease    time.Duration
	poll     time.Duration
	wake     chan struct{}
	log      *slog.Logger
}

// NewRunner returns a Runner over db with DefaultLease. Register handlers
// before Run.
func NewRunner(db *sqldb.DB, log *slog.Logger) *Runner {
	return &Runner{db: db, handlers: map[string]Handler{}, worker: rand.Text()[:12], lease: DefaultLease, poll: time.Second,
		wake: make(chan struct{}, 1), log: log}
}

// Handle registers the handler of a kind.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

// SetLease sets how long a job that the runner claims is its own before
// another runner may claim it again; its handlers must finish well within
// it. Call it before Run.
func (r *Runner) SetLease(d time.Duration) { r.lease = d }

// Wake makes Run look for due jobs now instead of at its next poll, as a
// transaction that enqueued one asks once it commits. It never blocks.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default: // a look is already asked for
	}
}

// Run runs due jobs until ctx ends, looking for more every poll interval
// and whenever Wake asks. Once ctx ends it claims no more jobs, and the job
// in hand has grace to finish; past that its context ends too, and if it
// then fails its lease is released without counting the attempt, so that
// any process runs it again at once. Run returns when the job in hand has
// ended.
func (r *Runner) Run(ctx context.Context, grace time.Duration) error {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })()
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		if _, err := r.runDue(ctx, work); err != nil && ctx.Err() == nil {
			r.log.Error("jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-r.wake:
		}
	}
}

// RunDue runs every job that is due now, one after another, and returns how
// many it ran.
func (r *Runner) RunDue(ctx context.Context) (int, error) { return r.runDue(ctx, ctx) }

// runDue claims due jobs until there are none or stop ends, and runs each
// under work.
func (r *Runner) runDue(stop, work context.Context) (int, error) {
	n := 0
	for stop.Err() == nil {
		j, ok, err := r.claim(stop)
		if err != nil || !ok {
			return n, err
		}
		n++
		r.run(work, j)
	}
	return n, stop.Err()
}

// claim leases the next due job of a kind the runner has a handler for.
// Two workers may pick the same id; the UPDATE's own condition lets only
// one of them have it.
func (r *Runner) claim(ctx context.Context) (Job, bool, error) {
	var j Job
	var payload []byte
	found := false
	kinds := slices.Sorted(maps.Keys(r.handlers))
	if len(kinds) == 0 {
		return j, false, nil
	}
	marks := make([]string, len(kinds))
	for i := range kinds {
		marks[i] = "$" + strconv.Itoa(i+4)
	}
	err := r.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		args := []any{r.worker, tx.Now.Add(r.lease), tx.Now}
		for _, k := range kinds {
			args = append(args, k)
		}
		err := tx.QueryRow(ctx, `UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1
			WHERE id = (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $3 AND (locked_until IS NULL OR locked_until < $3)
				AND kind IN (`+strings.Join(marks, ", ")+`) ORDER BY run_at LIMIT 1)
			AND done_at IS NULL AND (locked_until IS NULL OR locked_until < $3)
			RETURNING id, kind, key, payload, attempts, max_attempts, run_at, scheduled_at`, args...).
			Scan(&j.ID, &j.Kind, &j.Key, &payload, &j.Attempts, &j.maxAttempts, &j.RunAt, &j.ScheduledAt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return Job{}, false, fmt.Errorf("claim job: %w", err)
	}
	j.Payload = payload
	return j, found, nil
}

// backoff is the wait before retry n (1-based): 10 s doubling, at most 1 h.
func backoff(n int) time.Duration {
	d := 10 * time.Second << min(n-1, 9)
	return min(d, time.Hour)
}

// finishWithin bounds the transaction that records how a job ended, which
// runs even when the job's own context has ended.
const finishWithin = 10 * time.Second

func (r *Runner) run(ctx context.Context, j Job) {
	next, err := r.handlers[j.Kind](ctx, j) // claim takes only kinds that have one
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishWithin)
	defer cancel()
	ferr := r.db.Tx(sqldb.System(fctx), func(tx *sqldb.Tx) error {
		var q string
		var args []any
		switch {
		case err == nil && next.IsZero():
			q, args = `UPDATE jobs SET done_at = $1, locked_by = NULL, locked_until = NULL, last_error = NULL WHERE id = $2`, []any{tx.Now, j.ID}
		case err == nil:
			q, args = `UPDATE jobs SET run_at = $1, scheduled_at = $1, attempts = 0, locked_by = NULL, locked_until = NULL, last_error = NULL WHERE id = $2`, []any{next.UTC(), j.ID}
		case ctx.Err() != nil: // cut short by a shutdown: not the job's failure
			r.log.Info("job released", "kind", j.Kind, "key", j.Key, "err", err)
			q, args = `UPDATE jobs SET locked_by = NULL, locked_until = NULL, attempts = attempts - 1 WHERE id = $1 AND locked_by = $2`, []any{j.ID, r.worker}
		default:
			r.log.Warn("job failed", "kind", j.Kind, "key", j.Key, "attempt", j.Attempts, "err", err)
			var giveUp any // the last attempt failed: the job ends, its error kept
			if j.Attempts >= j.maxAttempts {
				giveUp = tx.Now
			}
			q, args = `UPDATE jobs SET run_at = $1, locked_by = NULL, locked_until = NULL, last_error = $2, done_at = $3 WHERE id = $4`,
				[]any{tx.Now.Add(backoff(j.Attempts)), truncate(err.Error(), 1000), giveUp, j.ID}
		}
		_, err := tx.Exec(fctx, q, args...)
		return err
	})
	if ferr != nil {
		r.log.Error("finish job", "id", j.ID, "err", ferr)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Retention is how long a finished job is kept.
const Retention = 30 * 24 * time.Hour

// Expire deletes jobs finished more than Retention ago.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM jobs WHERE done_at < $1`, now.Add(-Retention))
}
