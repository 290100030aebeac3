package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/platform/sqldb"
)

// OverviewDays is how many days the overview's chart covers.
const OverviewDays = 30

// Overview is the state of the service at a glance: counts now, failures
// over the last 24 hours, and sign-ups and log-ins on each of the last
// OverviewDays UTC days (today last).
type Overview struct {
	Users, LiveSessions           int
	FailedLogins, WebhookFailures int // over the last 24 hours
	JobsWaiting, JobsFailing      int
	From                          time.Time // the chart's first day
	Signups, Logins               []int     // per day, oldest first
	At                            time.Time
}

// Overview reads the overview in one transaction across users, with only
// the parts its reader may see: users (the users and live sessions),
// logs (the failed log-ins), both (the chart). Log-ins are the audit
// trail's auth.login entries (a password, a second factor, a passkey or a
// provider). LiveSessions stays 0 for a Service without auth.
func (s *Service) Overview(ctx context.Context, users, logs bool) (Overview, error) {
	var o Overview
	err := s.view(ctx, func(tx *sqldb.Tx) (err error) {
		o.At = tx.Now
		o.From = tx.Now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1-OverviewDays)
		day := tx.Now.Add(-24 * time.Hour)
		if users {
			if o.Users, err = account.Count(ctx, tx); err != nil {
				return err
			}
		}
		if users && s.auth != nil {
			if o.LiveSessions, err = s.auth.LiveSessions(ctx, tx); err != nil {
				return err
			}
		}
		if logs {
			if o.FailedLogins, err = audit.Count(ctx, tx, audit.LoginFailed, day); err != nil {
				return err
			}
		}
		if o.WebhookFailures, err = webhook.Failures(ctx, tx, day); err != nil {
			return err
		}
		if o.JobsWaiting, o.JobsFailing, err = jobs.Pending(ctx, tx); err != nil {
			return err
		}
		if !users || !logs {
			return nil
		}
		if o.Signups, err = account.SignupsPerDay(ctx, tx, o.From, OverviewDays); err != nil {
			return err
		}
		o.Logins, err = audit.PerDay(ctx, tx, audit.Login, o.From, OverviewDays)
		return err
	})
	if err != nil {
		return Overview{}, fmt.Errorf("overview: %w", err)
	}
	return o, nil
}
