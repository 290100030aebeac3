// Package billing owns the billing records (seed 001's payment_providers,
// payment_accounts, subscriptions and subscription_history, and
// billing_events and plan_roles): who has which plan with which payment
// provider, kept straight from the providers' signed events, and the roles
// that plans grant. userd takes no payment: the application calls its
// provider for that, naming the userd user or organisation, and the
// provider's events tell userd what came of it.
//
// Every provider event is applied once: the unique key of billing_events
// on (provider, event_id) decides which of concurrent deliveries applies
// it, and a replay changes nothing. An event older than the last applied
// to its subscription is recorded and changes nothing; an event whose
// customer userd does not know yet waits until a checkout links that
// customer to a user or an organisation.
package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Permissions (the migrations seed them).
const (
	// ReadPermission reads every subscription, provider and event.
	ReadPermission = "billing:read"
	// WritePermission grants subscriptions by hand, sets the roles of
	// plans and configures providers.
	WritePermission = "billing:write"
)

// Providers that every database has.
const (
	Stripe = "stripe"
	Manual = "manual" // subscriptions granted by hand (POST /v1/admin/subscriptions)
)

// The statuses of a subscription (Stripe's).
const (
	Trialing          = "trialing"
	Active            = "active"
	PastDue           = "past_due"
	Canceled          = "canceled"
	Unpaid            = "unpaid"
	Incomplete        = "incomplete"
	IncompleteExpired = "incomplete_expired"
	Paused            = "paused"
)

// Statuses are the values of a subscription's status.
var Statuses = []string{Trialing, Active, PastDue, Canceled, Unpaid, Incomplete, IncompleteExpired, Paused}

// DefaultGrace is how long a past_due subscription keeps its plan's roles
// unless the operator says otherwise.
const DefaultGrace = 3 * 24 * time.Hour

// MaxGrant is how long a manual grant may last.
const MaxGrant = 5 * 365 * 24 * time.Hour

// DefaultDeliveries bounds the deliveries to a provider's webhook from one
// address unless the operator says otherwise: well above what a provider
// sends, low enough that forged deliveries cannot flood the database.
var DefaultDeliveries = ratelimit.Rule{Max: 600, Window: time.Minute}

// Errors of the Service.
var (
	ErrInvalidSignature = userd.Errorf(userd.KindMalformed, "invalid_signature", "The event's signature is missing, stale or wrong.")
	ErrNoSubscription   = userd.Errorf(userd.KindNotFound, "no_subscription", "No subscription.")
	ErrProviderNotFound = userd.Errorf(userd.KindNotFound, "provider_not_found", "No such payment provider, or it is disabled.")
	ErrBadEvent         = userd.Errorf(userd.KindMalformed, "invalid_event", "The body is not an event userd can read.")
	ErrReadForbidden    = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+ReadPermission+".")
	ErrWriteForbidden   = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+WritePermission+".")
)

// State is what a provider says of a subscription; an event sets all of it.
type State struct {
	Plan, Status           string
	Quantity               int64
	PeriodStart, PeriodEnd *time.Time
	CancelAtPeriodEnd      bool
	CanceledAt, TrialEnd   *time.Time
	Metadata               map[string]string
}

// Subscription is a row of subscriptions, with its history when read with
// it. Exactly one of UserID and OrganizationID is set.
type Subscription struct {
	ID, UserID, OrganizationID         string
	Provider, SubscriptionID, Customer string
	State
	// EventAt is the provider's time of the last event applied to it.
	EventAt *time.Time
	// GraceUntil is when a past_due subscription stops granting its
	// plan's roles.
	GraceUntil *time.Time
	// Entitled says whether it grants its plan's roles now.
	Entitled             bool
	CreatedAt, UpdatedAt time.Time
	History              []Change
}

// Change is a row of subscription_history. From is empty for the first.
type Change struct {
	ID                 string
	FromStatus, Status string
	FromPlan, Plan     string
	EventID            string
	At                 time.Time
}

// Account is a row of payment_accounts: the customer a user or an
// organisation is at a provider.
type Account struct {
	ID, UserID, OrganizationID string
	Provider, Customer         string
	CreatedAt                  time.Time
}

// Provider is a row of payment_providers, without its secret.
type Provider struct {
	ID, Name             string
	HasSecret, Enabled   bool
	CreatedAt, UpdatedAt time.Time
}

// Event is a row of billing_events. Applied is false while the event waits
// for its customer's link (Error "") or when it changed nothing (Error says
// why).
type Event struct {
	ID, Provider, EventID, Type, Customer string
	Payload                               json.RawMessage
	EventAt, ReceivedAt                   time.Time
	Applied                               bool
	AppliedAt                             *time.Time
	Error                                 string
}

// Deps are what a Service works with.
type Deps struct {
	// Keyring seals and opens the providers' webhook secrets.
	Keyring *seal.Keyring
	// Grace is how long a past_due subscription keeps its plan's roles.
	Grace time.Duration
	// Limiter counts the deliveries to the webhooks, by address (required).
	Limiter *ratelimit.Limiter
	// Deliveries bounds the deliveries from one address; a rejected
	// signature is audited once per address in its window.
	Deliveries ratelimit.Rule
	// StripeSecret, when set, is the stripe provider's webhook secret
	// (--stripe-webhook-secret), in place of the stored one.
	StripeSecret string
	// Exclusive are the sets of mutually exclusive roles
	// (--exclusive-roles): a plan grants at most one role of each.
	Exclusive rbac.Exclusive
	// OrgAccess says whether the actor is a member of an organisation who
	// may read its billing details (organization.Service.BillingAccess),
	// and returns the error that answers anyone else.
	OrgAccess func(ctx context.Context, a userd.Actor, orgID string) (details bool, err error)
}

// Service serves billing: provider events, reads, manual grants, plans'
// roles and providers.
type Service struct {
	db   *sqldb.DB
	deps Deps
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, d Deps) *Service { return &Service{db: db, deps: d} }

// secretAD binds a provider's sealed secret to its row.
func secretAD(id, _ string) []byte { return seal.AD("payment_providers", "webhook_secret", id) }

// Sealed is the column of sealed webhook secrets, for a key rotation.
var Sealed = sqldb.SealedColumn{Table: "payment_providers", Column: "webhook_secret", IDColumn: "id", AD: secretAD}

const subColumns = `id, user_id, organization_id, payment_provider, subscription_id, customer_id, plan, status, quantity,
	current_period_start, current_period_end, cancel_at_period_end, canceled_at, trial_end, metadata, event_at, grace_until, entitled, created_at, updated_at`

func scanSub(row sqldb.Scanner) (Subscription, error) {
	var s Subscription
	var user, org, customer sql.NullString
	var start, end, canceled, trial, event, grace sql.NullTime
	var meta string
	err := row.Scan(&s.ID, &user, &org, &s.Provider, &s.SubscriptionID, &customer, &s.Plan, &s.Status, &s.Quantity,
		&start, &end, &s.CancelAtPeriodEnd, &canceled, &trial, &meta, &event, &grace, &s.Entitled, &s.CreatedAt, &s.UpdatedAt)
	if err != nil {
		return s, err
	}
	s.UserID, s.OrganizationID, s.Customer = user.String, org.String, customer.String
	s.PeriodStart, s.PeriodEnd, s.CanceledAt, s.TrialEnd, s.EventAt = sqldb.TimeOf(start), sqldb.TimeOf(end), sqldb.TimeOf(canceled), sqldb.TimeOf(trial), sqldb.TimeOf(event)
	s.GraceUntil = sqldb.TimeOf(grace)
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(meta), &s.Metadata); err != nil {
		return s, fmt.Errorf("subscription metadata: %w", err)
	}
	return s, nil
}

func scanChange(row sqldb.Scanner) (Change, error) {
	var c Change
	var fromStatus, fromPlan, event sql.NullString
	err := row.Scan(&c.ID, &fromStatus, &c.Status, &fromPlan, &c.Plan, &event, &c.At)
	c.FromStatus, c.FromPlan, c.EventID, c.At = fromStatus.String, fromPlan.String, event.String, c.At.UTC()
	return c, err
}

const accountColumns = `a.id, a.user_id, a.organization_id, p.name, a.customer_id, a.created_at`

func scanAccount(row sqldb.Scanner) (Account, error) {
	var a Account
	var user, org sql.NullString
	err := row.Scan(&a.ID, &user, &org, &a.Provider, &a.Customer, &a.CreatedAt)
	a.UserID, a.OrganizationID, a.CreatedAt = user.String, org.String, a.CreatedAt.UTC()
	return a, err
}

const providerColumns = `id, name, webhook_secret IS NOT NULL, enabled, created_at, updated_at`

func scanProvider(row sqldb.Scanner) (Provider, error) {
	var p Provider
	err := row.Scan(&p.ID, &p.Name, &p.HasSecret, &p.Enabled, &p.CreatedAt, &p.UpdatedAt)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

const eventColumns = `id, provider, event_id, type, customer_id, payload, event_at, received_at, applied, applied_at, error`

func scanEvent(row sqldb.Scanner) (Event, error) {
	var e Event
	var customer, msg sql.NullString
	var payload string
	var applied sql.NullTime
	err := row.Scan(&e.ID, &e.Provider, &e.EventID, &e.Type, &customer, &payload, &e.EventAt, &e.ReceivedAt, &e.Applied, &applied, &msg)
	e.Customer, e.Error, e.Payload, e.AppliedAt = customer.String, msg.String, json.RawMessage(payload), sqldb.TimeOf(applied)
	e.EventAt, e.ReceivedAt = e.EventAt.UTC(), e.ReceivedAt.UTC()
	return e, err
}

// Forget deletes, in the caller's transaction (which must cross users),
// the providers' events about a user's customers, whose payloads name
// them: lifecycle.DeleteUser calls it before the user's row goes, while
// their payment accounts still say which customers were theirs (the
// database then cascades to those accounts and the subscriptions).
func Forget(ctx context.Context, tx *sqldb.Tx, userID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM billing_events WHERE (provider, customer_id) IN
		(SELECT p.name, a.customer_id FROM payment_accounts a JOIN payment_providers p ON p.id = a.provider_id WHERE a.user_id = $1)`, userID)
	if err != nil {
		return fmt.Errorf("forget billing events: %w", err)
	}
	return nil
}
