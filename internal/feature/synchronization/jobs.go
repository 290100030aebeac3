package synchronization

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Webhook event types.
const (
	EventDue      = "synchronization.due"
	EventExpiring = "synchronization.token_expiring"
)

// WebhookData is the data of a synchronization webhook.
type WebhookData struct {
	ID             string     `json:"id" doc:"The synchronization's id."`
	UserID         string     `json:"user_id" doc:"Its owner."`
	Service        string     `json:"service"`
	AccountID      string     `json:"account_id"`
	Token          string     `json:"token,omitempty" doc:"The platform token, in synchronization.due only."`
	TokenExpiresAt *time.Time `json:"token_expires_at"`
	LastSyncedAt   *time.Time `json:"last_synced_at"`
	DailySyncTime  *string    `json:"daily_sync_time" doc:"HH:MM in time_zone; null for none."`
	TimeZone       string     `json:"time_zone" doc:"An IANA time zone."`
}

// Register adds the synchronization jobs' handlers to a runner: each loads
// the synchronization (gone: the job ends) and delivers its webhook; the
// daily one then moves to the next day, the one RunNow asks for ends. The
// "sync due" webhook carries the token, so that the application can sync;
// it goes only to the configured, signed webhook URL.
func Register(r *jobs.Runner, db *sqldb.DB, ring *seal.Keyring, sender *webhook.Sender) {
	load := func(ctx context.Context, j jobs.Job) (Sync, string, bool, error) {
		var p jobPayload
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return Sync{}, "", false, fmt.Errorf("job %s: payload: %w", j.ID, err)
		}
		var s Sync
		var token string
		err := db.View(sqldb.AsUser(ctx, p.UserID), func(tx *sqldb.Tx) (err error) {
			s, token, err = Token(ctx, tx, ring, p.UserID, p.SyncID)
			return err
		})
		if errors.Is(err, ErrNotFound) {
			return Sync{}, "", false, nil
		}
		if err != nil {
			return Sync{}, "", false, err
		}
		return s, token, true, nil
	}
	msgID := func(j jobs.Job) string { return fmt.Sprintf("msg_%s_%d", j.ID, j.ScheduledAt.Unix()) }
	due := func(ctx context.Context, j jobs.Job, s Sync, token string) error {
		ev := WebhookData{ID: s.ID, UserID: s.UserID, Service: s.Service, AccountID: s.AccountID, Token: token,
			TokenExpiresAt: s.TokenExpiresAt, LastSyncedAt: s.LastSyncedAt, DailySyncTime: s.DailySyncTime, TimeZone: s.TimeZone}
		return sender.Send(ctx, j.ID, msgID(j), j.Attempts, webhook.Event{Type: EventDue, Data: ev})
	}
	r.Handle(KindDue, func(ctx context.Context, j jobs.Job) (time.Time, error) {
		s, token, ok, err := load(ctx, j)
		if err != nil || !ok || s.DailySyncTime == nil {
			return time.Time{}, err
		}
		if err := due(ctx, j, s, token); err != nil {
			return time.Time{}, err
		}
		return NextRun(*s.DailySyncTime, s.TimeZone, maxTime(db.Now(), j.ScheduledAt)), nil
	})
	// A run asked for (RunNow): the same webhook, once, daily time or not.
	r.Handle(KindRun, func(ctx context.Context, j jobs.Job) (time.Time, error) {
		s, token, ok, err := load(ctx, j)
		if err != nil || !ok {
			return time.Time{}, err
		}
		return time.Time{}, due(ctx, j, s, token)
	})
	r.Handle(KindExpiring, func(ctx context.Context, j jobs.Job) (time.Time, error) {
		s, _, ok, err := load(ctx, j)
		if err != nil || !ok {
			return time.Time{}, err
		}
		ev := WebhookData{ID: s.ID, UserID: s.UserID, Service: s.Service, AccountID: s.AccountID,
			TokenExpiresAt: s.TokenExpiresAt, LastSyncedAt: s.LastSyncedAt, DailySyncTime: s.DailySyncTime, TimeZone: s.TimeZone}
		return time.Time{}, sender.Send(ctx, j.ID, msgID(j), j.Attempts, webhook.Event{Type: EventExpiring, Data: ev})
	})
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
