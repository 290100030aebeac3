package organization

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

const memberColumns = `organization_id, user_id, role, joined_at`

func scanMember(row sqldb.Scanner) (Member, error) {
	var m Member
	err := row.Scan(&m.OrganizationID, &m.UserID, &m.Role, &m.JoinedAt)
	m.JoinedAt = m.JoinedAt.UTC()
	return m, err
}

// Members returns up to limit members of an organisation of the actor's,
// by user id descending, after the member with user id before ("" for the
// first page). It returns ErrNotFound.
func (s *Service) Members(ctx context.Context, a userd.Actor, id, before string, limit int) (ms []Member, err error) {
	err = s.read(ctx, a, id, Read, func(tx *sqldb.Tx, id, _ string) (err error) {
		ms, err = sqldb.All(ctx, tx, scanMember, `SELECT `+memberColumns+` FROM organization_members
			WHERE organization_id = $1 AND user_id < $2 ORDER BY user_id DESC LIMIT $3`, id, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		return nil
	})
	return ms, err
}

// member reads a member of the organisation, or ErrMemberNotFound.
func member(ctx context.Context, tx *sqldb.Tx, orgID, userID string) (Member, error) {
	id, ok := userd.ParseID(userID)
	if !ok {
		return Member{}, ErrMemberNotFound
	}
	return sqldb.One(ctx, tx, ErrMemberNotFound, "read member", scanMember,
		`SELECT `+memberColumns+` FROM organization_members WHERE organization_id = $1 AND user_id = $2`, orgID, id)
}

// keepsOwner returns ErrLastOwner when the organisation has no owner left;
// its caller holds the organisation's row locked and rolls back on it.
func keepsOwner(ctx context.Context, tx *sqldb.Tx, orgID string) error {
	var owners int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM organization_members WHERE organization_id = $1 AND role = $2`, orgID, RoleOwner).Scan(&owners); err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if owners == 0 {
		return ErrLastOwner
	}
	return nil
}

// mayManage reports whether a member of role may change or remove a member
// of role target, or give the role to: owners are an owner's to manage.
func mayManage(role string, roles ...string) bool {
	if slices.Contains(roles, RoleOwner) {
		return may(role, ManageOwners)
	}
	return may(role, ManageMembers)
}

// checkRole returns the field error of a role that is not one of Roles.
func checkRole(role string) error {
	if slices.Contains(Roles, role) {
		return nil
	}
	return userd.Invalid([]userd.FieldError{{Field: "role", Code: "invalid_role", Message: "The role is owner, admin or member."}})
}

// SetRole gives a member another role, in a transaction that records
// audit.OrganizationRoleChanged in the member's trail. An admin manages
// admins and members; owners are an owner's. It returns a validation error
// for an unknown role, ErrNotFound, ErrMemberNotFound, ErrForbidden, and
// ErrLastOwner when the organisation would be left without an owner.
func (s *Service) SetRole(ctx context.Context, a userd.Actor, c userd.Client, id, userID, role string) (m Member, err error) {
	if err := checkRole(role); err != nil {
		return m, err
	}
	err = s.write(ctx, a, id, Read, func(tx *sqldb.Tx, id, mine string) error {
		if m, err = member(ctx, tx, id, userID); err != nil {
			return err
		}
		if !mayManage(mine, m.Role, role) {
			return ErrForbidden
		}
		from := m.Role
		if m, err = sqldb.One(ctx, tx, ErrMemberNotFound, "change role", scanMember, `UPDATE organization_members SET role = $1
			WHERE organization_id = $2 AND user_id = $3 RETURNING `+memberColumns, role, id, m.UserID); err != nil {
			return err
		}
		if err := keepsOwner(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: m.UserID, ActorUserID: a.UserID, Action: audit.OrganizationRoleChanged, TargetType: "organization",
			TargetID: id, IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"from": from, "to": role}})
	})
	return m, err
}

// Remove takes a member out of an organisation, in a transaction that
// records audit.OrganizationMemberRemoved in the member's trail; they lose
// the roles of its plans at once. Anyone may remove themself (leave); an
// admin removes admins and members, an owner anyone. It returns
// ErrNotFound, ErrMemberNotFound, ErrForbidden and ErrLastOwner.
func (s *Service) Remove(ctx context.Context, a userd.Actor, c userd.Client, id, userID string) error {
	return s.write(ctx, a, id, Read, func(tx *sqldb.Tx, id, mine string) error {
		m, err := member(ctx, tx, id, userID)
		if err != nil {
			return err
		}
		if m.UserID != a.UserID && !mayManage(mine, m.Role) {
			return ErrForbidden
		}
		if _, err := tx.Exec(ctx, `DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2`, id, m.UserID); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		forgetGrants(tx, id)
		if err := keepsOwner(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: m.UserID, ActorUserID: a.UserID, Action: audit.OrganizationMemberRemoved, TargetType: "organization",
			TargetID: id, IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"role": m.Role}})
	})
}

// Transfer hands an owner's ownership to another member: they become an
// owner, the actor an admin, in a transaction that records
// audit.OrganizationOwnershipTransferred in the new owner's trail and
// audit.OrganizationRoleChanged in the actor's. It returns ErrNotFound,
// ErrForbidden, ErrMemberNotFound (also for the actor themself, and for a
// member deleted meanwhile) and ErrLastOwner.
func (s *Service) Transfer(ctx context.Context, a userd.Actor, c userd.Client, id, userID string) (m Member, err error) {
	err = s.write(ctx, a, id, Transfer, func(tx *sqldb.Tx, id, _ string) error {
		if m, err = member(ctx, tx, id, userID); err != nil {
			return err
		}
		if m.UserID == a.UserID {
			return ErrMemberNotFound
		}
		res, err := tx.Exec(ctx, `UPDATE organization_members SET role = CASE user_id WHEN $1 THEN $2 ELSE $3 END
			WHERE organization_id = $4 AND user_id IN ($1, $5)`, m.UserID, RoleOwner, RoleAdmin, id, a.UserID)
		if err != nil {
			return fmt.Errorf("transfer ownership: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("transfer ownership: %w", err)
		}
		if n != 2 {
			return ErrMemberNotFound // the new owner left meanwhile
		}
		if err := keepsOwner(ctx, tx, id); err != nil {
			return err
		}
		m.Role = RoleOwner
		if err := audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.OrganizationRoleChanged, TargetType: "organization", TargetID: id,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"from": RoleOwner, "to": RoleAdmin, "reason": "ownership_transferred"}}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: m.UserID, ActorUserID: a.UserID, Action: audit.OrganizationOwnershipTransferred,
			TargetType: "organization", TargetID: id, IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"from": a.UserID}})
	})
	return m, err
}

// Forget takes a user out of their organisations before their deletion, in
// the caller's system-scoped transaction, which holds the user's row locked
// (lifecycle.DeleteUser): an organisation where they are the only member is
// deleted, recorded as audit.OrganizationDeleted in no one's trail (its
// teams that have members of their own stay, without a parent); one where they are the only owner passes to its
// longest-standing admin, else its longest-standing member, recorded as
// audit.OrganizationOwnershipTransferred in the new owner's trail. Their
// memberships themselves go with the user's row.
//
// It first locks every organisation the user belongs to, in the order of
// their ids, so that what it reads of them stays true: a member leaving or
// being deleted at the same time waits, or has left already.
func Forget(ctx context.Context, tx *sqldb.Tx, userID string) error {
	ids, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT organization_id FROM organization_members WHERE user_id = $1 ORDER BY organization_id`, userID)
	if err != nil {
		return fmt.Errorf("list memberships: %w", err)
	}
	for _, id := range ids {
		if _, err := tx.LockRow(ctx, "organizations", "id", id); err != nil {
			return fmt.Errorf("lock organization: %w", err)
		}
	}
	const alone = `SELECT m.organization_id FROM organization_members m WHERE m.user_id = $1
		AND NOT EXISTS (SELECT 1 FROM organization_members o WHERE o.organization_id = m.organization_id AND o.user_id <> $1)`
	if _, err := tx.Exec(ctx, `UPDATE organizations SET parent_id = NULL, updated_at = $2
		WHERE parent_id IN (`+alone+`) AND id NOT IN (`+alone+`)`, userID, tx.Now); err != nil {
		return fmt.Errorf("detach teams: %w", err)
	}
	// Teams first, so that each organisation is deleted, and recorded, once.
	lone, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT id FROM organizations WHERE id IN (`+alone+`) ORDER BY parent_id IS NULL, id`, userID)
	if err != nil {
		return fmt.Errorf("list organizations of one member: %w", err)
	}
	for _, id := range lone {
		if err := deleteOrg(ctx, tx, id, audit.Event{Metadata: map[string]any{"reason": "last_member_deleted"}}); err != nil {
			return err
		}
	}
	owned, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT organization_id FROM organization_members WHERE user_id = $1 AND role = $2 ORDER BY organization_id`, userID, RoleOwner)
	if err != nil {
		return fmt.Errorf("list owned organizations: %w", err)
	}
	for _, id := range owned {
		if err := succeed(ctx, tx, id, userID); err != nil {
			return err
		}
	}
	return nil
}

// succeed makes the longest-standing admin, else member, of an
// organisation its owner when the leaving owner is its only one. Forget
// holds the organisation's row locked and deleted it if it had no other
// member.
func succeed(ctx context.Context, tx *sqldb.Tx, orgID, leaving string) error {
	var others int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM organization_members WHERE organization_id = $1 AND role = $2 AND user_id <> $3`,
		orgID, RoleOwner, leaving).Scan(&others); err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if others > 0 {
		return nil
	}
	next, err := sqldb.One(ctx, tx, errNoSuccessor, "choose successor", scanMember, `SELECT `+memberColumns+` FROM organization_members
		WHERE organization_id = $1 AND user_id <> $2 ORDER BY CASE role WHEN $3 THEN 0 ELSE 1 END, joined_at, user_id LIMIT 1`, orgID, leaving, RoleAdmin)
	if err != nil {
		return err
	}
	if err := tx.ExecOne(ctx, errNoSuccessor, `UPDATE organization_members SET role = $1 WHERE organization_id = $2 AND user_id = $3`,
		RoleOwner, orgID, next.UserID); err != nil {
		return fmt.Errorf("promote successor: %w", err)
	}
	if err := keepsOwner(ctx, tx, orgID); err != nil {
		return err
	}
	return audit.Record(ctx, tx, audit.Event{UserID: next.UserID, Action: audit.OrganizationOwnershipTransferred, TargetType: "organization", TargetID: orgID,
		Metadata: map[string]any{"from": leaving, "reason": "owner_deleted", "previous_role": next.Role}})
}

// errNoSuccessor says that an organisation that Forget did not delete has
// no member left to succeed its owner: its lock failed to keep them.
var errNoSuccessor = errors.New("organization: no successor")
