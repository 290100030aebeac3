package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Receipt says what came of a provider's delivery.
type Receipt struct {
	EventID string
	// Duplicate is true for an event received before: nothing changed.
	Duplicate bool
	// Applied is true when the event changed a record.
	Applied bool
}

// What an event that changed nothing says in billing_events.error.
const (
	noteIgnored    = "ignored: userd does not apply this type of event"
	noteSuperseded = "superseded: older than the last event applied to the subscription"
	noteExists     = "superseded: the subscription exists already, which a created event never changes"
	noteFinal      = "superseded: the subscription has ended (canceled and incomplete_expired are final)"
	noteBackwards  = "superseded: of the same second as the last event applied, and it would move the subscription back to incomplete"
)

// Receive takes a provider's event: it checks the signature with the
// provider's webhook secret, records the event once and applies it in the
// same transaction (see the package's documentation). Deliveries from one
// address beyond Deps.Deliveries return the limiter's *ratelimit.Error
// before anything else. A bad signature returns ErrInvalidSignature; the
// first of an address in Deps.Deliveries' window is recorded in the trail
// as audit.BillingEventRejected. It returns ErrProviderNotFound for a
// provider that does not exist, is disabled, or takes no events (only
// stripe does), and ErrBadEvent for a signed body that is not an event.
func (s *Service) Receive(ctx context.Context, c userd.Client, provider, signature string, body []byte) (r Receipt, err error) {
	if err := s.deps.Limiter.Hit(ctx, "billing-webhook:ip:"+c.IP, s.deps.Deliveries); err != nil {
		return r, err
	}
	secret, err := s.secret(ctx, provider)
	if err != nil {
		return r, err
	}
	if err := VerifyStripe(signature, body, secret, s.db.Now()); err != nil {
		return r, errors.Join(err, s.rejected(ctx, c, provider, map[string]any{"signature": signature != ""}))
	}
	var ev stripeEvent
	if json.Unmarshal(body, &ev) != nil || ev.ID == "" || ev.Type == "" || ev.Created <= 0 {
		return r, ErrBadEvent
	}
	r.EventID = ev.ID
	// System: an event is the provider's, about any user.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		id := userd.NewID(tx.Now)
		res, err := tx.Exec(ctx, `INSERT INTO billing_events (id, provider, event_id, type, customer_id, payload, event_at, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (provider, event_id) DO NOTHING`,
			id, provider, ev.ID, ev.Type, sqldb.Nullable(customerOf(ev)), string(body), time.Unix(ev.Created, 0).UTC(), tx.Now)
		if err != nil {
			return fmt.Errorf("record billing event: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			r.Duplicate = true
			return nil
		}
		r.Applied, err = s.applyRecorded(ctx, tx, provider, id, ev)
		return err
	})
	return r, err
}

// rejected records a rejected delivery from c's address in the trail
// (audit.BillingEventRejected), unless one was recorded in the window of
// Deps.Deliveries: forged deliveries cannot flood the trail.
func (s *Service) rejected(ctx context.Context, c userd.Client, provider string, meta map[string]any) error {
	var limited *ratelimit.Error
	err := s.deps.Limiter.Hit(ctx, "billing-rejected:ip:"+c.IP, ratelimit.Rule{Max: 1, Window: s.deps.Deliveries.Window})
	if errors.As(err, &limited) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Action: audit.BillingEventRejected, TargetType: "payment_provider", TargetID: provider,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: meta})
	})
}

// secret returns the webhook secret of an enabled provider that takes
// events.
func (s *Service) secret(ctx context.Context, provider string) (secret []byte, err error) {
	if provider != Stripe {
		return nil, ErrProviderNotFound
	}
	// System: the providers are no user's.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var id string
		var sealed []byte
		var enabled bool
		err := tx.QueryRow(ctx, `SELECT id, webhook_secret, enabled FROM payment_providers WHERE name = $1`, provider).Scan(&id, &sealed, &enabled)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !enabled {
			return ErrProviderNotFound
		}
		if err != nil {
			return fmt.Errorf("read payment provider: %w", err)
		}
		if s.deps.StripeSecret != "" {
			secret = []byte(s.deps.StripeSecret)
			return nil
		}
		if sealed == nil {
			return nil // no secret: every signature is wrong
		}
		if secret, err = s.deps.Keyring.Open(sealed, secretAD(id, "")); err != nil {
			return fmt.Errorf("open webhook secret of %s: %w", provider, err)
		}
		return nil
	})
	return secret, err
}

// customerOf returns the customer an event is about, "" when it names none.
func customerOf(ev stripeEvent) string {
	var o struct {
		Customer string `json:"customer"`
	}
	_ = json.Unmarshal(ev.Data.Object, &o) // an object without a customer names none
	return o.Customer
}

// applyRecorded applies a recorded event (the row id of billing_events) and
// marks what came of it: applied, or why not.
func (s *Service) applyRecorded(ctx context.Context, tx *sqldb.Tx, provider, id string, ev stripeEvent) (bool, error) {
	applied, note, err := s.apply(ctx, tx, provider, id, ev)
	if err != nil {
		return false, fmt.Errorf("apply %s %s: %w", ev.Type, ev.ID, err)
	}
	var at *time.Time
	if applied {
		at = &tx.Now
	}
	if _, err := tx.Exec(ctx, `UPDATE billing_events SET applied = $1, applied_at = $2, error = $3 WHERE id = $4`,
		applied, at, sqldb.Nullable(note), id); err != nil {
		return false, fmt.Errorf("mark billing event: %w", err)
	}
	return applied, nil
}

// apply applies an event. It reports whether it changed a record and, when
// it did not, why ("" while the event waits for its customer's link).
func (s *Service) apply(ctx context.Context, tx *sqldb.Tx, provider, id string, ev stripeEvent) (bool, string, error) {
	at := time.Unix(ev.Created, 0).UTC()
	switch ev.Type {
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
		"customer.subscription.paused", "customer.subscription.resumed":
		var sub stripeSubscription
		if err := json.Unmarshal(ev.Data.Object, &sub); err != nil || sub.ID == "" || sub.Customer == "" {
			return false, "unreadable subscription", nil
		}
		o, err := s.customerOwner(ctx, tx, provider, sub.Customer)
		if err != nil || o.none() {
			return false, "", err
		}
		st := sub.state()
		if ev.Type == "customer.subscription.deleted" {
			st.Status = Canceled
		}
		return s.put(ctx, tx, o, change{provider: provider, subscriptionID: sub.ID, customer: sub.Customer, state: st, at: at, eventID: ev.ID,
			create: ev.Type == "customer.subscription.created"})
	case "checkout.session.completed":
		var cs stripeCheckout
		if err := json.Unmarshal(ev.Data.Object, &cs); err != nil || cs.Customer == "" {
			return false, "no customer to link", nil
		}
		return s.link(ctx, tx, provider, id, cs, ev.ID)
	case "invoice.paid", "invoice.payment_failed":
		var inv stripeInvoice
		if err := json.Unmarshal(ev.Data.Object, &inv); err != nil || inv.Customer == "" {
			return false, "unreadable invoice", nil
		}
		o, err := s.customerOwner(ctx, tx, provider, inv.Customer)
		if err != nil || o.none() {
			return false, "", err
		}
		return s.invoice(ctx, tx, o, provider, inv.subscription(), ev.Type == "invoice.paid", at, ev.ID)
	}
	return false, noteIgnored, nil
}

// owner is whom a subscription or an account belongs to: a user or an
// organisation.
type owner struct{ user, org string }

func (o owner) none() bool { return o.user == "" && o.org == "" }

// about adds an organisation's id to an audit entry's metadata m (a user's
// entry is in their trail).
func (o owner) about(m map[string]any) map[string]any {
	if o.org != "" {
		m["organization_id"] = o.org
	}
	return m
}

// customerOwner returns the owner of a provider's customer, none when the
// customer is not linked yet. Before it answers none, it takes the lock of
// links (see lockLinks) and looks again: a checkout that links the
// customer meanwhile either committed before (the link is seen) or waits
// until this transaction has recorded the event as waiting and committed
// (the checkout then applies it).
func (s *Service) customerOwner(ctx context.Context, tx *sqldb.Tx, provider, customer string) (owner, error) {
	o, err := linkedTo(ctx, tx, provider, customer)
	if err != nil || !o.none() {
		return o, err
	}
	if err := lockLinks(ctx, tx, provider); err != nil {
		return o, err
	}
	return linkedTo(ctx, tx, provider, customer)
}

// linkedTo returns the owner of a provider's customer, none when the
// customer is not linked.
func linkedTo(ctx context.Context, tx *sqldb.Tx, provider, customer string) (o owner, err error) {
	var user, org sql.NullString
	err = tx.QueryRow(ctx, `SELECT a.user_id, a.organization_id FROM payment_accounts a JOIN payment_providers p ON p.id = a.provider_id
		WHERE p.name = $1 AND a.customer_id = $2`, provider, customer).Scan(&user, &org)
	if errors.Is(err, sql.ErrNoRows) {
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("find customer: %w", err)
	}
	return owner{user.String, org.String}, nil
}

// lockLinks takes, until the transaction ends, the lock that serialises a
// provider's new links with the events that find their customer unlinked:
// the provider's row. Only a checkout and an event of a customer not
// linked yet take it, so the events of linked customers never wait for it.
// Without it, on PostgreSQL, an event recorded as waiting by a transaction
// that a checkout cannot see yet would never be applied.
func lockLinks(ctx context.Context, tx *sqldb.Tx, provider string) error {
	if _, err := tx.LockRow(ctx, "payment_providers", "name", provider); err != nil {
		return fmt.Errorf("lock the links of %s: %w", provider, err)
	}
	return nil
}

// link links a checkout's customer to the user or organisation that the
// session names (client_reference_id, or metadata userd_user_id or
// userd_organization_id), then applies the events that waited for it, in
// the provider's order. A customer linked already, or an owner that has
// another customer at the provider, is left as it is: the first link wins.
// A link refused is in the trail (audit.BillingEventRejected, with the
// reason), for whoever watches for a checkout that names someone else.
func (s *Service) link(ctx context.Context, tx *sqldb.Tx, provider, id string, cs stripeCheckout, eventID string) (bool, string, error) {
	o, note, err := s.named(ctx, tx, cs)
	if err != nil {
		return false, "", err
	}
	if note != "" {
		return false, note, linkRefused(ctx, tx, provider, eventID, cs, note)
	}
	// The waiting events are read below with the lock held: every event
	// that found the customer unlinked has committed by then.
	if err := lockLinks(ctx, tx, provider); err != nil {
		return false, "", err
	}
	res, err := tx.Exec(ctx, `INSERT INTO payment_accounts (id, user_id, organization_id, provider_id, customer_id, created_at)
		SELECT $1, $2, $3, id, $4, $5 FROM payment_providers WHERE name = $6 ON CONFLICT DO NOTHING`,
		userd.NewID(tx.Now), sqldb.Nullable(o.user), sqldb.Nullable(o.org), cs.Customer, tx.Now, provider)
	if err != nil {
		return false, "", fmt.Errorf("link customer: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		const note = "the customer, or the owner's account at this provider, is linked already"
		return false, note, linkRefused(ctx, tx, provider, eventID, cs, note)
	}
	if err := audit.Record(ctx, tx, audit.Event{UserID: o.user, Action: audit.BillingCustomerLinked, TargetType: "payment_account", TargetID: cs.Customer,
		Metadata: o.about(map[string]any{"provider": provider})}); err != nil {
		return false, "", err
	}
	waiting, err := sqldb.All(ctx, tx, scanEvent, `SELECT `+eventColumns+` FROM billing_events
		WHERE provider = $1 AND customer_id = $2 AND NOT applied AND error IS NULL AND id <> $3 ORDER BY event_at, id`, provider, cs.Customer, id)
	if err != nil {
		return false, "", fmt.Errorf("events waiting for %s: %w", cs.Customer, err)
	}
	for _, w := range waiting {
		ev := stripeEvent{ID: w.EventID, Type: w.Type, Created: w.EventAt.Unix()}
		if err := json.Unmarshal(w.Payload, &ev); err != nil {
			return false, "", fmt.Errorf("read waiting event %s: %w", w.EventID, err)
		}
		if _, err := s.applyRecorded(ctx, tx, provider, w.ID, ev); err != nil {
			return false, "", err
		}
	}
	return true, "", nil
}

// linkRefused records in the trail a checkout whose link was refused, and
// why.
func linkRefused(ctx context.Context, tx *sqldb.Tx, provider, eventID string, cs stripeCheckout, reason string) error {
	return audit.Record(ctx, tx, audit.Event{Action: audit.BillingEventRejected, TargetType: "payment_account", TargetID: cs.Customer,
		Metadata: map[string]any{"provider": provider, "event_id": eventID, "reason": reason, "client_reference_id": cs.ClientReferenceID,
			"userd_user_id": cs.Metadata["userd_user_id"], "userd_organization_id": cs.Metadata["userd_organization_id"]}})
}

// named returns the owner that a checkout session names, or why it names
// none that exists.
func (s *Service) named(ctx context.Context, tx *sqldb.Tx, cs stripeCheckout) (owner, string, error) {
	user := cs.Metadata["userd_user_id"]
	if user == "" && cs.Metadata["userd_organization_id"] == "" {
		user = cs.ClientReferenceID
	}
	if user != "" {
		return s.existing(ctx, tx, owner{user: user})
	}
	if org := cs.Metadata["userd_organization_id"]; org != "" {
		return s.existing(ctx, tx, owner{org: org})
	}
	return owner{}, "the session names no userd user or organisation", nil
}

// existing returns o when its user or organisation exists, or why not.
func (s *Service) existing(ctx context.Context, tx *sqldb.Tx, o owner) (owner, string, error) {
	table, id := "users", o.user
	if o.org != "" {
		table, id = "organizations", o.org
	}
	if _, ok := userd.ParseID(id); !ok {
		return owner{}, "no such " + table[:len(table)-1], nil
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE id = $1`, id).Scan(&n); err != nil {
		return owner{}, "", fmt.Errorf("find %s: %w", table, err)
	}
	if n == 0 {
		return owner{}, "no such " + table[:len(table)-1], nil
	}
	return o, "", nil
}

// invoice applies an invoice's outcome to its subscription: a failed
// payment makes an active or trialing subscription past_due; a paid invoice
// makes a past_due or unpaid one active again. The owner hears of a failed
// payment when the event applies: it changed the subscription, or the
// subscription, not ended, was failing already (a retry failed again); an
// event older than the last applied, or of a subscription userd does not
// know, tells nobody.
func (s *Service) invoice(ctx context.Context, tx *sqldb.Tx, o owner, provider, subID string, paid bool, at time.Time, eventID string) (bool, string, error) {
	old, found, err := s.locked(ctx, tx, provider, subID)
	switch {
	case err != nil:
		return false, "", err
	case !found:
		return false, "no such subscription", nil
	case old.EventAt != nil && at.Before(*old.EventAt):
		return false, noteSuperseded, nil
	}
	st := old.State
	switch {
	case paid && (st.Status == PastDue || st.Status == Unpaid):
		st.Status = Active
	case !paid && (st.Status == Active || st.Status == Trialing):
		st.Status = PastDue
	case paid || final(st.Status):
		return false, "nothing to change: the subscription is " + st.Status, nil
	default:
		return true, "", s.failed(ctx, tx, o, subID)
	}
	applied, note, err := s.put(ctx, tx, o, change{provider: provider, subscriptionID: subID, customer: old.Customer, state: st, at: at, eventID: eventID})
	if err != nil || !applied || paid {
		return applied, note, err
	}
	return true, "", s.failed(ctx, tx, o, subID)
}

// failed tells the owner of a subscription that a payment failed.
func (s *Service) failed(ctx context.Context, tx *sqldb.Tx, o owner, subID string) error {
	return s.tell(ctx, tx, o, "billing.payment_failed", "A payment failed",
		"Your last payment did not go through: update your payment method to keep your plan.", subID)
}
