// Package organization owns organizations, organization_members and
// organization_invitations: businesses and teams (a team may belong to a
// business), their members with the roles owner, admin and member, and the
// invitations that bring members in by mail.
//
// Who may do what is the table Rules. A user who is not a member of an
// organisation gets ErrNotFound for everything of it, as if it did not
// exist. An organisation always keeps an owner: every change of membership
// locks the organisation's row first, so that concurrent demotions and
// departures are put in line and the last of them sees the owners that the
// others left (ErrLastOwner).
//
// Writes cross users (a member's row is another user's), so they run in
// system-scoped transactions with the rules checked here; reads run in the
// caller's scope, where PostgreSQL's row-level security shows a member only
// the organisations they belong to.
package organization

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/sqldb"
)

// The kinds of organisation.
const (
	Business = "business"
	Team     = "team"
)

// The roles of a member.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Roles are the roles of a member, strongest first.
var Roles = []string{RoleOwner, RoleAdmin, RoleMember}

// Action is what a member does to an organisation.
type Action string

// The actions of Rules.
const (
	Read          Action = "read"           // the organisation, its members
	EditProfile   Action = "edit_profile"   // name, slug, metadata
	ManageMembers Action = "manage_members" // roles and removal of admins and members; invitations as admin or member
	ManageOwners  Action = "manage_owners"  // make, unmake and remove owners; invitations as owner
	Invite        Action = "invite"         // list, send and revoke invitations
	Delete        Action = "delete"         // the organisation, with its teams
	Transfer      Action = "transfer"       // hand ownership to another member
	ReadBilling   Action = "read_billing"   // the provider's ids, metadata and history of its subscription
)

// Rules is who may do what: a role's actions. Anyone may leave (remove
// themself), within the last-owner rule.
var Rules = map[string][]Action{
	RoleOwner:  {Read, EditProfile, ManageMembers, ManageOwners, Invite, Delete, Transfer, ReadBilling},
	RoleAdmin:  {Read, EditProfile, ManageMembers, Invite, ReadBilling},
	RoleMember: {Read},
}

// may reports whether role may take action.
func may(role string, action Action) bool { return slices.Contains(Rules[role], action) }

// Bounds.
const (
	MaxName     = 200      // the longest name, in characters
	MaxMetadata = 16 << 10 // the largest metadata, in bytes of JSON
	// DefaultMaxPerUser is how many organisations a user may belong to
	// unless the operator says otherwise (--max-organizations-per-user).
	DefaultMaxPerUser = 100
	// InvitationTTL is how long an invitation may be accepted.
	InvitationTTL = 7 * 24 * time.Hour
	// InvitationPrefix starts every invitation token.
	InvitationPrefix = "udi_"
	// MaxPendingInvitations bounds an organisation's invitations that may
	// still be accepted.
	MaxPendingInvitations = 100
)

// DefaultInvitationLimit is how many invitations one user may send,
// whatever the organisations, unless the operator sets another limit: each
// mails an address of the inviter's choosing.
var DefaultInvitationLimit = ratelimit.Rule{Max: 20, Window: time.Hour}

// Errors of the Service.
var (
	ErrNotFound          = userd.Errorf(userd.KindNotFound, "organization_not_found", "No such organization.")
	ErrMemberNotFound    = userd.Errorf(userd.KindNotFound, "member_not_found", "No such member of the organization.")
	ErrInvitationUnknown = userd.Errorf(userd.KindNotFound, "invitation_not_found", "No such invitation.")
	// ErrInvalidInvitation answers a token that is unknown, used or expired.
	ErrInvalidInvitation = userd.Errorf(userd.KindNotFound, "invalid_invitation", "The invitation is unknown, used or expired.")
	ErrEmailMismatch     = userd.Errorf(userd.KindForbidden, "invitation_email_mismatch", "The invitation is for another email address than your verified one.")
	ErrForbidden         = userd.Errorf(userd.KindForbidden, "organization_role_required", "Your role in the organization does not allow this.")
	ErrLastOwner         = userd.Errorf(userd.KindConflict, "last_owner", "An organization keeps at least one owner: make another member owner first.")
	ErrSlugTaken         = userd.Errorf(userd.KindConflict, "slug_taken", "Another organization has this slug.")
	ErrAlreadyMember     = userd.Errorf(userd.KindConflict, "already_member", "You are a member of the organization already.")
	ErrLimit             = userd.Errorf(userd.KindConflict, "organization_limit", "You belong to as many organizations as a user may.")
	// ErrTooManyInvitations answers an invitation to an organisation that
	// has MaxPendingInvitations pending.
	ErrTooManyInvitations = userd.Errorf(userd.KindConflict, "too_many_invitations", "The organization has as many pending invitations as it may: revoke some first.")
)

// Org is an organisation as a member sees it: Role and JoinedAt are the
// member's. ParentID and CreatedBy are empty when there is none.
type Org struct {
	ID, Kind, Name, Slug string
	ParentID, CreatedBy  string
	Metadata             map[string]any
	CreatedAt, UpdatedAt time.Time
	Role                 string
	JoinedAt             time.Time
}

// Member is a row of organization_members.
type Member struct {
	OrganizationID, UserID, Role string
	JoinedAt                     time.Time
}

// Deps are what a Service works with.
type Deps struct {
	// MaxPerUser bounds a user's memberships (DefaultMaxPerUser when 0).
	MaxPerUser int
	// PublicURL starts the link of an invitation's mail.
	PublicURL string
	// Mail queues a mail in the transaction that decides to send it, to
	// leave once it commits (mailq.Service.Queuer); nil sends nothing.
	Mail func(ctx context.Context, tx *sqldb.Tx, m mail.Message) error
	// Limiter counts Invitations; nil limits nothing.
	Limiter *ratelimit.Limiter
	// Invitations is how many invitations one user may send
	// (DefaultInvitationLimit when zero).
	Invitations ratelimit.Rule
}

// Service serves organisations, their members and invitations.
type Service struct {
	db   *sqldb.DB
	deps Deps
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, d Deps) *Service {
	if d.MaxPerUser <= 0 {
		d.MaxPerUser = DefaultMaxPerUser
	}
	if d.Mail == nil {
		d.Mail = func(context.Context, *sqldb.Tx, mail.Message) error { return nil }
	}
	if d.Invitations.Max == 0 {
		d.Invitations = DefaultInvitationLimit
	}
	return &Service{db: db, deps: d}
}

// ownColumns are the organisation's own columns of an Org, read from
// organizations o.
const ownColumns = `o.id, o.kind, o.name, o.slug, o.parent_id, o.created_by, o.metadata, o.created_at, o.updated_at`

// orgColumns are the columns of an Org, read from organizations o joined
// with the member's row m.
const orgColumns = ownColumns + `, m.role, m.joined_at`

func scanOrg(row sqldb.Scanner) (Org, error) {
	var o Org
	err := scanOrgInto(row, &o, &o.Role, &o.JoinedAt)
	return o, err
}

// scanOrgInto scans ownColumns into o, then the columns that follow them
// into more.
func scanOrgInto(row sqldb.Scanner, o *Org, more ...any) error {
	var parent, by sql.NullString
	var meta []byte
	if err := row.Scan(append([]any{&o.ID, &o.Kind, &o.Name, &o.Slug, &parent, &by, &meta, &o.CreatedAt, &o.UpdatedAt}, more...)...); err != nil {
		return err
	}
	o.ParentID, o.CreatedBy = parent.String, by.String
	o.CreatedAt, o.UpdatedAt, o.JoinedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC(), o.JoinedAt.UTC()
	if err := json.Unmarshal(meta, &o.Metadata); err != nil {
		return fmt.Errorf("organization metadata: %w", err)
	}
	return nil
}

// slugPattern is a slug: 3 to 50 lower-case letters, digits and inner
// hyphens.
var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$`)

// nonSlug are the runs of characters a derived slug replaces by a hyphen.
var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugOf returns slug, or when it is empty the slug derived from name:
// lower-cased, each run of other characters than a-z and 0-9 a hyphen,
// cut to 50 characters.
func slugOf(slug, name string) string {
	if slug != "" {
		return slug
	}
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 50 {
		s = strings.TrimRight(s[:50], "-")
	}
	return s
}

// badSlug says what a slug must be.
const badSlug = "A slug has 3 to 50 lower-case letters, digits and hyphens, and starts and ends with a letter or digit."

// Profile is what a member with EditProfile changes: nil fields stay.
type Profile struct {
	Name, Slug *string
	Metadata   map[string]any
}

// checkProfile appends the field errors of a name, a slug and metadata.
func checkProfile(fs []userd.FieldError, name, slug string, meta map[string]any) ([]userd.FieldError, []byte) {
	if strings.TrimSpace(name) == "" {
		fs = append(fs, userd.FieldError{Field: "name", Code: "required", Message: "A name has 1 to " + strconv.Itoa(MaxName) + " characters."})
	}
	fs = userd.CheckText(fs, "name", name, MaxName)
	if !slugPattern.MatchString(slug) {
		fs = append(fs, userd.FieldError{Field: "slug", Code: "invalid_slug", Message: badSlug})
	}
	if meta == nil {
		meta = map[string]any{}
	}
	b, err := json.Marshal(meta)
	if err != nil || len(b) > MaxMetadata {
		fs = append(fs, userd.FieldError{Field: "metadata", Code: "invalid_metadata", Message: "Metadata is a JSON object of at most 16 KiB."})
	}
	return fs, b
}

// slugErr maps a violation of the slug's unique index to ErrSlugTaken.
func slugErr(err error, what string) error {
	if sqldb.Violated(err, sqldb.Unique, "idx_organizations_slug") {
		return ErrSlugTaken
	}
	return fmt.Errorf("%s: %w", what, err)
}

// RoleOf returns the user's role in the organisation, in the caller's
// transaction, or ErrNotFound when they are not a member (or the id is not
// one).
func RoleOf(ctx context.Context, tx *sqldb.Tx, orgID, userID string) (string, error) {
	var role string
	err := tx.QueryRow(ctx, `SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2`, orgID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read membership: %w", err)
	}
	return role, nil
}

// read runs fn in a read-only transaction of the actor's own scope once the
// actor is a member of the organisation whose role allows action; it
// returns ErrNotFound for a non-member and ErrForbidden for a role that
// does not allow it.
func (s *Service) read(ctx context.Context, a userd.Actor, orgID string, action Action, fn func(tx *sqldb.Tx, id, role string) error) error {
	id, ok := userd.ParseID(orgID)
	if !ok {
		return ErrNotFound
	}
	return s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		return allowed(ctx, tx, id, a, action, fn)
	})
}

// allowed runs fn with the actor's role in the organisation id when the
// role allows action; it returns ErrNotFound for a non-member and
// ErrForbidden for a role that does not allow it.
func allowed(ctx context.Context, tx *sqldb.Tx, id string, a userd.Actor, action Action, fn func(tx *sqldb.Tx, id, role string) error) error {
	role, err := RoleOf(ctx, tx, id, a.UserID)
	if err != nil {
		return err
	}
	if !may(role, action) {
		return ErrForbidden
	}
	return fn(tx, id, role)
}

// write is read for a change: the transaction is the system's (a change
// touches other members' rows) and holds the organisation's row locked, so
// that changes of membership happen one after the other. A non-member is
// turned away (ErrNotFound) by a read of their own membership before that,
// so that they never wait on, nor hold up, the organisation's lock; the
// role is read again under the lock.
func (s *Service) write(ctx context.Context, a userd.Actor, orgID string, action Action, fn func(tx *sqldb.Tx, id, role string) error) error {
	id, ok := userd.ParseID(orgID)
	if !ok {
		return ErrNotFound
	}
	err := s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		_, err := RoleOf(ctx, tx, id, a.UserID)
		return err
	})
	if err != nil {
		return err
	}
	// System: the organisation's other members' rows; the rules are checked here.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		found, err := tx.LockRow(ctx, "organizations", "id", id)
		if err != nil {
			return fmt.Errorf("lock organization: %w", err)
		}
		if !found {
			return ErrNotFound
		}
		return allowed(ctx, tx, id, a, action, fn)
	})
}

// get reads the organisation as the user's membership shows it.
func get(ctx context.Context, tx *sqldb.Tx, id, userID string) (Org, error) {
	return sqldb.One(ctx, tx, ErrNotFound, "read organization", scanOrg, `SELECT `+orgColumns+`
		FROM organizations o JOIN organization_members m ON m.organization_id = o.id AND m.user_id = $2 WHERE o.id = $1`, id, userID)
}

// checkLimit locks the user's row, so that concurrent joins are counted one
// after the other, and returns ErrLimit when the user belongs to as many
// organisations as Deps.MaxPerUser allows, account.ErrNotFound when the user
// is gone.
func (s *Service) checkLimit(ctx context.Context, tx *sqldb.Tx, userID string) error {
	found, err := tx.LockRow(ctx, "users", "id", userID)
	if err != nil {
		return fmt.Errorf("lock user: %w", err)
	}
	if !found {
		return account.ErrNotFound
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM organization_members WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return fmt.Errorf("count memberships: %w", err)
	}
	if n >= s.deps.MaxPerUser {
		return ErrLimit
	}
	return nil
}
