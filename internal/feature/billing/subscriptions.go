package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// change is a subscription's new state and where it comes from.
type change struct {
	provider, subscriptionID, customer string
	state                              State
	at                                 time.Time // the provider's time of the event; now for userd's own changes
	eventID                            string    // "" for userd's own changes
	client                             userd.Client
	// create is true for a provider's customer.subscription.created: it
	// makes the subscription and never changes one that exists.
	create bool
}

// final reports whether a status is one that a subscription never leaves.
func final(status string) bool { return status == Canceled || status == IncompleteExpired }

// stale returns why a change must not apply to the subscription old, ""
// when it may. Stripe's times are whole seconds, so two events of one
// second are told apart by what they would do: a created event never
// overwrites, a final status is never left, and an event of the same
// second as the last applied does not move the subscription back to
// incomplete.
func stale(old Subscription, c change) string {
	switch {
	case c.create:
		return noteExists
	case old.EventAt == nil:
		return ""
	case c.at.Before(*old.EventAt):
		return noteSuperseded
	case final(old.Status) && c.state.Status != old.Status:
		return noteFinal
	case c.at.Equal(*old.EventAt) && c.state.Status == Incomplete && old.Status != Incomplete:
		return noteBackwards
	}
	return ""
}

// put writes a subscription's new state unless an event applied before is
// newer, with a line of history when its status or plan changes, in the
// owner's trail (audit.BillingSubscriptionChanged); it tells the owner of
// a cancellation and gives or takes the plans' roles. It reports whether
// it changed the subscription and, when not, why.
func (s *Service) put(ctx context.Context, tx *sqldb.Tx, o owner, c change) (bool, string, error) {
	st := c.state
	if !slices.Contains(Statuses, st.Status) {
		return false, "unknown status " + st.Status, nil
	}
	if st.Plan == "" {
		return false, "no plan", nil
	}
	old, found, err := s.locked(ctx, tx, c.provider, c.subscriptionID)
	if err != nil {
		return false, "", err
	}
	if note := stale(old, c); found && note != "" {
		return false, note, nil
	}
	if st.Metadata == nil {
		st.Metadata = map[string]string{}
	}
	meta, err := json.Marshal(st.Metadata)
	if err != nil {
		return false, "", fmt.Errorf("subscription metadata: %w", err)
	}
	var grace *time.Time
	switch {
	case st.Status != PastDue:
	case found && old.Status == PastDue && old.GraceUntil != nil:
		grace = old.GraceUntil
	default:
		// From when the provider says it became past_due: a delivery
		// retried for days does not lengthen the grace.
		g := tx.Now
		if c.at.Before(g) {
			g = c.at.UTC().Truncate(time.Microsecond)
		}
		g = g.Add(s.deps.Grace)
		grace = &g
	}
	at := c.at.UTC().Truncate(time.Microsecond)
	id := old.ID
	if !found {
		id = userd.NewID(tx.Now)
		res, err := tx.Exec(ctx, `INSERT INTO subscriptions (id, user_id, organization_id, payment_provider, subscription_id, customer_id, plan, status, quantity,
			current_period_start, current_period_end, cancel_at_period_end, canceled_at, trial_end, metadata, event_at, grace_until, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)
			ON CONFLICT (payment_provider, subscription_id) DO NOTHING`,
			id, sqldb.Nullable(o.user), sqldb.Nullable(o.org), c.provider, c.subscriptionID, sqldb.Nullable(c.customer), st.Plan, st.Status, st.Quantity,
			sqldb.Stored(st.PeriodStart), sqldb.Stored(st.PeriodEnd), st.CancelAtPeriodEnd, sqldb.Stored(st.CanceledAt), sqldb.Stored(st.TrialEnd), string(meta), at, grace, tx.Now)
		if err != nil {
			return false, "", fmt.Errorf("insert subscription: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.put(ctx, tx, o, c) // made meanwhile by a concurrent event: found now
		}
	} else {
		_, err := tx.Exec(ctx, `UPDATE subscriptions SET customer_id = $1, plan = $2, status = $3, quantity = $4, current_period_start = $5, current_period_end = $6,
			cancel_at_period_end = $7, canceled_at = $8, trial_end = $9, metadata = $10, event_at = $11, grace_until = $12, updated_at = $13 WHERE id = $14`,
			sqldb.Nullable(c.customer), st.Plan, st.Status, st.Quantity, sqldb.Stored(st.PeriodStart), sqldb.Stored(st.PeriodEnd),
			st.CancelAtPeriodEnd, sqldb.Stored(st.CanceledAt), sqldb.Stored(st.TrialEnd), string(meta), at, grace, tx.Now, id)
		if err != nil {
			return false, "", fmt.Errorf("update subscription: %w", err)
		}
	}
	if !found || old.Status != st.Status || old.Plan != st.Plan {
		if _, err := tx.Exec(ctx, `INSERT INTO subscription_history (id, subscription_id, from_status, to_status, from_plan, to_plan, event_id, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, userd.NewID(tx.Now), id, sqldb.Nullable(old.Status), st.Status,
			sqldb.Nullable(old.Plan), st.Plan, sqldb.Nullable(c.eventID), tx.Now); err != nil {
			return false, "", fmt.Errorf("subscription history: %w", err)
		}
	}
	err = audit.Record(ctx, tx, audit.Event{UserID: o.user, Action: audit.BillingSubscriptionChanged, TargetType: "subscription", TargetID: id,
		IP: c.client.IP, UserAgent: c.client.UserAgent, Metadata: o.about(map[string]any{"provider": c.provider, "subscription_id": c.subscriptionID,
			"from_status": old.Status, "status": st.Status, "from_plan": old.Plan, "plan": st.Plan, "event_id": c.eventID})})
	if err != nil {
		return false, "", err
	}
	if st.Status == Canceled && old.Status != Canceled {
		if err := s.tell(ctx, tx, o, "billing.subscription_canceled", "Your subscription ended",
			"Your "+st.Plan+" subscription is canceled.", c.subscriptionID); err != nil {
			return false, "", err
		}
	}
	return true, "", s.entitle(ctx, tx, o)
}

// locked returns a provider's subscription, locked until the transaction
// ends, and whether it exists.
func (s *Service) locked(ctx context.Context, tx *sqldb.Tx, provider, subID string) (Subscription, bool, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT id FROM subscriptions WHERE payment_provider = $1 AND subscription_id = $2`, provider, subID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Subscription{}, false, nil
	}
	if err != nil {
		return Subscription{}, false, fmt.Errorf("find subscription: %w", err)
	}
	if _, err := tx.LockRow(ctx, "subscriptions", "id", id); err != nil {
		return Subscription{}, false, fmt.Errorf("lock subscription: %w", err)
	}
	sub, err := sqldb.One(ctx, tx, ErrNoSubscription, "read subscription", scanSub, `SELECT `+subColumns+` FROM subscriptions WHERE id = $1`, id)
	return sub, err == nil, err
}

// tell notifies the owner of a subscription: the user, or the
// organisation's owners.
func (s *Service) tell(ctx context.Context, tx *sqldb.Tx, o owner, kind, title, text, subID string) error {
	users := []string{o.user}
	if o.user == "" {
		var err error
		users, err = sqldb.All(ctx, tx, sqldb.ScanString, `SELECT user_id FROM organization_members WHERE organization_id = $1 AND role = 'owner' ORDER BY user_id`, o.org)
		if err != nil {
			return fmt.Errorf("organisation's owners: %w", err)
		}
	}
	about := map[string]string{"subscription_id": subID}
	if o.org != "" {
		about["organization_id"] = o.org
	}
	data, err := json.Marshal(about)
	if err != nil {
		return fmt.Errorf("notification data: %w", err)
	}
	for _, u := range users {
		if _, err := notify.Create(ctx, tx, u, notify.New{Type: kind, Title: title, Description: text, Data: data}); err != nil {
			return fmt.Errorf("tell the subscriber: %w", err)
		}
	}
	return nil
}

// entitled reports whether a subscription grants its plan's roles at now:
// trialing or active (a manual one until its period ends), or past_due
// within its grace period.
func entitled(sub Subscription, now time.Time) bool {
	switch sub.Status {
	case Trialing, Active:
		return sub.Provider != Manual || sub.PeriodEnd == nil || now.Before(*sub.PeriodEnd)
	case PastDue:
		return sub.GraceUntil != nil && now.Before(*sub.GraceUntil)
	}
	return false
}

// entitle marks which of an owner's subscriptions grant their plans' roles
// now and, for a user, makes the roles they hold by plan exactly those of
// their entitled subscriptions' plans but administrators' roles (see
// rbac.AssignByPlan), which drops their cached grants; a change of their
// roles is in their trail (audit.BillingRolesChanged: the roles given and
// taken). For an organisation, it drops the cached grants of every session
// that has it active (userd.OrgKey), whose members hold its plans' roles
// there (see MemberRoles).
func (s *Service) entitle(ctx context.Context, tx *sqldb.Tx, o owner) error {
	column, id := "user_id", o.user
	if o.user == "" {
		column, id = "organization_id", o.org
	}
	subs, err := sqldb.All(ctx, tx, scanSub, `SELECT `+subColumns+` FROM subscriptions WHERE `+column+` = $1`, id)
	if err != nil {
		return fmt.Errorf("owner's subscriptions: %w", err)
	}
	for _, sub := range subs {
		if e := entitled(sub, tx.Now); e != sub.Entitled {
			if _, err := tx.Exec(ctx, `UPDATE subscriptions SET entitled = $1 WHERE id = $2`, e, sub.ID); err != nil {
				return fmt.Errorf("mark entitlement: %w", err)
			}
		}
	}
	if o.user == "" {
		// Its members hold its plans' roles through their sessions (see
		// MemberRoles): what remembers them forgets.
		tx.Invalidate(userd.OrgKey(o.org))
		return nil
	}
	want, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT DISTINCT r.name FROM subscriptions s JOIN plan_roles pr ON pr.plan = s.plan
		JOIN roles r ON r.id = pr.role_id WHERE s.user_id = $1 AND s.entitled AND NOT r.is_admin ORDER BY r.name`, o.user)
	if err != nil {
		return fmt.Errorf("roles of plans: %w", err)
	}
	held, err := rbac.HeldByPlan(ctx, tx, o.user)
	if err != nil {
		return err
	}
	given, taken := []string{}, []string{}
	for _, role := range want {
		if !slices.Contains(held, role) {
			did, err := rbac.AssignByPlan(ctx, tx, o.user, role)
			if err != nil {
				return err
			}
			if did {
				given = append(given, role)
			}
		}
	}
	for _, role := range held {
		if !slices.Contains(want, role) {
			did, err := rbac.UnassignByPlan(ctx, tx, o.user, role)
			if err != nil {
				return err
			}
			if did {
				taken = append(taken, role)
			}
		}
	}
	if len(given) == 0 && len(taken) == 0 {
		return nil
	}
	return audit.Record(ctx, tx, audit.Event{UserID: o.user, Action: audit.BillingRolesChanged, TargetType: "user", TargetID: o.user,
		Metadata: map[string]any{"given": given, "taken": taken}})
}

// Expire ends what time ends, for the janitor: a manual subscription whose
// period is over is canceled, and a past_due subscription whose grace
// period is over stops granting its plan's roles. It returns how many
// subscriptions it changed.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	subs, err := sqldb.All(ctx, tx, scanSub, `SELECT `+subColumns+` FROM subscriptions
		WHERE entitled AND ((status = $1 AND grace_until <= $2) OR (payment_provider = $3 AND current_period_end <= $2))`, PastDue, now, Manual)
	if err != nil {
		return 0, fmt.Errorf("subscriptions to expire: %w", err)
	}
	s := &Service{} // put and entitle need no Deps for what ends
	for _, sub := range subs {
		o := owner{sub.UserID, sub.OrganizationID}
		if sub.Provider != Manual {
			err = s.entitle(ctx, tx, o)
		} else {
			st := sub.State
			st.Status, st.CanceledAt = Canceled, &now
			_, _, err = s.put(ctx, tx, o, change{provider: Manual, subscriptionID: sub.SubscriptionID, state: st, at: now})
		}
		if err != nil {
			return 0, fmt.Errorf("expire subscription %s: %w", sub.ID, err)
		}
	}
	return int64(len(subs)), nil
}
