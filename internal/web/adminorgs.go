package web

import (
	"context"
	"time"

	"github.com/userd/userd/internal/feature/organization"
)

// The administration's read of every organisation: GET /v1/admin/orgs,
// /v1/admin/orgs/{id} and /v1/admin/orgs/{id}/members.

// AdminOrganization is an organisation as an administrator sees it.
type AdminOrganization struct {
	ID           string         `json:"id"`
	Kind         string         `json:"kind" enum:"business,team"`
	Name         string         `json:"name"`
	Slug         string         `json:"slug"`
	ParentID     *string        `json:"parent_id" doc:"The business a team belongs to; null for none."`
	CreatedBy    *string        `json:"created_by" doc:"The user who created it; null once that user is deleted."`
	Metadata     map[string]any `json:"metadata"`
	MembersCount int            `json:"members_count"`
	Role         *string        `json:"role" doc:"With ?user_id=: that user's role in it (owner, admin or member); else null."`
	JoinedAt     *time.Time     `json:"joined_at" doc:"With ?user_id=: when that user joined it; else null."`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

func adminOrgOf(o organization.Summary) AdminOrganization {
	out := AdminOrganization{ID: o.ID, Kind: o.Kind, Name: o.Name, Slug: o.Slug, ParentID: optional(o.ParentID), CreatedBy: optional(o.CreatedBy),
		Metadata: o.Metadata, MembersCount: o.Members, Role: optional(o.Role), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if o.Role != "" {
		out.JoinedAt = &o.JoinedAt
	}
	return out
}

type adminOrgsInput struct {
	Paging
	Q      string `query:"q" doc:"Only organisations whose name or slug contains this, in any case."`
	UserID string `query:"user_id" doc:"Only the organisations this user belongs to, with their role."`
}

type adminOrgsOutput struct {
	Body struct {
		Organizations []AdminOrganization `json:"organizations"`
		NextCursor    *string             `json:"next_cursor"`
	}
}

func (s *Server) adminListOrgs(ctx context.Context, in *adminOrgsInput) (*adminOrgsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.orgs.Search(ctx, in.Q, in.UserID, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &adminOrgsOutput{}
	out.Body.Organizations, out.Body.NextCursor = mapPage(list, in.Limit, func(o organization.Summary) string { return o.ID }, adminOrgOf)
	return out, nil
}

type adminOrgOutput struct {
	Body struct {
		AdminOrganization
		PendingInvitations []OrganizationInvitation `json:"pending_invitations" doc:"Invitations neither accepted nor expired, newest first."`
	}
}

type adminOrgPath struct {
	ID string `path:"id" doc:"The organisation's id (404 organization_not_found)."`
}

func (s *Server) adminGetOrg(ctx context.Context, in *adminOrgPath) (*adminOrgOutput, error) {
	d, err := s.orgs.Inspect(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := &adminOrgOutput{}
	out.Body.AdminOrganization, out.Body.PendingInvitations = adminOrgOf(d.Summary), mapAll(d.Pending, invitationOf)
	return out, nil
}

// AdminOrganizationMember is a member of an organisation with the
// identifiers an administrator knows them by.
type AdminOrganizationMember struct {
	OrganizationMember
	Email    *string `json:"email"`
	Username *string `json:"username"`
}

type adminMembersInput struct {
	ID string `path:"id" doc:"The organisation's id (404 organization_not_found)."`
	Paging
}

type adminMembersOutput struct {
	Body struct {
		Members    []AdminOrganizationMember `json:"members"`
		NextCursor *string                   `json:"next_cursor"`
	}
}

func (s *Server) adminOrgMembers(ctx context.Context, in *adminMembersInput) (*adminMembersOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.orgs.People(ctx, in.ID, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &adminMembersOutput{}
	out.Body.Members, out.Body.NextCursor = mapPage(list, in.Limit, func(p organization.Person) string { return p.UserID },
		func(p organization.Person) AdminOrganizationMember {
			return AdminOrganizationMember{OrganizationMember: memberOf(p.Member), Email: optional(p.Email), Username: optional(p.Username)}
		})
	return out, nil
}
