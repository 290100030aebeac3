// Package outbox owns webhook_events, the transactional outbox of webhook
// events: an event is written in the transaction of the change it reports,
// with one delivery job per endpoint that wants its type, so that a change
// committed is an event delivered, whatever happens to the process after the
// commit. The webhook package delivers the jobs; the audit package emits the
// catalogue's events as it records the trail.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/platform/sqldb"
)

// KindDeliver is the job kind of one event's delivery to one endpoint.
const KindDeliver = "webhook.deliver"

// Configured names, in a delivery job, the endpoint that --webhook-url
// defines (not a row of webhook_endpoints).
const Configured = "config"

// configured tells whether this process has an endpoint defined by
// configuration, which wants every type of the catalogue.
var configured atomic.Bool

// SetConfigured says whether the process has an endpoint defined by
// configuration (--webhook-url); serve sets it once at start.
func SetConfigured(on bool) { configured.Store(on) }

// wake nudges the runners of delivery jobs once a transaction that
// scheduled some commits.
var wake atomic.Pointer[func()]

// SetWake sets what nudges the runners of delivery jobs (their Wake) once
// a transaction that emitted events commits, so that the events leave at
// once rather than at the runners' next poll; serve sets it once at start.
func SetWake(fn func()) { wake.Store(&fn) }

// Job is the payload of a delivery job.
type Job struct {
	EventID    string `json:"event_id"`
	EndpointID string `json:"endpoint_id"` // Configured for --webhook-url
}

// JobKey names the job of an event's delivery to an endpoint.
func JobKey(endpointID, eventID string) string { return "webhook:" + endpointID + ":" + eventID }

// JobPrefix starts the keys of every delivery job of an endpoint.
func JobPrefix(endpointID string) string { return "webhook:" + endpointID + ":" }

// Wants reports whether an endpoint subscribed to types (all when empty)
// wants an event of type typ.
func Wants(types []string, typ string) bool { return len(types) == 0 || slices.Contains(types, typ) }

// Emit writes an event of type typ with data in tx, and a delivery job for
// each enabled endpoint that wants it, due now; it writes nothing when no
// endpoint wants the type. The decision is the transaction's own: an
// endpoint made or changed by a transaction that committed before this one
// began is seen.
func Emit(ctx context.Context, tx *sqldb.Tx, typ string, data any) error {
	return EmitAll(ctx, tx, []New{{Type: typ, Data: data}})
}

// Schedule makes (or moves to at) the job that delivers event eventID to an
// endpoint.
func Schedule(ctx context.Context, tx *sqldb.Tx, endpointID, eventID string, at time.Time) error {
	return jobs.Enqueue(ctx, tx, KindDeliver, JobKey(endpointID, eventID), Job{EventID: eventID, EndpointID: endpointID}, at)
}

// subscriber is an endpoint that may want events.
type subscriber struct {
	id    string
	types []string
}

// endpoints returns the enabled rows of webhook_endpoints, and the
// configured endpoint (every type) when the process has one.
func endpoints(ctx context.Context, tx *sqldb.Tx) ([]subscriber, error) {
	out, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (s subscriber, err error) {
		var raw []byte
		if err := row.Scan(&s.id, &raw); err != nil {
			return s, err
		}
		if err := json.Unmarshal(raw, &s.types); err != nil {
			return s, fmt.Errorf("endpoint %s: event types: %w", s.id, err)
		}
		return s, nil
	}, `SELECT id, event_types FROM webhook_endpoints WHERE enabled`)
	if err != nil {
		return nil, fmt.Errorf("webhook endpoints: %w", err)
	}
	if configured.Load() {
		out = append(out, subscriber{id: Configured})
	}
	return out, nil
}

// Event is a row of webhook_events.
type Event struct {
	ID, Type  string
	Data      json.RawMessage
	CreatedAt time.Time
}

// ErrNoEvent is an event that expired (or never was).
var ErrNoEvent = userd.Errorf(userd.KindNotFound, "event_not_found", "No such event: it expired after 30 days.")

// Load reads an event.
func Load(ctx context.Context, tx *sqldb.Tx, id string) (Event, error) {
	return sqldb.One(ctx, tx, ErrNoEvent, "read webhook event", func(row sqldb.Scanner) (e Event, err error) {
		var data []byte
		err = row.Scan(&e.ID, &e.Type, &data, &e.CreatedAt)
		e.Data, e.CreatedAt = data, e.CreatedAt.UTC()
		return e, err
	}, `SELECT id, type, data, created_at FROM webhook_events WHERE id = $1`, id)
}

// Retention is how long an event is kept: its deliveries may be retried
// until then.
const Retention = 30 * 24 * time.Hour

// Expire deletes events older than Retention.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM webhook_events WHERE created_at < $1`, now.Add(-Retention))
}
