package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/organization"
)

// Organization is an organisation as one of its members sees it.
type Organization struct {
	ID        string         `json:"id"`
	Kind      string         `json:"kind" enum:"business,team"`
	Name      string         `json:"name"`
	Slug      string         `json:"slug"`
	ParentID  *string        `json:"parent_id" doc:"The business a team belongs to; null for none."`
	CreatedBy *string        `json:"created_by" doc:"The user who created it; null once that user is deleted."`
	Metadata  map[string]any `json:"metadata"`
	Role      string         `json:"role" enum:"owner,admin,member" doc:"The caller's role in it."`
	JoinedAt  time.Time      `json:"joined_at" doc:"When the caller joined it."`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

func orgOf(o organization.Org) Organization {
	return Organization{ID: o.ID, Kind: o.Kind, Name: o.Name, Slug: o.Slug, ParentID: optional(o.ParentID), CreatedBy: optional(o.CreatedBy),
		Metadata: o.Metadata, Role: o.Role, JoinedAt: o.JoinedAt, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

// OrganizationMember is a member of an organisation.
type OrganizationMember struct {
	OrganizationID string    `json:"organization_id"`
	UserID         string    `json:"user_id"`
	Role           string    `json:"role" enum:"owner,admin,member"`
	JoinedAt       time.Time `json:"joined_at"`
}

func memberOf(m organization.Member) OrganizationMember {
	return OrganizationMember{OrganizationID: m.OrganizationID, UserID: m.UserID, Role: m.Role, JoinedAt: m.JoinedAt}
}

// OrganizationInvitation is an invitation into an organisation, without
// its token (which only its mail carries).
type OrganizationInvitation struct {
	ID             string     `json:"id"`
	OrganizationID string     `json:"organization_id"`
	Email          string     `json:"email"`
	Role           string     `json:"role" enum:"owner,admin,member"`
	InvitedBy      *string    `json:"invited_by" doc:"null once the inviting user is deleted."`
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      time.Time  `json:"expires_at" doc:"7 days after created_at."`
	AcceptedAt     *time.Time `json:"accepted_at" doc:"null until accepted; an invitation works once."`
}

func invitationOf(i organization.Invitation) OrganizationInvitation {
	return OrganizationInvitation{ID: i.ID, OrganizationID: i.OrganizationID, Email: i.Email, Role: i.Role, InvitedBy: optional(i.InvitedBy),
		CreatedAt: i.CreatedAt, ExpiresAt: i.ExpiresAt, AcceptedAt: i.AcceptedAt}
}

type orgOutput struct{ Body Organization }

type orgsOutput struct {
	Body struct {
		Organizations []Organization `json:"organizations"`
		NextCursor    *string        `json:"next_cursor"`
	}
}

func (s *Server) listOrgs(ctx context.Context, in *Paging) (*orgsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.orgs.Mine(ctx, userd.ActorFrom(ctx), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &orgsOutput{}
	out.Body.Organizations, out.Body.NextCursor = mapPage(list, in.Limit, func(o organization.Org) string { return o.ID }, orgOf)
	return out, nil
}

type createOrgInput struct {
	Body struct {
		Kind     string         `json:"kind" doc:"business or team."`
		Name     string         `json:"name" doc:"1 to 200 characters."`
		Slug     string         `json:"slug,omitempty" doc:"3 to 50 of a-z, 0-9 and inner hyphens; derived from the name when left out. Unique: 409 slug_taken."`
		ParentID string         `json:"parent_id,omitempty" doc:"For a team: the business it belongs to, which the caller owns or administers (422 invalid_parent for a business or a team as parent)."`
		Metadata map[string]any `json:"metadata,omitempty" doc:"The application's JSON object, at most 16 KiB."`
	}
}

func (s *Server) createOrg(ctx context.Context, in *createOrgInput) (*orgOutput, error) {
	b := in.Body
	o, err := s.orgs.Create(ctx, userd.ActorFrom(ctx), s.client(ctx), organization.New{Kind: b.Kind, Name: b.Name, Slug: b.Slug, ParentID: b.ParentID, Metadata: b.Metadata})
	if err != nil {
		return nil, err
	}
	return &orgOutput{Body: orgOf(o)}, nil
}

// OrgPath is the path of an organisation's routes.
type OrgPath struct {
	ID string `path:"id" doc:"The organisation's id (404 organization_not_found also for one the caller is not a member of)."`
}

func (s *Server) getOrg(ctx context.Context, in *OrgPath) (*orgOutput, error) {
	o, err := s.orgs.Get(ctx, userd.ActorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &orgOutput{Body: orgOf(o)}, nil
}

type patchOrgInput struct {
	OrgPath
	Body struct {
		Name     *string        `json:"name,omitempty"`
		Slug     *string        `json:"slug,omitempty"`
		Metadata map[string]any `json:"metadata,omitempty" doc:"Replaces the metadata."`
	}
}

func (s *Server) patchOrg(ctx context.Context, in *patchOrgInput) (*orgOutput, error) {
	b := in.Body
	o, err := s.orgs.Update(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, organization.Profile{Name: b.Name, Slug: b.Slug, Metadata: b.Metadata})
	if err != nil {
		return nil, err
	}
	return &orgOutput{Body: orgOf(o)}, nil
}

func (s *Server) deleteOrg(ctx context.Context, in *OrgPath) (*struct{}, error) {
	return nil, s.orgs.Delete(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
}

type orgPageInput struct {
	OrgPath
	Paging
}

type membersOutput struct {
	Body struct {
		Members    []OrganizationMember `json:"members"`
		NextCursor *string              `json:"next_cursor"`
	}
}

func (s *Server) listMembers(ctx context.Context, in *orgPageInput) (*membersOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.orgs.Members(ctx, userd.ActorFrom(ctx), in.ID, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &membersOutput{}
	out.Body.Members, out.Body.NextCursor = mapPage(list, in.Limit, func(m organization.Member) string { return m.UserID }, memberOf)
	return out, nil
}

// MemberPath is the path of a member's routes.
type MemberPath struct {
	OrgPath
	UserID string `path:"user_id" doc:"The member's user id (404 member_not_found)."`
}

type patchMemberInput struct {
	MemberPath
	Body struct {
		Role string `json:"role" doc:"owner, admin or member. Owners are an owner's to grant and take; 409 last_owner when no owner would be left."`
	}
}

type memberOutput struct{ Body OrganizationMember }

func (s *Server) patchMember(ctx context.Context, in *patchMemberInput) (*memberOutput, error) {
	m, err := s.orgs.SetRole(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, in.UserID, in.Body.Role)
	if err != nil {
		return nil, err
	}
	return &memberOutput{Body: memberOf(m)}, nil
}

func (s *Server) deleteMember(ctx context.Context, in *MemberPath) (*struct{}, error) {
	return nil, s.orgs.Remove(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, in.UserID)
}

type invitationsOutput struct {
	Body struct {
		Invitations []OrganizationInvitation `json:"invitations"`
		NextCursor  *string                  `json:"next_cursor"`
	}
}

func (s *Server) listInvitations(ctx context.Context, in *orgPageInput) (*invitationsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.orgs.Invitations(ctx, userd.ActorFrom(ctx), in.ID, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &invitationsOutput{}
	out.Body.Invitations, out.Body.NextCursor = mapPage(list, in.Limit, func(i organization.Invitation) string { return i.ID }, invitationOf)
	return out, nil
}

type inviteInput struct {
	OrgPath
	Body struct {
		Email string `json:"email" doc:"Who is invited: the address that the accepting user must have verified."`
		Role  string `json:"role" doc:"owner (an owner's to give), admin or member."`
	}
}

type invitationOutput struct{ Body OrganizationInvitation }

func (s *Server) invite(ctx context.Context, in *inviteInput) (*invitationOutput, error) {
	i, err := s.orgs.Invite(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, in.Body.Email, in.Body.Role)
	if err != nil {
		return nil, err
	}
	return &invitationOutput{Body: invitationOf(i)}, nil
}

type invitationIDInput struct {
	OrgPath
	InvitationID string `path:"inv_id" doc:"The invitation's id (404 invitation_not_found)."`
}

func (s *Server) revokeInvitation(ctx context.Context, in *invitationIDInput) (*struct{}, error) {
	return nil, s.orgs.Revoke(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, in.InvitationID)
}

type acceptInput struct {
	Body struct {
		Token string `json:"token" doc:"The token of the invitation's mail link. 404 invalid_invitation when unknown, used or expired; 403 invitation_email_mismatch unless the caller's verified email is the invitation's."`
	}
}

func (s *Server) acceptInvitation(ctx context.Context, in *acceptInput) (*orgOutput, error) {
	o, err := s.orgs.Accept(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Body.Token)
	if err != nil {
		return nil, err
	}
	return &orgOutput{Body: orgOf(o)}, nil
}

type transferInput struct {
	OrgPath
	Body struct {
		UserID string `json:"user_id" doc:"The member who becomes an owner; the caller becomes an admin."`
	}
}

func (s *Server) transferOrg(ctx context.Context, in *transferInput) (*memberOutput, error) {
	m, err := s.orgs.Transfer(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, in.Body.UserID)
	if err != nil {
		return nil, err
	}
	return &memberOutput{Body: memberOf(m)}, nil
}

type activeOrgInput struct {
	Body struct {
		OrganizationID *string `json:"organization_id" required:"false" nullable:"true" doc:"An organisation of the caller's (404 organization_not_found otherwise), or null for none."`
	}
}

type activeOrgOutput struct {
	Body struct {
		OrganizationID *string `json:"org_id" doc:"The active organisation, as access tokens carry it from the next refresh on; null for none."`
		Role           *string `json:"org_role" doc:"The caller's role in it (org_role)."`
		Slug           *string `json:"org_slug" doc:"Its slug (org_slug)."`
	}
}

func (s *Server) putActiveOrg(ctx context.Context, in *activeOrgInput) (*activeOrgOutput, error) {
	id := ""
	if in.Body.OrganizationID != nil {
		id = *in.Body.OrganizationID
	}
	c, err := s.auth.SetActiveOrganization(ctx, userd.ActorFrom(ctx), id)
	if err != nil {
		return nil, err
	}
	out := &activeOrgOutput{}
	out.Body.OrganizationID, out.Body.Role, out.Body.Slug = optional(c.ID), optional(c.Role), optional(c.Slug)
	return out, nil
}
