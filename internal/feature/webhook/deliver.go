package webhook

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/outbox"
	"github.com/userd/userd/internal/platform/sqldb"
)

// MaxAttempts is how many times one event is tried at one endpoint: with
// Backoff, over about two days.
const MaxAttempts = 20

// Backoff is the wait before retry n (1-based): 10 s doubling up to 6 h,
// with full jitter over its upper half, so that the retries of many events
// that failed together spread out.
func Backoff(n int) time.Duration {
	d := min(10*time.Second<<min(n-1, 12), 6*time.Hour)
	return d/2 + rand.N(d/2)
}

// Register adds the delivery job's handler to a runner.
func (s *Service) Register(r *jobs.Runner) { r.Handle(outbox.KindDeliver, s.deliverJob) }

// body is the signed message of an event: the Standard Webhooks payload.
type body struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// deliverJob makes one attempt at an event's delivery to an endpoint. It
// schedules its own retries (Backoff, with jitter) rather than failing the
// job, so that a delivery held back by the endpoint's concurrency limit
// counts no attempt; the attempts are the rows of webhook_deliveries.
func (s *Service) deliverJob(ctx context.Context, j jobs.Job) (time.Time, error) {
	var p outbox.Job
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return time.Time{}, fmt.Errorf("job %s: payload: %w", j.ID, err)
	}
	var ev outbox.Event
	var t target
	var attempt, busy int
	// System: deliveries are the application's.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		if ev, err = outbox.Load(ctx, tx, p.EventID); err != nil {
			return err
		}
		if t, err = s.target(ctx, tx, p.EndpointID); err != nil {
			return err
		}
		// The job's own lease counts: busy includes this delivery.
		prefix := outbox.JobPrefix(p.EndpointID)
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE done_at IS NULL AND locked_until > $1 AND kind = $2 AND substr(key, 1, `+strconv.Itoa(len(prefix))+`) = $3`,
			tx.Now, outbox.KindDeliver, prefix).Scan(&busy); err != nil {
			return fmt.Errorf("count deliveries in flight: %w", err)
		}
		q, arg := `SELECT count(*) FROM webhook_deliveries WHERE message_id = $1 AND endpoint_id = $2`, any(t.endpointID)
		if t.endpointID == "" {
			q, arg = `SELECT count(*) FROM webhook_deliveries WHERE message_id = $1 AND endpoint_id IS NULL AND url = $2`, t.url
		}
		if err := tx.QueryRow(ctx, q, ev.ID, arg).Scan(&attempt); err != nil {
			return fmt.Errorf("count attempts: %w", err)
		}
		attempt++
		return nil
	})
	switch {
	case errors.Is(err, outbox.ErrNoEvent), errors.Is(err, ErrNotFound):
		return time.Time{}, nil // expired, or the endpoint is gone: nothing to deliver
	case err != nil:
		return time.Time{}, err
	case !t.enabled:
		return time.Time{}, nil
	case busy > s.deps.MaxInFlight:
		return s.db.Now().Add(time.Second + rand.N(2*time.Second)), nil
	}
	o, err := s.send(ctx, t, j.ID, ev, attempt)
	if err != nil {
		return time.Time{}, err
	}
	if o.Failure == "" || attempt >= MaxAttempts {
		return time.Time{}, nil
	}
	return s.db.Now().Add(Backoff(attempt)), nil
}

// send makes one attempt and records it with the endpoint's state: a
// success clears its failures; a failure starts them, and disables the
// endpoint once they have lasted DisableAfter.
func (s *Service) send(ctx context.Context, t target, jobID string, ev outbox.Event, attempt int) (Outcome, error) {
	b, err := json.Marshal(body{Type: ev.Type, Timestamp: ev.CreatedAt, Data: ev.Data})
	if err != nil {
		return Outcome{}, fmt.Errorf("webhook %s: %w", ev.Type, err)
	}
	o := post(ctx, s.client, t.url, t.keys, ev.ID, s.db.Now().Unix(), b)
	if ctx.Err() != nil { // cut short by a shutdown: not the endpoint's failure, and the job is released
		return o, fmt.Errorf("webhook %s: %w", ev.Type, ctx.Err())
	}
	s.deps.Configured.count(o) // one count of outcomes for every endpoint
	rec := attemptRecord{jobID: jobID, msgID: ev.ID, typ: ev.Type, url: t.url, endpointID: t.endpointID, attempt: attempt, outcome: o}
	// System: deliveries are the application's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := insertAttempt(ctx, tx, rec); err != nil || t.endpointID == "" {
			return err
		}
		if o.Failure == "" {
			_, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, t.endpointID)
			return err
		}
		return s.failed(ctx, tx, t.endpointID)
	})
	if err != nil {
		return o, fmt.Errorf("record webhook delivery: %w", err)
	}
	return o, nil
}

// failed notes a failure of an endpoint, and disables it once it has failed
// with no success for DisableAfter: audited, and its creator told.
func (s *Service) failed(ctx context.Context, tx *sqldb.Tx, id string) error {
	var since sql.NullTime
	var enabled bool
	var by sql.NullString
	var url string
	err := tx.QueryRow(ctx, `SELECT failing_since, enabled, created_by, url FROM webhook_endpoints WHERE id = $1`, id).Scan(&since, &enabled, &by, &url)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case !since.Valid:
		_, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2`, tx.Now, id)
		return err
	case !enabled || tx.Now.Sub(since.Time) < s.deps.DisableAfter:
		return nil
	}
	reason := fmt.Sprintf("every delivery failed since %s", since.Time.UTC().Format(time.RFC3339))
	if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $1, updated_at = $2 WHERE id = $3`, reason, tx.Now, id); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Event{Action: audit.WebhookEndpointDisabled, TargetType: "webhook_endpoint", TargetID: id,
		Metadata: map[string]any{"url": url, "failing_since": since.Time.UTC()}}); err != nil {
		return err
	}
	if !by.Valid {
		return nil
	}
	data, _ := json.Marshal(map[string]string{"endpoint_id": id, "url": url}) // strings: no error
	_, err = notify.Create(ctx, tx, by.String, notify.New{Type: "webhook.endpoint_disabled", Title: "A webhook endpoint was disabled",
		Description: "Deliveries to " + url + " failed for " + s.deps.DisableAfter.String() + " with no success; enable it again once it answers.", Data: data})
	return err
}

// TestResult is how a test event's delivery went.
type TestResult struct {
	MessageID string
	Outcome
}

// Test sends a webhook.test event to an endpoint now, once, and returns how
// it went; recorded in the deliveries and audited.
func (s *Service) Test(ctx context.Context, a userd.Actor, c userd.Client, id string) (r TestResult, err error) {
	if err := need(a, WritePermission); err != nil {
		return r, err
	}
	var t target
	var e Endpoint
	var ev outbox.Event
	// System: endpoints are the application's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		if e, err = get(ctx, tx, id); err != nil {
			return err
		}
		if t, err = s.target(ctx, tx, e.ID); err != nil {
			return err
		}
		data, _ := json.Marshal(outbox.EventData{Version: outbox.Version, Target: &outbox.EventRef{Type: "webhook_endpoint", ID: e.ID}, Details: map[string]any{}}) // no error
		ev = outbox.Event{ID: userd.NewID(tx.Now), Type: outbox.Test, Data: data, CreatedAt: tx.Now}
		return s.audit(ctx, tx, a, c, audit.WebhookEndpointTested, e, map[string]any{"message_id": ev.ID})
	})
	if err != nil {
		return r, err
	}
	r.MessageID = ev.ID
	r.Outcome, err = s.send(ctx, t, ev.ID, ev, 1)
	return r, err
}

// Delivery is a row of webhook_deliveries: one attempt.
type Delivery struct {
	ID, JobID, MessageID, EventType, URL, EndpointID string
	Attempt, StatusCode                              int
	Error                                            string
	DurationMS                                       int64
	CreatedAt                                        time.Time
}

// Delivery statuses, for DeliveryFilter.
const (
	Succeeded = "succeeded"
	Failed    = "failed"
)

// DeliveryFilter narrows Deliveries; zero fields do not filter.
type DeliveryFilter struct {
	EndpointID string
	Status     string // Succeeded or Failed
}

// ErrBadStatus is a status filter that is neither succeeded nor failed.
var ErrBadStatus = userd.Invalid([]userd.FieldError{{Field: "status", Code: "invalid_status", Message: "status is succeeded or failed."}})

// Deliveries returns up to limit attempts that match f, newest first, older
// than the one beforeID ("" for the first page).
func (s *Service) Deliveries(ctx context.Context, a userd.Actor, f DeliveryFilter, beforeID string, limit int) (out []Delivery, err error) {
	if err := need(a, ReadPermission); err != nil {
		return nil, err
	}
	where := []string{"id < $1"}
	args := []any{sqldb.Before(beforeID)}
	if f.EndpointID != "" {
		if _, ok := userd.ParseID(f.EndpointID); !ok {
			return []Delivery{}, nil
		}
		args = append(args, f.EndpointID)
		where = append(where, fmt.Sprintf("endpoint_id = $%d", len(args)))
	}
	switch f.Status {
	case "":
	case Succeeded:
		where = append(where, "error IS NULL AND status_code BETWEEN 200 AND 299")
	case Failed:
		where = append(where, "(error IS NOT NULL OR status_code IS NULL OR status_code NOT BETWEEN 200 AND 299)")
	default:
		return nil, ErrBadStatus
	}
	args = append(args, limit)
	// System: deliveries are the application's.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		out, err = sqldb.All(ctx, tx, scanDelivery, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE `+strings.Join(where, " AND ")+
			fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args)), args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return out, nil
}

const deliveryColumns = `id, job_id, message_id, event_type, url, endpoint_id, attempt, status_code, error, duration_ms, created_at`

func scanDelivery(row sqldb.Scanner) (Delivery, error) {
	var d Delivery
	var ep, failure sql.NullString
	var code sql.NullInt64
	if err := row.Scan(&d.ID, &d.JobID, &d.MessageID, &d.EventType, &d.URL, &ep, &d.Attempt, &code, &failure, &d.DurationMS, &d.CreatedAt); err != nil {
		return d, err
	}
	d.EndpointID, d.StatusCode, d.Error, d.CreatedAt = ep.String, int(code.Int64), failure.String, d.CreatedAt.UTC()
	if d.EndpointID == "" { // --webhook-url's, whose path may be its secret
		d.URL = Redacted(d.URL)
	}
	return d, nil
}

// Retry delivers again, now, the event of a recorded attempt to the same
// endpoint, with the same webhook-id; audited. It returns ErrDeliveryGone
// and ErrNotRetryable.
func (s *Service) Retry(ctx context.Context, a userd.Actor, c userd.Client, id string) (d Delivery, err error) {
	if err := need(a, WritePermission); err != nil {
		return d, err
	}
	if _, ok := userd.ParseID(id); !ok {
		return d, ErrDeliveryGone
	}
	// System: deliveries are the application's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if d, err = sqldb.One(ctx, tx, ErrDeliveryGone, "read webhook delivery", scanDelivery, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = $1`, id); err != nil {
			return err
		}
		if _, ok := userd.ParseID(d.MessageID); !ok {
			return ErrNotRetryable
		}
		ev, err := outbox.Load(ctx, tx, d.MessageID)
		if errors.Is(err, outbox.ErrNoEvent) || (err == nil && ev.Type == outbox.Test) {
			return ErrNotRetryable
		}
		if err != nil {
			return err
		}
		endpoint := outbox.Configured
		if d.EndpointID != "" {
			if _, err := get(ctx, tx, d.EndpointID); errors.Is(err, ErrNotFound) {
				return ErrNotRetryable
			} else if err != nil {
				return err
			}
			endpoint = d.EndpointID
		}
		if err := outbox.Schedule(ctx, tx, endpoint, ev.ID, tx.Now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{ActorUserID: a.UserID, APIKeyID: a.APIKeyID, Action: audit.WebhookDeliveryRetried,
			TargetType: "webhook_delivery", TargetID: d.ID, IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"message_id": ev.ID, "endpoint_id": d.EndpointID}})
	})
	return d, err
}
