package admin_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestOverview: the counts of jobs waiting and failing and of webhook
// deliveries that failed, beside those of users and sessions, and 30 days
// of sign-ups with today last.
func TestOverview(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("ann", "ann@example.com")
		b.person("bob", "bob@example.com")
		now := db.Now()
		err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			for _, k := range []string{"fails", "waits", "later"} {
				at := now.Add(-time.Minute)
				if k == "later" {
					at = now.Add(time.Hour)
				}
				if err := jobs.Enqueue(ctx, tx, "test."+k, "test:"+k, map[string]any{}, at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		r := jobs.NewRunner(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		r.Handle("test.fails", func(context.Context, jobs.Job) (time.Time, error) { return time.Time{}, errors.New("boom") })
		r.Handle("test.waits", func(context.Context, jobs.Job) (time.Time, error) { return time.Time{}, nil })
		if _, err := r.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
		defer srv.Close()
		hook := webhook.New(db, srv.URL, []byte("0123456789abcdef0123456789abcdef"))
		if err := hook.Send(ctx, userd.NewID(now), userd.NewID(now), 1, webhook.Event{Type: "test"}); err == nil {
			t.Fatal("a 502 delivery succeeded")
		}
		o, err := b.s.Overview(ctx, true, true)
		if err != nil {
			t.Fatal(err)
		}
		// test.waits ran and is done; test.fails waits to retry; test.later waits.
		if o.Users != 2 || o.LiveSessions != 2 || o.JobsWaiting != 2 || o.JobsFailing != 1 || o.WebhookFailures != 1 || o.FailedLogins != 0 {
			t.Fatalf("overview = %+v", o)
		}
		if len(o.Signups) != admin.OverviewDays || o.Signups[admin.OverviewDays-1] != 2 || !o.From.Equal(now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1-admin.OverviewDays)) {
			t.Fatalf("chart from %v: %v", o.From, o.Signups)
		}
		// A reader who may see neither users nor logs gets neither read.
		if o, err = b.s.Overview(ctx, false, false); err != nil || o.Users != 0 || o.LiveSessions != 0 || o.Signups != nil || o.Logins != nil || o.JobsWaiting != 2 {
			t.Fatalf("overview without users and logs = %+v, %v", o, err)
		}
	})
}
