package organization

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	mailer "github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// Invitation is a row of organization_invitations, without its token.
// InvitedBy is empty once the inviting user is deleted.
type Invitation struct {
	ID, OrganizationID, Email, Role, InvitedBy string
	CreatedAt, ExpiresAt                       time.Time
	AcceptedAt                                 *time.Time
}

const invitationColumns = `id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at`

func scanInvitation(row sqldb.Scanner) (Invitation, error) {
	var i Invitation
	var by sql.NullString
	var accepted sql.NullTime
	err := row.Scan(&i.ID, &i.OrganizationID, &i.Email, &i.Role, &by, &i.CreatedAt, &i.ExpiresAt, &accepted)
	i.InvitedBy, i.AcceptedAt = by.String, sqldb.TimeOf(accepted)
	i.CreatedAt, i.ExpiresAt = i.CreatedAt.UTC(), i.ExpiresAt.UTC()
	return i, err
}

// Invite invites email into an organisation with role, for InvitationTTL:
// it stores the token's hash and mails the token in a link to
// {PublicURL}/accept-invitation?token=… once the transaction, which
// records audit.OrganizationInvitationSent, commits. Admins invite admins
// and members, owners anyone. A user sends at most Deps.Invitations
// invitations, and an organisation has at most MaxPendingInvitations
// pending. It returns a validation error, ErrNotFound, ErrForbidden,
// ErrTooManyInvitations and a *ratelimit.Error.
func (s *Service) Invite(ctx context.Context, a userd.Actor, c userd.Client, id, email, role string) (inv Invitation, err error) {
	if err := checkRole(role); err != nil {
		return inv, err
	}
	addr, perr := mail.ParseAddress(email)
	if perr != nil || addr.Address != email || len(email) > 254 {
		return inv, userd.Invalid([]userd.FieldError{{Field: "email", Code: "invalid_email", Message: "An email address such as ann@example.com."}})
	}
	tok, hash := token.New(InvitationPrefix)
	err = s.write(ctx, a, id, Invite, func(tx *sqldb.Tx, id, mine string) error {
		if !mayManage(mine, role) {
			return ErrForbidden
		}
		o, err := get(ctx, tx, id, a.UserID)
		if err != nil {
			return err
		}
		if err := s.checkInvitations(ctx, tx, a, id); err != nil {
			return err
		}
		inv, err = scanInvitation(tx.QueryRow(ctx, `INSERT INTO organization_invitations (id, organization_id, email, role, token_hash, invited_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+invitationColumns,
			userd.NewID(tx.Now), id, email, role, hash, a.UserID, tx.Now, tx.Now.Add(InvitationTTL)))
		if err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		if err := s.deps.Mail(ctx, tx, invitationMail(s.deps.PublicURL, email, o.Name, role, tok)); err != nil {
			return fmt.Errorf("invitation mail: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.OrganizationInvitationSent, TargetType: "organization", TargetID: id,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"invitation_id": inv.ID, "email": email, "role": role}})
	})
	return inv, err
}

// checkInvitations counts an invitation against the actor's
// Deps.Invitations, and returns ErrTooManyInvitations when the organisation,
// whose row the caller holds locked, has MaxPendingInvitations pending.
func (s *Service) checkInvitations(ctx context.Context, tx *sqldb.Tx, a userd.Actor, orgID string) error {
	var pending int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM organization_invitations WHERE organization_id = $1 AND accepted_at IS NULL AND expires_at > $2`,
		orgID, tx.Now).Scan(&pending); err != nil {
		return fmt.Errorf("count pending invitations: %w", err)
	}
	if pending >= MaxPendingInvitations {
		return ErrTooManyInvitations
	}
	return s.deps.Limiter.HitIn(ctx, tx, "invitation:"+a.UserID, s.deps.Invitations)
}

// invitationMail is the mail that carries an invitation's token, in a link
// to {publicURL}/accept-invitation?token=…. Its subject names the site, not
// the organisation, whose name is its members' choice.
func invitationMail(publicURL, to, org, role, tok string) mailer.Message {
	site := publicURL
	if u, err := url.Parse(publicURL); err == nil && u.Host != "" {
		site = u.Host
	}
	link := strings.TrimSuffix(publicURL, "/") + "/accept-invitation?token=" + url.QueryEscape(tok)
	return mailer.Message{To: to, Subject: "You are invited to join an organisation on " + site,
		Text: "You are invited to join " + org + " as " + role + ".\n\nAccept within 7 days: " + link + "\n",
		HTML: "<p>You are invited to join " + html.EscapeString(org) + " as " + role + ".</p>\n<p><a href=\"" + html.EscapeString(link) +
			"\">Accept the invitation</a> within 7 days.</p>\n"}
}

// Invitations returns up to limit invitations of an organisation (an
// owner's or an admin's), newest first, after the one with id before,
// accepted and expired ones included. It returns ErrNotFound and
// ErrForbidden.
func (s *Service) Invitations(ctx context.Context, a userd.Actor, id, before string, limit int) (out []Invitation, err error) {
	err = s.read(ctx, a, id, Invite, func(tx *sqldb.Tx, id, _ string) (err error) {
		out, err = sqldb.All(ctx, tx, scanInvitation, `SELECT `+invitationColumns+` FROM organization_invitations
			WHERE organization_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, id, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list invitations: %w", err)
		}
		return nil
	})
	return out, err
}

// Revoke deletes a pending invitation of an organisation (an owner's or an
// admin's), in a transaction that records
// audit.OrganizationInvitationRevoked. It returns ErrNotFound,
// ErrForbidden, and ErrInvitationUnknown also for an accepted invitation,
// which stays listed as its member's record.
func (s *Service) Revoke(ctx context.Context, a userd.Actor, c userd.Client, id, invitationID string) error {
	return s.write(ctx, a, id, Invite, func(tx *sqldb.Tx, id, _ string) error {
		invID, ok := userd.ParseID(invitationID)
		if !ok {
			return ErrInvitationUnknown
		}
		inv, err := sqldb.One(ctx, tx, ErrInvitationUnknown, "revoke invitation", scanInvitation, `DELETE FROM organization_invitations
			WHERE id = $1 AND organization_id = $2 AND accepted_at IS NULL RETURNING `+invitationColumns, invID, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.OrganizationInvitationRevoked, TargetType: "organization", TargetID: id,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"invitation_id": inv.ID, "email": inv.Email, "role": inv.Role}})
	})
}

// Accept makes the actor a member with the invitation's role, once: the
// invitation is marked accepted in the same transaction, which records
// audit.OrganizationInvitationAccepted and audit.OrganizationMemberAdded.
// The actor's verified email must be the invitation's (ASCII letter case
// aside),
// and its inviter must still be a member whose role may invite with its
// role: an invitation of an owner removed or demoted since, or of a deleted
// user, no longer works. It returns ErrInvalidInvitation for an unknown,
// used or expired token and for such an invitation,
// ErrEmailMismatch, ErrAlreadyMember and ErrLimit; on any of them the
// invitation stays as it was.
func (s *Service) Accept(ctx context.Context, a userd.Actor, c userd.Client, tok string) (o Org, err error) {
	hash, ok := token.Parse(InvitationPrefix, tok)
	if !ok {
		return o, ErrInvalidInvitation
	}
	// System: the invitation is not the user's until it is accepted.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		// The organisation's row first, as every change of its membership
		// and its invitations takes it first (a revocation, a deletion):
		// then spending the invitation puts concurrent acceptances in line,
		// and the second finds it accepted.
		orgID, err := sqldb.One(ctx, tx, ErrInvalidInvitation, "find invitation", sqldb.ScanString,
			`SELECT organization_id FROM organization_invitations WHERE token_hash = $1`, hash)
		if err != nil {
			return err
		}
		found, err := tx.LockRow(ctx, "organizations", "id", orgID)
		if err != nil {
			return fmt.Errorf("lock organization: %w", err)
		}
		if !found {
			return ErrInvalidInvitation
		}
		inv, err := sqldb.One(ctx, tx, ErrInvalidInvitation, "accept invitation", scanInvitation, `UPDATE organization_invitations SET accepted_at = $1
			WHERE token_hash = $2 AND accepted_at IS NULL AND expires_at > $1 RETURNING `+invitationColumns, tx.Now, hash)
		if err != nil {
			return err
		}
		if err := stillInvites(ctx, tx, inv); err != nil {
			return err
		}
		u, err := account.Get(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if u.Email == nil || u.EmailVerifiedAt == nil || !sameEmail(*u.Email, inv.Email) {
			return ErrEmailMismatch
		}
		if err := s.checkLimit(ctx, tx, a.UserID); err != nil {
			return err
		}
		if _, err := RoleOf(ctx, tx, inv.OrganizationID, a.UserID); !errors.Is(err, ErrNotFound) {
			if err == nil {
				return ErrAlreadyMember
			}
			return err
		}
		if err := addMember(ctx, tx, inv.OrganizationID, a.UserID, inv.Role); err != nil {
			return err
		}
		meta := map[string]any{"invitation_id": inv.ID, "role": inv.Role}
		for _, action := range []string{audit.OrganizationInvitationAccepted, audit.OrganizationMemberAdded} {
			if err := audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: action, TargetType: "organization", TargetID: inv.OrganizationID,
				IP: c.IP, UserAgent: c.UserAgent, Metadata: meta}); err != nil {
				return err
			}
		}
		o, err = get(ctx, tx, inv.OrganizationID, a.UserID)
		return err
	})
	return o, err
}

// sameEmail reports whether two addresses are one: equal, or equal once
// lower-cased when both are ASCII. Unicode's case folding would match
// other letters (ſ is s, the Kelvin sign is k).
func sameEmail(a, b string) bool {
	return a == b || ascii(a) && ascii(b) && strings.ToLower(a) == strings.ToLower(b)
}

// ascii reports whether s has only ASCII characters.
func ascii(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII })
}

// stillInvites returns ErrInvalidInvitation unless the invitation's inviter
// is still a member of its organisation with a role that may give its role.
func stillInvites(ctx context.Context, tx *sqldb.Tx, inv Invitation) error {
	if inv.InvitedBy == "" {
		return ErrInvalidInvitation
	}
	role, err := RoleOf(ctx, tx, inv.OrganizationID, inv.InvitedBy)
	if errors.Is(err, ErrNotFound) || err == nil && !(may(role, Invite) && mayManage(role, inv.Role)) {
		return ErrInvalidInvitation
	}
	return err
}

// KeepExpired is how long an invitation stays listed after it expired
// (used or not), so that its inviters see that it lapsed.
const KeepExpired = 30 * 24 * time.Hour

// Expire deletes the invitations that expired more than KeepExpired before
// now.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM organization_invitations WHERE expires_at < $1`, now.Add(-KeepExpired))
}
