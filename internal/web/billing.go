package web

import (
	"context"
	"encoding/json"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/billing"
)

// Subscription is a subscription to a plan, with a provider or granted by
// hand (provider manual).
type Subscription struct {
	ID                 string               `json:"id"`
	UserID             *string              `json:"user_id" doc:"The subscriber; null for an organisation's subscription."`
	OrganizationID     *string              `json:"organization_id" doc:"The subscribing organisation; null for a user's."`
	Provider           string               `json:"payment_provider" doc:"stripe, manual, or another provider an operator added."`
	SubscriptionID     string               `json:"subscription_id" doc:"The provider's id of the subscription."`
	CustomerID         *string              `json:"customer_id" doc:"The provider's customer; null for a manual grant."`
	Plan               string               `json:"plan" doc:"The price's lookup key (or id) at the provider, or the comp plan's name."`
	Status             string               `json:"status" enum:"trialing,active,past_due,canceled,unpaid,incomplete,incomplete_expired,paused"`
	Quantity           int64                `json:"quantity"`
	CurrentPeriodStart *time.Time           `json:"current_period_start"`
	CurrentPeriodEnd   *time.Time           `json:"current_period_end" doc:"For a manual grant, when it ends."`
	CancelAtPeriodEnd  bool                 `json:"cancel_at_period_end"`
	CanceledAt         *time.Time           `json:"canceled_at"`
	TrialEnd           *time.Time           `json:"trial_end"`
	Metadata           map[string]string    `json:"metadata"`
	Entitled           bool                 `json:"entitled" doc:"Whether it grants its plan's roles now: trialing or active, or past_due within the grace period."`
	GraceUntil         *time.Time           `json:"grace_until" doc:"When a past_due subscription stops granting its plan's roles; null otherwise."`
	EventAt            *time.Time           `json:"event_at" doc:"The provider's time of the last event applied to it."`
	CreatedAt          time.Time            `json:"created_at"`
	UpdatedAt          time.Time            `json:"updated_at"`
	History            []SubscriptionChange `json:"history,omitempty" doc:"Its changes, oldest first (GET /v1/me/subscriptions)."`
}

// SubscriptionChange is a line of a subscription's history.
type SubscriptionChange struct {
	FromStatus *string   `json:"from_status" doc:"null for the first line."`
	ToStatus   string    `json:"to_status"`
	FromPlan   *string   `json:"from_plan"`
	ToPlan     string    `json:"to_plan"`
	EventID    *string   `json:"event_id" doc:"The provider's event; null for userd's own changes."`
	At         time.Time `json:"at"`
}

func subscriptionOf(s billing.Subscription) Subscription {
	return Subscription{ID: s.ID, UserID: optional(s.UserID), OrganizationID: optional(s.OrganizationID), Provider: s.Provider, SubscriptionID: s.SubscriptionID,
		CustomerID: optional(s.Customer), Plan: s.Plan, Status: s.Status, Quantity: s.Quantity, CurrentPeriodStart: s.PeriodStart, CurrentPeriodEnd: s.PeriodEnd,
		CancelAtPeriodEnd: s.CancelAtPeriodEnd, CanceledAt: s.CanceledAt, TrialEnd: s.TrialEnd, Metadata: s.Metadata, Entitled: s.Entitled,
		GraceUntil: s.GraceUntil, EventAt: s.EventAt, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		History: mapAll(s.History, func(c billing.Change) SubscriptionChange {
			return SubscriptionChange{FromStatus: optional(c.FromStatus), ToStatus: c.Status, FromPlan: optional(c.FromPlan), ToPlan: c.Plan, EventID: optional(c.EventID), At: c.At}
		})}
}

type webhookInput struct {
	Provider  string `path:"provider" doc:"stripe (the only provider whose events userd reads)."`
	Signature string `header:"Stripe-Signature" doc:"t=TIMESTAMP,v1=HMAC-SHA256 of TIMESTAMP.BODY with the endpoint's secret; several v1 allowed; 5 minutes' tolerance."`
	RawBody   []byte // the event as signed: read unparsed, never validated as a schema
}

type webhookOutput struct {
	Body struct {
		Received  bool   `json:"received"`
		EventID   string `json:"event_id"`
		Duplicate bool   `json:"duplicate" doc:"Received before: nothing changed."`
		Applied   bool   `json:"applied" doc:"Whether it changed a record (false for a replay, an older event, an unknown type, or a customer not linked yet)."`
	}
}

func (s *Server) billingWebhook(ctx context.Context, in *webhookInput) (*webhookOutput, error) {
	r, err := s.billing.Receive(ctx, s.client(ctx), in.Provider, in.Signature, in.RawBody)
	if err != nil {
		return nil, err
	}
	out := &webhookOutput{}
	out.Body.Received, out.Body.EventID, out.Body.Duplicate, out.Body.Applied = true, r.EventID, r.Duplicate, r.Applied
	return out, nil
}

type subscriptionOutput struct {
	Body Subscription
}

func (s *Server) mySubscription(ctx context.Context, _ *struct{}) (*subscriptionOutput, error) {
	sub, err := s.billing.Mine(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	return &subscriptionOutput{Body: subscriptionOf(sub)}, nil
}

func (s *Server) orgSubscription(ctx context.Context, in *OrgPath) (*subscriptionOutput, error) {
	sub, err := s.billing.OrganizationFor(ctx, userd.ActorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &subscriptionOutput{Body: subscriptionOf(sub)}, nil
}

type subscriptionsOutput struct {
	Body struct {
		Subscriptions []Subscription `json:"subscriptions"`
	}
}

func (s *Server) mySubscriptions(ctx context.Context, _ *struct{}) (*subscriptionsOutput, error) {
	subs, err := s.billing.MineAll(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &subscriptionsOutput{}
	out.Body.Subscriptions = mapAll(subs, subscriptionOf)
	return out, nil
}

type adminSubscriptionsInput struct {
	Paging
	Status   string `query:"status" enum:"trialing,active,past_due,canceled,unpaid,incomplete,incomplete_expired,paused" doc:"Only subscriptions of this status."`
	Plan     string `query:"plan" doc:"Only subscriptions to this plan."`
	Provider string `query:"provider" doc:"Only subscriptions with this provider."`
	UserID   string `query:"user_id" doc:"Only this user's subscriptions."`
	OrgID    string `query:"organization_id" doc:"Only this organisation's subscriptions."`
}

type subscriptionPageOutput struct {
	Body struct {
		Subscriptions []Subscription `json:"subscriptions"`
		NextCursor    *string        `json:"next_cursor"`
	}
}

func (s *Server) adminSubscriptions(ctx context.Context, in *adminSubscriptionsInput) (*subscriptionPageOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.billing.List(ctx, userd.ActorFrom(ctx), billing.Filter{Status: in.Status, Plan: in.Plan, Provider: in.Provider,
		UserID: in.UserID, OrganizationID: in.OrgID}, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &subscriptionPageOutput{}
	out.Body.Subscriptions, out.Body.NextCursor = mapPage(list, in.Limit, func(x billing.Subscription) string { return x.ID }, subscriptionOf)
	return out, nil
}

type grantInput struct {
	Body struct {
		UserID         string            `json:"user_id,omitempty" doc:"The user to grant the plan to (or organization_id)."`
		OrganizationID string            `json:"organization_id,omitempty" doc:"The organisation to grant the plan to (or user_id)."`
		Plan           string            `json:"plan" doc:"The comp plan: 1 to 100 of A-Z a-z 0-9 _ . : -"`
		EndsAt         time.Time         `json:"ends_at" doc:"When the grant ends (in the future, at most 5 years away); the plan's roles go then."`
		Metadata       map[string]string `json:"metadata,omitempty"`
	}
}

func (s *Server) grantSubscription(ctx context.Context, in *grantInput) (*subscriptionOutput, error) {
	b := in.Body
	sub, err := s.billing.Grant(ctx, userd.ActorFrom(ctx), s.client(ctx), billing.Grant{UserID: b.UserID, OrganizationID: b.OrganizationID, Plan: b.Plan,
		EndsAt: b.EndsAt, Metadata: b.Metadata})
	if err != nil {
		return nil, err
	}
	return &subscriptionOutput{Body: subscriptionOf(sub)}, nil
}

type subscriptionPath struct {
	ID string `path:"id" doc:"The subscription's userd id."`
}

func (s *Server) endSubscription(ctx context.Context, in *subscriptionPath) (*subscriptionOutput, error) {
	sub, err := s.billing.EndGrant(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &subscriptionOutput{Body: subscriptionOf(sub)}, nil
}

// BillingEvent is a provider's event as userd recorded it.
type BillingEvent struct {
	ID         string          `json:"id"`
	Provider   string          `json:"provider"`
	EventID    string          `json:"event_id"`
	Type       string          `json:"type"`
	CustomerID *string         `json:"customer_id"`
	Payload    json.RawMessage `json:"payload" doc:"The event as the provider sent it."`
	EventAt    time.Time       `json:"event_at" doc:"The provider's time of the event."`
	ReceivedAt time.Time       `json:"received_at"`
	Applied    bool            `json:"applied"`
	AppliedAt  *time.Time      `json:"applied_at"`
	Error      *string         `json:"error" doc:"Why it changed nothing; null while it waits for its customer's link, or once applied."`
}

type billingEventsInput struct {
	Paging
	Applied string `query:"applied" enum:"true,false" doc:"Only events applied (true) or not (false)."`
}

type billingEventsOutput struct {
	Body struct {
		Events     []BillingEvent `json:"events"`
		NextCursor *string        `json:"next_cursor"`
	}
}

func (s *Server) billingEvents(ctx context.Context, in *billingEventsInput) (*billingEventsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	var applied *bool
	if in.Applied != "" {
		v := in.Applied == "true"
		applied = &v
	}
	list, err := s.billing.Events(ctx, userd.ActorFrom(ctx), applied, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &billingEventsOutput{}
	out.Body.Events, out.Body.NextCursor = mapPage(list, in.Limit, func(e billing.Event) string { return e.ID }, func(e billing.Event) BillingEvent {
		return BillingEvent{ID: e.ID, Provider: e.Provider, EventID: e.EventID, Type: e.Type, CustomerID: optional(e.Customer), Payload: e.Payload,
			EventAt: e.EventAt, ReceivedAt: e.ReceivedAt, Applied: e.Applied, AppliedAt: e.AppliedAt, Error: optional(e.Error)}
	})
	return out, nil
}

type planRolesInput struct {
	Plan string `path:"plan" doc:"The plan: 1 to 100 of A-Z a-z 0-9 _ . : -"`
	Body struct {
		Roles []string `json:"roles" doc:"The roles the plan grants (none: it grants none), to its subscribers and to the members of subscribed organisations in the sessions that have the organisation active; never an administrator's role."`
	}
}

type planRolesOutput struct {
	Body struct {
		Plan  string   `json:"plan"`
		Roles []string `json:"roles"`
	}
}

func (s *Server) putPlanRoles(ctx context.Context, in *planRolesInput) (*planRolesOutput, error) {
	roles, err := s.billing.SetPlanRoles(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Plan, in.Body.Roles)
	if err != nil {
		return nil, err
	}
	out := &planRolesOutput{}
	out.Body.Plan, out.Body.Roles = in.Plan, roles
	return out, nil
}

// PaymentProvider is a payment provider, without its secret.
type PaymentProvider struct {
	Name             string    `json:"name"`
	HasWebhookSecret bool      `json:"has_webhook_secret" doc:"Whether a webhook secret is stored (it is never returned)."`
	Enabled          bool      `json:"enabled"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func providerOf(p billing.Provider) PaymentProvider {
	return PaymentProvider{Name: p.Name, HasWebhookSecret: p.HasSecret, Enabled: p.Enabled, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

type providersOutput struct {
	Body struct {
		Providers []PaymentProvider `json:"providers"`
	}
}

func (s *Server) paymentProviders(ctx context.Context, _ *struct{}) (*providersOutput, error) {
	list, err := s.billing.Providers(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &providersOutput{}
	out.Body.Providers = mapAll(list, providerOf)
	return out, nil
}

type putProviderInput struct {
	Name string `path:"name" doc:"The provider: 2 to 32 of a-z 0-9 _ -; made when new."`
	Body struct {
		WebhookSecret *string `json:"webhook_secret,omitempty" doc:"The endpoint's signing secret (whsec_…), write-only and sealed; \"\" removes it."`
		Enabled       *bool   `json:"enabled,omitempty"`
	}
}

type providerOutput struct {
	Body PaymentProvider
}

func (s *Server) putPaymentProvider(ctx context.Context, in *putProviderInput) (*providerOutput, error) {
	p, err := s.billing.SetProvider(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Name, in.Body.WebhookSecret, in.Body.Enabled)
	if err != nil {
		return nil, err
	}
	return &providerOutput{Body: providerOf(p)}, nil
}
