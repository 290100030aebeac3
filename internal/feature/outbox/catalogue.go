package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Version is the version of the data of the catalogue's events, the
// version field of each. A change that could break a receiver (a field
// removed, renamed or retyped) bumps it; a field added does not.
const Version = 1

// The catalogue's event types.
const (
	UserCreated             = "user.created"
	UserUpdated             = "user.updated"
	UserDeleted             = "user.deleted"
	UserEmailVerified       = "user.email_verified"
	UserSuspended           = "user.suspended"
	UserBanned              = "user.banned"
	UserReactivated         = "user.reactivated"
	SessionCreated          = "session.created"
	SessionRevoked          = "session.revoked"
	RoleAssigned            = "role.assigned"
	RoleRemoved             = "role.removed"
	OrganizationCreated     = "organization.created"
	OrganizationMemberAdded = "organization.member_added"
	OrganizationMemberGone  = "organization.member_removed"
	SubscriptionChanged     = "subscription.changed"
	ReportCreated           = "report.created"
	ModerationActionTaken   = "moderation.action_taken"
	CollectionRecordCreated = "collection.record.created"
	CollectionRecordUpdated = "collection.record.updated"
	CollectionRecordDeleted = "collection.record.deleted"
	// The synchronization webhooks carry the platform token (due) and go
	// only to the endpoint --webhook-url defines; their data is the
	// synchronization package's.
	SynchronizationDue           = "synchronization.due"
	SynchronizationTokenExpiring = "synchronization.token_expiring"
	// Test is the event POST /v1/admin/webhook-endpoints/{id}/test sends to
	// one endpoint; no endpoint subscribes to it.
	Test = "webhook.test"
)

// Type is an entry of the catalogue.
type Type struct {
	Name string
	// When says what makes the event, for the documentation.
	When string
	// Direct marks the types that the synchronization jobs send to the
	// configured endpoint only, outside the outbox.
	Direct bool
}

// Catalogue lists every event type, in the order of the documentation.
var Catalogue = []Type{
	{UserCreated, "A user was made: by sign-up (password or OpenID Connect), by an administrator, or by an import (one event per user imported).", false},
	{UserUpdated, "An administrator changed a user's profile or status (details.fields names what changed).", false},
	{UserDeleted, "A user was deleted: by themselves or by an administrator.", false},
	{UserEmailVerified, "A user verified their email address.", false},
	{UserSuspended, "A moderator suspended a user (details.until: when it ends, if it does).", false},
	{UserBanned, "A moderator banned a user.", false},
	{UserReactivated, "A user's ban was lifted, or their suspension was lifted or ran out.", false},
	{SessionCreated, "A user signed in (target: the session).", false},
	{SessionRevoked, "A session ended before its time: a log-out, a revocation, or an administrator ending sessions (details.count when several).", false},
	{RoleAssigned, "An administrator gave a user a role (details.role).", false},
	{RoleRemoved, "An administrator took a role from a user (details.role).", false},
	{OrganizationCreated, "A user made an organization (target: the organization).", false},
	{OrganizationMemberAdded, "A user joined an organization (target: the organization; details.role).", false},
	{OrganizationMemberGone, "A member left or was removed from an organization (target: the organization).", false},
	{SubscriptionChanged, "A subscription was made or changed its plan or status (target: the subscription; details: plan, status).", false},
	{ReportCreated, "A user reported content or another user (target: the report).", false},
	{ModerationActionTaken, "A moderator acted on a user (details.action: warn, suspend, ban, unban, ...).", false},
	{CollectionRecordCreated, "A record was added to a collection whose declaration says webhooks: true (target: the record; details: collection, version, data; organization_id for an organisation's record).", false},
	{CollectionRecordUpdated, "A record of such a collection was replaced or patched, or lost a set_null relation's field (details as for created).", false},
	{CollectionRecordDeleted, "A record of such a collection was deleted, itself or through a cascade relation (details: collection, version, organization_id; no data). Deleting the collection makes no event per record.", false},
	{SynchronizationDue, "A synchronization's daily time came, or an administrator ran it: carries the platform token. Only to the endpoint --webhook-url defines.", true},
	{SynchronizationTokenExpiring, "A synchronization's token expires soon. Only to the endpoint --webhook-url defines.", true},
}

// Known reports whether typ is a type of the catalogue that an endpoint
// may subscribe to.
func Known(typ string) bool {
	return slices.ContainsFunc(Catalogue, func(t Type) bool { return t.Name == typ && !t.Direct })
}

// EventData is the data of every event of the catalogue but the synchronization
// ones: who it is about, who acted, on what, and details of the type.
type EventData struct {
	Version int `json:"version" doc:"The version of this data object; 1. Bumped only by a change that could break a receiver."`
	// UserID is the user the event is about.
	UserID string      `json:"user_id,omitempty" doc:"The user the event is about (absent for none)."`
	Actor  *EventActor `json:"actor,omitempty" doc:"Who acted, when not the user themselves: an administrator, a moderator or an API key."`
	Target *EventRef   `json:"target,omitempty" doc:"What was acted on (a user, a session, a role, an organization, a subscription, a report, a record)."`
	// Details are the event's own fields, as the catalogue says for its
	// type; never a secret.
	Details map[string]any `json:"details" doc:"The event's own fields, as the catalogue documents them for its type; {} when none."`
}

// EventActor is who made an event.
type EventActor struct {
	UserID   string `json:"user_id,omitempty" doc:"The user who acted."`
	APIKeyID string `json:"api_key_id,omitempty" doc:"The API key that acted."`
}

// EventRef names a row an event is about.
type EventRef struct {
	Type string `json:"type" doc:"user, session, role, organization, subscription, report, record..."`
	ID   string `json:"id"`
}

// New is an event to emit.
type New struct {
	Type string
	Data any
}

// EmitAll writes events as Emit does, reading the endpoints once.
func EmitAll(ctx context.Context, tx *sqldb.Tx, events []New) error {
	if len(events) == 0 {
		return nil
	}
	all, err := endpoints(ctx, tx)
	if err != nil {
		return err
	}
	for _, ev := range events {
		if err := emit(ctx, tx, all, ev); err != nil {
			return err
		}
	}
	return nil
}

func emit(ctx context.Context, tx *sqldb.Tx, all []subscriber, ev New) error {
	var to []string
	for _, s := range all {
		if Wants(s.types, ev.Type) {
			to = append(to, s.id)
		}
	}
	if len(to) == 0 {
		return nil
	}
	body, err := json.Marshal(ev.Data)
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.Type, err)
	}
	id := userd.NewID(tx.Now)
	if _, err := tx.Exec(ctx, `INSERT INTO webhook_events (id, type, data, created_at) VALUES ($1, $2, $3, $4)`, id, ev.Type, string(body), tx.Now); err != nil {
		return fmt.Errorf("event %s: %w", ev.Type, err)
	}
	for _, ep := range to {
		if err := Schedule(ctx, tx, ep, id, tx.Now); err != nil {
			return err
		}
	}
	if w := wake.Load(); w != nil {
		tx.AfterCommit(*w)
	}
	return nil
}
