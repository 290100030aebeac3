package webhook

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/outbox"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Permissions (the migrations seed them).
const (
	// ReadPermission reads endpoints (never their secrets) and deliveries.
	ReadPermission = "webhooks:read"
	// WritePermission makes, changes, rotates, tests and deletes endpoints
	// and retries deliveries.
	WritePermission = "webhooks:write"
)

// Errors of endpoints.
var (
	ErrNotFound         = userd.Errorf(userd.KindNotFound, "webhook_endpoint_not_found", "No such webhook endpoint.")
	ErrDeliveryGone     = userd.Errorf(userd.KindNotFound, "webhook_delivery_not_found", "No such webhook delivery.")
	ErrNotRetryable     = userd.Errorf(userd.KindConflict, "not_retryable", "This delivery's event is not in the outbox (a synchronization webhook, a test event, or an event older than 30 days), or its endpoint is gone.")
	ErrTooManyEndpoints = userd.Errorf(userd.KindConflict, "too_many_endpoints", "There are at most 50 webhook endpoints.")
)

// MaxEndpoints bounds webhook_endpoints: every audited event that the
// catalogue maps reads them.
const MaxEndpoints = 50

// RotationOverlap is how long the previous secret still signs after a
// rotation.
const RotationOverlap = 24 * time.Hour

// DefaultDisableAfter is how long an endpoint fails, with no success, before
// it is disabled.
const DefaultDisableAfter = 72 * time.Hour

// Deps are what a Service needs besides the database.
type Deps struct {
	Keyring *seal.Keyring
	// Configured delivers to the endpoint --webhook-url defines; its
	// Sender's URL is "" when there is none.
	Configured *Sender
	// DisableAfter is how long an endpoint fails with no success before it
	// is disabled; DefaultDisableAfter when zero.
	DisableAfter time.Duration
	// MaxInFlight is how many deliveries to one endpoint run at once
	// across processes; DefaultMaxInFlight when zero.
	MaxInFlight int
}

// DefaultMaxInFlight is the default per-endpoint concurrency limit: half
// of DefaultWorkers, so that one slow endpoint leaves the others workers.
const DefaultMaxInFlight = 2

// DefaultWorkers is how many runners of delivery jobs a process has by
// default, each one delivery at a time.
const DefaultWorkers = 4

// Lease is the lease of a delivery runner's jobs: an attempt takes at most
// the client's 15 s and its record, and a process killed while it holds one
// delays that delivery by at most Lease.
const Lease = 30 * time.Second

// Service manages webhook endpoints and delivers the outbox's events.
type Service struct {
	db     *sqldb.DB
	deps   Deps
	client *http.Client
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, deps Deps) *Service {
	if deps.DisableAfter <= 0 {
		deps.DisableAfter = DefaultDisableAfter
	}
	if deps.MaxInFlight <= 0 {
		deps.MaxInFlight = DefaultMaxInFlight
	}
	if deps.Configured == nil {
		deps.Configured = New(db, "", nil)
	}
	return &Service{db: db, deps: deps, client: &http.Client{Timeout: 15 * time.Second}}
}

// Endpoint is a row of webhook_endpoints, without its secrets.
type Endpoint struct {
	ID, URL, Description string
	EventTypes           []string // empty: every type
	Enabled              bool
	DisabledReason       string
	FailingSince         *time.Time
	// PreviousUntil is when the secret before the last rotation stops
	// signing; nil when none signs.
	PreviousUntil        *time.Time
	CreatedBy            string
	CreatedAt, UpdatedAt time.Time
}

// Patch makes (URL required) or changes an endpoint; nil fields stay.
type Patch struct {
	URL, Description *string
	EventTypes       *[]string
	Enabled          *bool
}

func need(a userd.Actor, permission string) error {
	if a.Grants.Has(permission) {
		return nil
	}
	return userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+permission+".")
}

func (p *Patch) check(creating bool) error {
	var fs []userd.FieldError
	switch {
	case p.URL == nil && creating:
		fs = append(fs, userd.FieldError{Field: "url", Code: "required", Message: "An endpoint has a URL."})
	case p.URL != nil:
		*p.URL = strings.TrimSpace(*p.URL)
		if err := CheckURL(*p.URL); err != nil || len(*p.URL) > 2000 {
			fs = append(fs, userd.FieldError{Field: "url", Code: "invalid_url", Message: "A webhook URL is an https URL of at most 2000 characters (http only on loopback)."})
		}
	}
	if p.Description != nil {
		*p.Description = strings.TrimSpace(*p.Description)
		fs = userd.CheckText(fs, "description", *p.Description, 500)
	}
	if p.EventTypes != nil {
		types := slices.Clone(*p.EventTypes)
		slices.Sort(types)
		types = slices.Compact(types)
		for _, t := range types {
			if !outbox.Known(t) {
				fs = append(fs, userd.FieldError{Field: "event_types", Code: "unknown_event_type", Message: "Not a type of the catalogue: " + truncate(t, 100) + "."})
				break
			}
		}
		*p.EventTypes = types
	}
	return userd.Invalid(fs)
}

// NewSecret returns a new whsec_ secret: 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretAD binds a sealed secret to its endpoint and its column.
func secretAD(id, column string) []byte { return seal.AD("webhook_endpoints", column, id) }

// Sealed and SealedPrevious are the sealed columns of webhook_endpoints,
// for the master key's rotation.
var (
	Sealed = sqldb.SealedColumn{Table: "webhook_endpoints", Column: "secret", IDColumn: "id",
		AD: func(id, _ string) []byte { return secretAD(id, "secret") }}
	SealedPrevious = sqldb.SealedColumn{Table: "webhook_endpoints", Column: "previous_secret", IDColumn: "id",
		AD: func(id, _ string) []byte { return secretAD(id, "previous_secret") }}
)

const endpointColumns = `id, url, description, event_types, enabled, disabled_reason, failing_since, previous_until, created_by, created_at, updated_at`

func scanEndpoint(row sqldb.Scanner) (Endpoint, error) {
	var e Endpoint
	var types []byte
	var reason, by sql.NullString
	var failing, prev sql.NullTime
	if err := row.Scan(&e.ID, &e.URL, &e.Description, &types, &e.Enabled, &reason, &failing, &prev, &by, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return e, err
	}
	if err := json.Unmarshal(types, &e.EventTypes); err != nil {
		return e, fmt.Errorf("endpoint %s: event types: %w", e.ID, err)
	}
	e.DisabledReason, e.CreatedBy = reason.String, by.String
	e.FailingSince, e.PreviousUntil = sqldb.TimeOf(failing), sqldb.TimeOf(prev)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, nil
}

// Create makes an endpoint and returns it with its secret, which is shown
// here and by Rotate only; audited.
func (s *Service) Create(ctx context.Context, a userd.Actor, c userd.Client, p Patch) (e Endpoint, secret string, err error) {
	if err := need(a, WritePermission); err != nil {
		return e, "", err
	}
	if err := p.check(true); err != nil {
		return e, "", err
	}
	secret = NewSecret()
	// System: endpoints are the application's, not a user's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints`).Scan(&n); err != nil {
			return fmt.Errorf("count webhook endpoints: %w", err)
		}
		if n >= MaxEndpoints {
			return ErrTooManyEndpoints
		}
		id := userd.NewID(tx.Now)
		var desc string
		if p.Description != nil {
			desc = *p.Description
		}
		var types []string
		if p.EventTypes != nil {
			types = *p.EventTypes
		}
		enabled := p.Enabled == nil || *p.Enabled
		var reason any
		if !enabled {
			reason = "disabled by an administrator"
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (id, url, description, event_types, secret, enabled, disabled_reason, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`, id, *p.URL, desc, sqldb.JSONStrings(types), s.deps.Keyring.Seal([]byte(secret), secretAD(id, "secret")),
			enabled, reason, sqldb.Nullable(a.UserID), tx.Now)
		if err != nil {
			return fmt.Errorf("create webhook endpoint: %w", err)
		}
		if e, err = get(ctx, tx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, c, audit.WebhookEndpointCreated, e, map[string]any{"url": e.URL, "event_types": e.EventTypes, "enabled": e.Enabled})
	})
	return e, secret, err
}

func (s *Service) audit(ctx context.Context, tx *sqldb.Tx, a userd.Actor, c userd.Client, action string, e Endpoint, meta map[string]any) error {
	return audit.Record(ctx, tx, audit.Event{ActorUserID: a.UserID, APIKeyID: a.APIKeyID, Action: action, TargetType: "webhook_endpoint", TargetID: e.ID,
		IP: c.IP, UserAgent: c.UserAgent, Metadata: meta})
}

func get(ctx context.Context, tx *sqldb.Tx, id string) (Endpoint, error) {
	if _, ok := userd.ParseID(id); !ok {
		return Endpoint{}, ErrNotFound
	}
	return sqldb.One(ctx, tx, ErrNotFound, "read webhook endpoint", scanEndpoint, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id)
}

// List returns every endpoint, newest first.
func (s *Service) List(ctx context.Context, a userd.Actor) (out []Endpoint, err error) {
	if err := need(a, ReadPermission); err != nil {
		return nil, err
	}
	// System: endpoints are the application's.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		out, err = sqldb.All(ctx, tx, scanEndpoint, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY id DESC`)
		return err
	})
	return out, err
}

// Get returns one endpoint.
func (s *Service) Get(ctx context.Context, a userd.Actor, id string) (e Endpoint, err error) {
	if err := need(a, ReadPermission); err != nil {
		return e, err
	}
	// System: endpoints are the application's.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		e, err = get(ctx, tx, id)
		return err
	})
	return e, err
}

// Update changes an endpoint; enabling it again clears why it was disabled
// and its failures; audited.
func (s *Service) Update(ctx context.Context, a userd.Actor, c userd.Client, id string, p Patch) (e Endpoint, err error) {
	if err := need(a, WritePermission); err != nil {
		return e, err
	}
	if err := p.check(false); err != nil {
		return e, err
	}
	// System: endpoints are the application's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		old, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		e = old
		meta := map[string]any{}
		if p.URL != nil {
			e.URL, meta["url"] = *p.URL, *p.URL
		}
		if p.Description != nil {
			e.Description = *p.Description
		}
		if p.EventTypes != nil {
			e.EventTypes, meta["event_types"] = *p.EventTypes, *p.EventTypes
		}
		if p.Enabled != nil && *p.Enabled != old.Enabled {
			e.Enabled, meta["enabled"] = *p.Enabled, *p.Enabled
			e.DisabledReason, e.FailingSince = "", nil
			if !e.Enabled {
				e.DisabledReason = "disabled by an administrator"
			}
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, enabled = $4, disabled_reason = $5, failing_since = $6, updated_at = $7
			WHERE id = $8`, e.URL, e.Description, sqldb.JSONStrings(e.EventTypes), e.Enabled, sqldb.Nullable(e.DisabledReason), e.FailingSince, tx.Now, e.ID)
		if err != nil {
			return fmt.Errorf("update webhook endpoint: %w", err)
		}
		e.UpdatedAt = tx.Now
		return s.audit(ctx, tx, a, c, audit.WebhookEndpointUpdated, e, meta)
	})
	return e, err
}

// Delete deletes an endpoint; its pending deliveries end; audited.
func (s *Service) Delete(ctx context.Context, a userd.Actor, c userd.Client, id string) error {
	if err := need(a, WritePermission); err != nil {
		return err
	}
	// System: endpoints are the application's.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		e, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, e.ID); err != nil {
			return fmt.Errorf("delete webhook endpoint: %w", err)
		}
		return s.audit(ctx, tx, a, c, audit.WebhookEndpointDeleted, e, map[string]any{"url": e.URL})
	})
}

// Rotate gives an endpoint a new secret and returns it, shown here only;
// the current one still signs, beside it, for RotationOverlap; audited.
func (s *Service) Rotate(ctx context.Context, a userd.Actor, c userd.Client, id string) (e Endpoint, secret string, err error) {
	if err := need(a, WritePermission); err != nil {
		return e, "", err
	}
	secret = NewSecret()
	// System: endpoints are the application's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if e, err = get(ctx, tx, id); err != nil {
			return err
		}
		var current []byte
		if err := tx.QueryRow(ctx, `SELECT secret FROM webhook_endpoints WHERE id = $1`, e.ID).Scan(&current); err != nil {
			return fmt.Errorf("read webhook secret: %w", err)
		}
		plain, err := s.deps.Keyring.Open(current, secretAD(e.ID, "secret"))
		if err != nil {
			return fmt.Errorf("open webhook secret: %w", err)
		}
		until := tx.Now.Add(RotationOverlap)
		_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET secret = $1, previous_secret = $2, previous_until = $3, updated_at = $4 WHERE id = $5`,
			s.deps.Keyring.Seal([]byte(secret), secretAD(e.ID, "secret")), s.deps.Keyring.Seal(plain, secretAD(e.ID, "previous_secret")), until, tx.Now, e.ID)
		if err != nil {
			return fmt.Errorf("rotate webhook secret: %w", err)
		}
		e.PreviousUntil, e.UpdatedAt = &until, tx.Now
		return s.audit(ctx, tx, a, c, audit.WebhookSecretRotated, e, map[string]any{"previous_until": until})
	})
	return e, secret, err
}

// target is where a delivery goes: its URL and the keys that sign it.
type target struct {
	endpointID string // "" for the configured endpoint
	url        string
	keys       [][]byte
	enabled    bool
	failing    *time.Time
	createdBy  string
}

// target loads an endpoint's URL and keys (the previous one while it still
// signs), or the configured endpoint's for outbox.Configured.
func (s *Service) target(ctx context.Context, tx *sqldb.Tx, id string) (target, error) {
	if id == outbox.Configured {
		cf := s.deps.Configured
		return target{url: cf.url, keys: [][]byte{cf.key}, enabled: cf.url != ""}, nil
	}
	var t target
	var cur, prev []byte
	var until, failing sql.NullTime
	var by sql.NullString
	err := tx.QueryRow(ctx, `SELECT id, url, secret, previous_secret, previous_until, enabled, failing_since, created_by FROM webhook_endpoints WHERE id = $1`, id).
		Scan(&t.endpointID, &t.url, &cur, &prev, &until, &t.enabled, &failing, &by)
	if err == sql.ErrNoRows {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("read webhook endpoint: %w", err)
	}
	t.failing, t.createdBy = sqldb.TimeOf(failing), by.String
	key, err := s.openSecret(cur, t.endpointID, "secret")
	if err != nil {
		return t, err
	}
	t.keys = [][]byte{key}
	if prev != nil && until.Valid && until.Time.After(tx.Now) {
		old, err := s.openSecret(prev, t.endpointID, "previous_secret")
		if err != nil {
			return t, err
		}
		t.keys = append(t.keys, old)
	}
	return t, nil
}

func (s *Service) openSecret(sealed []byte, id, column string) ([]byte, error) {
	plain, err := s.deps.Keyring.Open(sealed, secretAD(id, column))
	if err != nil {
		return nil, fmt.Errorf("open webhook secret of %s: %w", id, err)
	}
	key, err := ParseSecret(string(plain))
	if err != nil {
		return nil, fmt.Errorf("webhook secret of %s: %w", id, err)
	}
	return key, nil
}

// ConfiguredURL returns the URL of the endpoint --webhook-url defines,
// Redacted, or "" for none.
func (s *Service) ConfiguredURL() string { return Redacted(s.deps.Configured.url) }

// Redacted returns the URL of --webhook-url as the API shows it: without a
// password, its path (which may be the secret) and its query's values
// replaced by "(hidden)", as the console's settings page shows the flag.
func Redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Path != "" && u.Path != "/" {
		u.Path, u.RawPath = "/(hidden)", ""
	}
	q := u.Query()
	for k := range q {
		q.Set(k, "(hidden)")
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}
