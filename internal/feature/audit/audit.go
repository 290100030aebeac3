// Package audit owns activity_logs, the append-only trail of security and
// administrative events. Events are recorded in the transaction of the change
// they describe, so the trail and the data never disagree.
package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/outbox"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Actions: stable dotted codes that clients and operators filter on, every
// one of them here.
const (
	Signup                 = "auth.signup"
	Login                  = "auth.login"
	LoginFailed            = "auth.login_failed"
	Logout                 = "auth.logout"
	SessionRevoked         = "auth.session_revoked"
	RefreshReuse           = "auth.refresh_token_reused"
	PasswordChanged        = "auth.password_changed"
	PasswordResetRequested = "auth.password_reset_requested"
	PasswordReset          = "auth.password_reset"
	EmailVerificationSent  = "auth.email_verification_sent"
	EmailVerified          = "auth.email_verified"
	RateLimited            = "auth.rate_limited"
	MFAEnabled             = "auth.mfa_enabled"
	PasskeyRegistered      = "auth.passkey_registered"
	PasskeyDeleted         = "auth.passkey_deleted"
	MFADisabled            = "auth.mfa_disabled"
	AccountCreated         = "auth.account_created"
	AccountLinked          = "auth.account_linked"
	AccountReclaimed       = "auth.unverified_account_reclaimed"
	UserDeleted            = "user.deleted"
	// UserImported is one batch of a users import, in no user's trail:
	// its metadata counts the users created and names the file's lines.
	UserImported = "user.imported"

	// What administrators do, with the administrator as actor.
	AdminUserCreated      = "admin.user_created"
	AdminUserUpdated      = "admin.user_updated"
	AdminUserDeleted      = "admin.user_deleted"
	AdminRoleCreated      = "admin.role_created"
	AdminRoleUpdated      = "admin.role_updated"
	AdminRoleDeleted      = "admin.role_deleted"
	AdminRoleAssigned     = "admin.role_assigned"
	AdminRoleRemoved      = "admin.role_removed"
	AdminNotificationSent = "admin.notification_sent"
	AdminAPIKeyCreated    = "admin.api_key_created"
	AdminAPIKeyRevoked    = "admin.api_key_revoked"
	AdminItemFeatured     = "admin.item_featured"
	AdminItemUnfeatured   = "admin.item_unfeatured"
	// AdminSessionsEnded is an administrator ending one session of a user
	// (its session_id in the metadata) or all of them (their count).
	AdminSessionsEnded = "admin.sessions_ended"

	// The application's permissions, with the administrator as actor.
	PermissionCreated = "permission.created"
	PermissionDeleted = "permission.deleted"

	// The credentials vault.
	CredentialSaved    = "vault.credential_saved"
	CredentialDeleted  = "vault.credential_deleted"
	CredentialRevealed = "vault.credential_revealed"

	// What users do with items, with their client profile as client_id.
	Voted          = "engagement.voted"
	VoteWithdrawn  = "engagement.vote_withdrawn"
	Favorited      = "engagement.favorited"
	Unfavorited    = "engagement.unfavorited"
	Commented      = "engagement.commented"
	CommentEdited  = "engagement.comment_edited"
	CommentDeleted = "engagement.comment_deleted"
	ProfileUpdated = "engagement.client_profile_updated"

	// Moderation, with the reporter or the moderator as actor.
	ReportCreated    = "moderation.report_created"
	ReportReviewed   = "moderation.report_reviewed"
	ActionTaken      = "moderation.action_taken"
	SuspensionLifted = "moderation.suspension_lifted"

	// Sponsor ads, in the sponsor's trail (the reviewer as actor).
	SponsorAdSubmitted = "sponsor_ad.submitted"
	SponsorAdReviewed  = "sponsor_ad.reviewed"

	// Organisations: in the acting member's trail, or in the trail of the
	// member whose membership changed (the acting member as actor).
	OrganizationCreated              = "organization.created"
	OrganizationUpdated              = "organization.updated"
	OrganizationDeleted              = "organization.deleted"
	OrganizationMemberAdded          = "organization.member_added"
	OrganizationMemberRemoved        = "organization.member_removed"
	OrganizationRoleChanged          = "organization.role_changed"
	OrganizationInvitationSent       = "organization.invitation_sent"
	OrganizationInvitationAccepted   = "organization.invitation_accepted"
	OrganizationInvitationRevoked    = "organization.invitation_revoked"
	OrganizationOwnershipTransferred = "organization.ownership_transferred"
	// Billing: a subscription's change in its owner's trail (an
	// administrator as actor for a manual grant), a customer linked to its
	// owner, a provider's event refused for its signature (in no user's
	// trail), the roles a user's plans gave or took (whatever changed them:
	// an event, a grace period's end, a plan's roles), and what
	// administrators set.
	BillingRolesChanged        = "billing.roles_changed"
	BillingSubscriptionChanged = "billing.subscription_changed"
	BillingCustomerLinked      = "billing.customer_linked"
	BillingEventRejected       = "billing.event_rejected"
	BillingPlanRolesSet        = "billing.plan_roles_set"
	BillingProviderUpdated     = "billing.provider_updated"
	// Collections: a declaration made or changed, a collection deleted, an
	// owner's records read by an administrator (in no user's trail; the
	// administrator as actor).
	CollectionDeclared    = "collection.declared"
	CollectionDeleted     = "collection.deleted"
	CollectionRecordsRead = "collection.records_read"
	// CRM: companies, a client profile's company, integration mappings,
	// the Twenty connection and the seed (in no user's trail; the
	// administrator, or no one for the command line, as actor).
	CRMCompanyCreated      = "crm.company_created"
	CRMCompanyUpdated      = "crm.company_updated"
	CRMCompanyDeleted      = "crm.company_deleted"
	CRMProfileCompanySet   = "crm.client_profile_company_set"
	CRMMappingUpserted     = "crm.integration_mapping_upserted"
	CRMMappingDeleted      = "crm.integration_mapping_deleted"
	CRMTwentyConfigUpdated = "crm.twenty_config_updated"
	CRMSeedApplied         = "crm.seed_applied"
	CRMSeedStatusMarked    = "crm.seed_status_marked"
	CRMSeedStatusCleared   = "crm.seed_status_cleared"
	// The newsletter, in no user's trail: a subscription confirmed or
	// unsubscribed by its subscriber, a subscriber deleted and the
	// subscribers exported (the administrator as actor).
	NewsletterConfirmed         = "newsletter.confirmed"
	NewsletterUnsubscribed      = "newsletter.unsubscribed"
	NewsletterSubscriberDeleted = "newsletter.subscriber_deleted"
	NewsletterExported          = "newsletter.exported"

	// Surveys: created, changed, deleted (in no user's trail; the
	// administrator as actor).
	SurveyCreated = "survey.created"
	SurveyUpdated = "survey.updated"
	SurveyDeleted = "survey.deleted"

	// Webhook endpoints made, changed, deleted, their secret rotated, a
	// test event sent, a delivery retried (in no user's trail; the
	// administrator as actor), and an endpoint disabled after days of
	// failures (no actor).
	WebhookEndpointCreated  = "webhook.endpoint_created"
	WebhookEndpointUpdated  = "webhook.endpoint_updated"
	WebhookEndpointDeleted  = "webhook.endpoint_deleted"
	WebhookSecretRotated    = "webhook.secret_rotated"
	WebhookEndpointTested   = "webhook.endpoint_tested"
	WebhookEndpointDisabled = "webhook.endpoint_disabled"
	WebhookDeliveryRetried  = "webhook.delivery_retried"

	// The OpenID Provider: clients made and deleted (the administrator as
	// actor); in the user's trail, a consent given or revoked, a code
	// issued to a client (grant), a request refused (the user declined, or
	// prompt=none could not pass), tokens issued for a code, a token
	// revoked (RFC 7009, end_session, a deleted consent), a code presented
	// again after its exchange and a spent refresh token reused (both
	// revoke the grant).
	OAuthClientCreated  = "oauth.client_created"
	OAuthClientDeleted  = "oauth.client_deleted"
	OAuthConsentGiven   = "oauth.consent_given"
	OAuthConsentRevoked = "oauth.consent_revoked"
	OAuthAuthorized     = "oauth.authorized"
	OAuthRefused        = "oauth.refused"
	OAuthTokenIssued    = "oauth.token_issued"
	OAuthTokenRevoked   = "oauth.token_revoked"
	OAuthCodeReplayed   = "oauth.code_replayed"
	OAuthRefreshReuse   = "oauth.refresh_reuse"

	// Synchronizations read or run for an application, in the owner's trail.
	SynchronizationTokenRevealed = "synchronization.token_revealed"
	SynchronizationRunRequested  = "synchronization.run_requested"
)

// Event is one entry of the trail. UserID is the user it belongs to ("" for
// an anonymous event, such as a failed log-in for an unknown identifier).
type Event struct {
	UserID string
	// APIKeyID is the API key that acted; Record takes it from the
	// context's actor when it is empty, so that everything a key does names
	// it.
	APIKeyID string
	// ActorUserID is the user who acted when that is not UserID (an
	// administrator reading what a user stored); Record takes it from the
	// context's actor when that is another user.
	ActorUserID string
	// ClientID is the user's client profile for what they do with items;
	// the entry goes with the profile.
	ClientID   string
	Action     string
	TargetType string
	TargetID   string
	IP         string
	UserAgent  string
	Metadata   map[string]any
}

// Record appends e to the trail within tx.
func Record(ctx context.Context, tx *sqldb.Tx, e Event) error {
	return RecordAll(ctx, tx, []Event{Completed(userd.ActorFrom(ctx), e)})
}

// Completed returns e as Record completes it from a context whose actor is
// a, for RecordAll.
func Completed(a userd.Actor, e Event) Event {
	if e.APIKeyID == "" {
		e.APIKeyID = a.APIKeyID
	}
	if e.ActorUserID == "" && a.UserID != e.UserID {
		e.ActorUserID = a.UserID
	}
	if e.ActorUserID == e.UserID {
		e.ActorUserID = ""
	}
	return e
}

// RecordAll appends events to the trail within tx, a statement per
// eventsAtOnce, as they are: each Completed by its own actor, not by the
// context's (events that many callers share a transaction for). The
// webhook events of the catalogue that they make go to the outbox in the
// same transaction.
func RecordAll(ctx context.Context, tx *sqldb.Tx, events []Event) error {
	if err := outbox.EmitAll(ctx, tx, webhookEvents(events)); err != nil {
		return fmt.Errorf("audit %s: %w", events[0].Action, err)
	}
	for chunk := range slices.Chunk(events, eventsAtOnce) {
		rows := make([][]any, 0, len(chunk))
		for _, e := range chunk {
			meta := []byte("{}")
			if len(e.Metadata) > 0 {
				var err error
				if meta, err = json.Marshal(e.Metadata); err != nil {
					return fmt.Errorf("audit %s: metadata: %w", e.Action, err)
				}
			}
			rows = append(rows, []any{userd.NewID(tx.Now), sqldb.Nullable(e.UserID), sqldb.Nullable(e.APIKeyID), sqldb.Nullable(e.ActorUserID), sqldb.Nullable(e.ClientID),
				e.Action, sqldb.Nullable(e.TargetType), sqldb.Nullable(e.TargetID), sqldb.Nullable(e.IP), sqldb.Nullable(e.UserAgent), string(meta), tx.Now})
		}
		values, args := sqldb.Rows(tx, 1, eventTypes, rows)
		_, err := tx.Exec(ctx, `INSERT INTO activity_logs (id, user_id, actor_api_key_id, actor_user_id, client_id, action, target_type, target_id, ip, user_agent, metadata, created_at)
			`+values, args...)
		if err != nil {
			return fmt.Errorf("audit %s: %w", chunk[0].Action, err)
		}
	}
	return nil
}

// eventsAtOnce is how many events RecordAll writes a statement: SQLite
// binds parameters in quadratic time.
const eventsAtOnce = 50

// eventTypes are the types of the columns of activity_logs that RecordAll
// writes, in its statement's order.
var eventTypes = []string{"uuid", "uuid", "uuid", "uuid", "uuid", "text", "text", "text", "text", "text", "jsonb", "timestamptz"}

// Entry is a recorded event.
type Entry struct {
	ID       string
	UserID   string
	APIKeyID string // the API key that acted, if one did
	// ActorUserID is the user who acted, when not UserID.
	ActorUserID string
	ClientID    string
	Action      string
	TargetType  string
	TargetID    string
	IP          string
	UserAgent   string
	Metadata    json.RawMessage
	CreatedAt   time.Time
}

// Filter narrows List; zero fields do not filter.
type Filter struct {
	UserID     string // the user the entry belongs to (the actor)
	Action     string // an exact action, or a prefix ending in '.' ("auth.")
	TargetType string // with TargetID: what was acted on
	TargetID   string
	Since      time.Time // created at or after
	Until      time.Time // created before
}

// List returns up to limit entries that match f, newest first, older than
// the entry beforeID ("" for the first page).
func List(ctx context.Context, tx *sqldb.Tx, f Filter, beforeID string, limit int) ([]Entry, error) {
	where := []string{"id < $1"}
	args := []any{sqldb.Before(beforeID)}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	switch {
	case strings.HasSuffix(f.Action, "."):
		add("substr(action, 1, "+strconv.Itoa(len(f.Action))+") = ?", f.Action)
	case f.Action != "":
		add("action = ?", f.Action)
	}
	if f.TargetType != "" {
		add("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if !f.Since.IsZero() {
		add("created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("created_at < ?", f.Until.UTC())
	}
	args = append(args, limit)
	rows, err := tx.Query(ctx, `SELECT id, user_id, actor_api_key_id, actor_user_id, client_id, action, target_type, target_id, ip, user_agent, metadata, created_at
		FROM activity_logs WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list activity: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var user, key, actor, client, ttype, tid, ip, ua sql.NullString
		var meta []byte
		if err := rows.Scan(&e.ID, &user, &key, &actor, &client, &e.Action, &ttype, &tid, &ip, &ua, &meta, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("list activity: %w", err)
		}
		e.UserID, e.APIKeyID, e.ActorUserID, e.ClientID, e.TargetType, e.TargetID, e.IP, e.UserAgent = user.String, key.String, actor.String, client.String, ttype.String, tid.String, ip.String, ua.String
		e.Metadata, e.CreatedAt = json.RawMessage(meta), e.CreatedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ListOwn lists the actor's own trail, newest first, after the entry with id
// before, in a transaction of their own; entries that another acted in
// (an application's key, an administrator) come without that one's address
// and user agent.
func ListOwn(ctx context.Context, db *sqldb.DB, a userd.Actor, before string, limit int) (out []Entry, err error) {
	err = db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		out, err = List(ctx, tx, Filter{UserID: a.UserID}, before, limit)
		return err
	})
	// What someone else did in the user's trail names them, but where they
	// were is theirs: the user does not see another's address or agent.
	for i, e := range out {
		if e.APIKeyID != "" || e.ActorUserID != "" {
			out[i].IP, out[i].UserAgent = "", ""
		}
	}
	return out, err
}
