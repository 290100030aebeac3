package organization

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/platform/sqldb"
)

// New is what a user gives to create an organisation. Slug is derived from
// Name when empty. Only a team has a ParentID: a business of which the
// creator is an owner or an admin.
type New struct {
	Kind, Name, Slug, ParentID string
	Metadata                   map[string]any
}

// Create makes an organisation with the actor as its owner, in a
// transaction that records audit.OrganizationCreated. It returns a
// validation error listing the bad fields (invalid_parent for a parent
// given to a business, or a parent that is a team), ErrNotFound for a
// parent the actor is not a member of, ErrForbidden when they are only a
// member of it, ErrSlugTaken, ErrLimit, and account.ErrNotFound for a user
// deleted meanwhile.
func (s *Service) Create(ctx context.Context, a userd.Actor, c userd.Client, n New) (o Org, err error) {
	n.Slug = slugOf(n.Slug, n.Name)
	fs, meta := checkProfile(nil, n.Name, n.Slug, n.Metadata)
	if !slices.Contains([]string{Business, Team}, n.Kind) {
		fs = append(fs, userd.FieldError{Field: "kind", Code: "invalid_kind", Message: "The kind is business or team."})
	}
	if n.ParentID != "" && n.Kind != Team {
		fs = append(fs, userd.FieldError{Field: "parent_id", Code: "invalid_parent", Message: "Only a team belongs to a business."})
	}
	if err := userd.Invalid(fs); err != nil {
		return o, err
	}
	// System: the organisation's row has no owner until its first member.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := s.checkLimit(ctx, tx, a.UserID); err != nil {
			return err
		}
		if n.ParentID != "" {
			if err := s.checkParent(ctx, tx, a, n.ParentID); err != nil {
				return err
			}
		}
		id := userd.NewID(tx.Now)
		_, err := tx.Exec(ctx, `INSERT INTO organizations (id, kind, name, slug, parent_id, created_by, metadata, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, id, n.Kind, n.Name, n.Slug, sqldb.Nullable(n.ParentID), a.UserID, string(meta), tx.Now)
		if err != nil {
			return slugErr(err, "insert organization")
		}
		if err := addMember(ctx, tx, id, a.UserID, RoleOwner); err != nil {
			return err
		}
		if o, err = get(ctx, tx, id, a.UserID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.OrganizationCreated, TargetType: "organization", TargetID: id,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"kind": o.Kind, "slug": o.Slug}})
	})
	return o, err
}

// checkParent checks that parentID names a business that the actor owns or
// administers.
func (s *Service) checkParent(ctx context.Context, tx *sqldb.Tx, a userd.Actor, parentID string) error {
	id, ok := userd.ParseID(parentID)
	if !ok {
		return ErrNotFound
	}
	parent, err := get(ctx, tx, id, a.UserID)
	if err != nil {
		return err
	}
	if parent.Kind != Business {
		return userd.Invalid([]userd.FieldError{{Field: "parent_id", Code: "invalid_parent", Message: "A team belongs to a business, not to another team."}})
	}
	if !may(parent.Role, ManageMembers) {
		return ErrForbidden
	}
	return nil
}

// addMember inserts a membership. A session of the user's may have the
// organisation active from an earlier membership: its grants are forgotten
// (see forgetGrants).
func addMember(ctx context.Context, tx *sqldb.Tx, orgID, userID, role string) error {
	_, err := tx.Exec(ctx, `INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)`, orgID, userID, role, tx.Now)
	if err != nil {
		return fmt.Errorf("insert member: %w", err)
	}
	forgetGrants(tx, orgID)
	return nil
}

// forgetGrants drops, at the commit, the cached grants of every session
// that has the organisation active: its members hold there the roles of its
// plans (billing.MemberRoles), which a change of its membership gives or
// takes.
func forgetGrants(tx *sqldb.Tx, orgID string) { tx.Invalidate(userd.OrgKey(orgID)) }

// Mine returns up to limit of the organisations the actor belongs to, newest
// first, after the one with id before ("" for the first page), each with the
// actor's role.
func (s *Service) Mine(ctx context.Context, a userd.Actor, before string, limit int) (orgs []Org, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		orgs, err = sqldb.All(ctx, tx, scanOrg, `SELECT `+orgColumns+`
			FROM organization_members m JOIN organizations o ON o.id = m.organization_id
			WHERE m.user_id = $1 AND o.id < $2 ORDER BY o.id DESC LIMIT $3`, a.UserID, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list organizations: %w", err)
		}
		return nil
	})
	return orgs, err
}

// Get returns an organisation of the actor's. It returns ErrNotFound.
func (s *Service) Get(ctx context.Context, a userd.Actor, id string) (o Org, err error) {
	err = s.read(ctx, a, id, Read, func(tx *sqldb.Tx, id, _ string) (err error) {
		o, err = get(ctx, tx, id, a.UserID)
		return err
	})
	return o, err
}

// Update changes an organisation's profile (an owner's or an admin's), in a
// transaction that records audit.OrganizationUpdated. It returns
// ErrNotFound, ErrForbidden, a validation error and ErrSlugTaken.
func (s *Service) Update(ctx context.Context, a userd.Actor, c userd.Client, id string, p Profile) (o Org, err error) {
	err = s.write(ctx, a, id, EditProfile, func(tx *sqldb.Tx, id, _ string) error {
		cur, err := get(ctx, tx, id, a.UserID)
		if err != nil {
			return err
		}
		name, slug, meta := cur.Name, cur.Slug, cur.Metadata
		if p.Name != nil {
			name = *p.Name
		}
		if p.Slug != nil {
			slug = *p.Slug
		}
		if p.Metadata != nil {
			meta = p.Metadata
		}
		fs, metaJSON := checkProfile(nil, name, slug, meta)
		if err := userd.Invalid(fs); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE organizations SET name = $1, slug = $2, metadata = $3, updated_at = $4 WHERE id = $5`,
			name, slug, string(metaJSON), tx.Now, id)
		if err != nil {
			return slugErr(err, "update organization")
		}
		if o, err = get(ctx, tx, id, a.UserID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.OrganizationUpdated, TargetType: "organization", TargetID: id,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"slug": o.Slug}})
	})
	return o, err
}

// Delete deletes an organisation (an owner's) with its members, its
// invitations and its teams, in a transaction that records
// audit.OrganizationDeleted for it and for each of its teams. It returns
// ErrNotFound and ErrForbidden.
func (s *Service) Delete(ctx context.Context, a userd.Actor, c userd.Client, id string) error {
	return s.write(ctx, a, id, Delete, func(tx *sqldb.Tx, id, _ string) error {
		return deleteOrg(ctx, tx, id, audit.Event{UserID: a.UserID, IP: c.IP, UserAgent: c.UserAgent})
	})
}

// deleteOrg deletes an organisation with its teams and records
// audit.OrganizationDeleted for each, as e says (a team's entry names its
// business as parent_id).
func deleteOrg(ctx context.Context, tx *sqldb.Tx, id string, e audit.Event) error {
	teams, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT id FROM organizations WHERE parent_id = $1 ORDER BY id`, id)
	if err != nil {
		return fmt.Errorf("list teams: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM organizations WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete organization: %w", err)
	}
	for _, org := range append(teams, id) {
		forgetGrants(tx, org)
	}
	e.Action, e.TargetType, e.TargetID = audit.OrganizationDeleted, "organization", id
	if err := audit.Record(ctx, tx, e); err != nil {
		return err
	}
	meta := e.Metadata
	for _, team := range teams {
		e.TargetID, e.Metadata = team, map[string]any{"parent_id": id}
		maps.Copy(e.Metadata, meta)
		if err := audit.Record(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// OpenIDClaims returns the organizations claim of userd's OpenID Provider
// for a user: up to openid.MaxOrgClaims of their organisations, newest
// first, each with their role.
func (s *Service) OpenIDClaims(ctx context.Context, userID string) ([]openid.OrgClaim, error) {
	orgs, err := s.Mine(ctx, userd.Actor{UserID: userID}, "", openid.MaxOrgClaims)
	if err != nil {
		return nil, err
	}
	out := make([]openid.OrgClaim, len(orgs))
	for i, o := range orgs {
		out[i] = openid.OrgClaim{ID: o.ID, Slug: o.Slug, Name: o.Name, Role: o.Role}
	}
	return out, nil
}
