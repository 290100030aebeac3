// Package janitor runs the recurring upkeep of the database. Its clean-up
// keeps the database small and the records true: an hourly job deletes what
// has expired (rate-limit windows, log-in states, challenges, mailed
// tokens, ended sessions, the views of past days), ends what runs out
// (manual subscriptions, past_due grace periods) and deletes the records
// kept for a while (finished jobs and mail deliveries, webhook deliveries and events, lapsed organisation
// invitations, collections' changes); each package says what of its own tables has expired. Its
// rankings job recomputes the items' rankings every
// engagement.RefreshEvery.
package janitor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/federation"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/feature/outbox"
	"github.com/userd/userd/internal/feature/passkey"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Kind is the job kind of the clean-up.
const Kind = "janitor.cleanup"

// Every is how often the clean-up runs.
const Every = time.Hour

// RankingsKind is the job kind of the rankings' refresh.
const RankingsKind = "engagement.rankings"

// expirers are the packages' clean-ups, by what they clean.
var expirers = []struct {
	name string
	fn   func(context.Context, *sqldb.Tx, time.Time) (int64, error)
}{
	{"rate limits", ratelimit.Expire}, {"log-in states", federation.Expire}, {"mfa challenges", mfa.Expire},
	{"passkey ceremonies", passkey.Expire}, {"sessions and mailed tokens", auth.Expire},
	{"webhook deliveries", webhook.Expire}, {"webhook events", outbox.Expire}, {"finished jobs", jobs.Expire}, {"finished mail deliveries", mailq.Expire}, {"ended subscriptions", billing.Expire},
	{"organization invitations", organization.Expire}, {"views of past days", engagement.Expire},
	{"collection changes", collection.Expire}, {"oauth requests, grants and tokens", openid.Expire},
}

// Register adds the handlers of the clean-up and of the rankings' refresh
// to a runner.
func Register(r *jobs.Runner, db *sqldb.DB, log *slog.Logger) {
	r.Handle(Kind, func(ctx context.Context, j jobs.Job) (time.Time, error) {
		counts, err := Run(ctx, db)
		if err != nil {
			return time.Time{}, err
		}
		log.Info("janitor", "deleted", counts)
		return db.Now().Add(Every), nil
	})
	r.Handle(RankingsKind, func(ctx context.Context, j jobs.Job) (time.Time, error) {
		start := time.Now()
		n, err := engagement.RefreshRankings(ctx, db)
		if err != nil {
			return time.Time{}, err
		}
		log.Debug("rankings refreshed", "rows", n, "took", time.Since(start))
		return db.Now().Add(engagement.RefreshEvery), nil
	})
}

// Schedule makes sure the clean-up is scheduled (once, whatever the number
// of processes).
func Schedule(ctx context.Context, db *sqldb.DB) error { return schedule(ctx, db, Kind) }

// ScheduleRankings makes sure the rankings' refresh is scheduled (once,
// whatever the number of processes).
func ScheduleRankings(ctx context.Context, db *sqldb.DB) error {
	return schedule(ctx, db, RankingsKind)
}

// schedule enqueues a recurring job of a kind, under its kind as key, to
// run now unless it is pending.
func schedule(ctx context.Context, db *sqldb.DB, kind string) error {
	return db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE key = $1 AND done_at IS NULL`, kind).Scan(&n); err != nil || n > 0 {
			return err
		}
		return jobs.Enqueue(ctx, tx, kind, kind, map[string]any{}, tx.Now)
	})
}

// Run deletes what has expired now, in one transaction, and returns how
// much of each.
func Run(ctx context.Context, db *sqldb.DB) (map[string]int64, error) {
	counts := map[string]int64{}
	err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		for _, e := range expirers {
			n, err := e.fn(ctx, tx, tx.Now)
			if err != nil {
				return fmt.Errorf("clean %s: %w", e.name, err)
			}
			counts[e.name] = n
		}
		return nil
	})
	return counts, err
}
