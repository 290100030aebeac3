package web

import (
	"context"
	"encoding/json"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/rbac"
)

func (s *Server) who(ctx context.Context) admin.Who {
	return admin.Who{Actor: userd.ActorFrom(ctx), Client: s.client(ctx)}
}

func withRoles(u admin.UserWithGrants) *meOutput { return meOf(u.User, u.Grants) }

type adminUsersInput struct {
	Q string `query:"q" doc:"Finds users whose email, username, phone number, first or last name contains it, without regard to case, or whose legacy_id is it exactly."`
	Paging
}

type usersOutput struct {
	Body struct {
		Items      []User  `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
}

func (s *Server) adminListUsers(ctx context.Context, in *adminUsersInput) (*usersOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.admin.ListUsers(ctx, in.Q, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &usersOutput{}
	list, out.Body.NextCursor = pageOf(list, in.Limit, func(u account.User) string { return u.ID })
	out.Body.Items = []User{}
	for _, u := range list {
		out.Body.Items = append(out.Body.Items, userOf(u))
	}
	return out, nil
}

type adminCreateUserInput struct {
	Body struct {
		NewUserFields
		Password string   `json:"password,omitempty" doc:"Optional: without one, the user sets a password through the reset flow."`
		IsBeta   bool     `json:"is_beta,omitempty"`
		Roles    []string `json:"roles,omitempty" doc:"Role names; END_USER when none are given."`
	}
}

func (s *Server) adminCreateUser(ctx context.Context, in *adminCreateUserInput) (*meOutput, error) {
	b := in.Body
	u, err := s.admin.CreateUser(ctx, s.who(ctx), admin.NewUser{
		Identity: b.identity(), Profile: b.profile(), Password: b.Password, Roles: b.Roles, IsBeta: b.IsBeta,
	})
	if err != nil {
		return nil, err
	}
	return withRoles(u), nil
}

type userIDInput struct {
	ID string `path:"id" doc:"The user's id, or the legacy id they were imported with."`
}

// userID reads a user's id from a path: a userd id, or a legacy id (see
// admin.Service.UserID).
func (s *Server) userID(ctx context.Context, raw string) (string, error) {
	return s.admin.UserID(ctx, raw)
}

func (s *Server) adminGetUser(ctx context.Context, in *userIDInput) (*meOutput, error) {
	id, err := s.userID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	u, err := s.admin.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	return withRoles(u), nil
}

type adminUpdateUserInput struct {
	ID   string `path:"id"`
	Body struct {
		ProfilePatch
		Email       *string `json:"email,omitempty" doc:"A new email is unverified."`
		PhoneNumber *string `json:"phone_number,omitempty"`
		Status      *string `json:"status,omitempty" enum:"active,suspended,banned" doc:"suspended and banned end the user's sessions and refuse log-in."`
		IsBeta      *bool   `json:"is_beta,omitempty"`
	}
}

func (s *Server) adminUpdateUser(ctx context.Context, in *adminUpdateUserInput) (*meOutput, error) {
	id, err := s.userID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	b := in.Body
	p := b.patch()
	p.Email, p.PhoneNumber, p.IsBeta = b.Email, b.PhoneNumber, b.IsBeta
	if b.Status != nil {
		st := account.Status(*b.Status)
		p.Status = &st
	}
	u, err := s.admin.UpdateUser(ctx, s.who(ctx), id, p)
	if err != nil {
		return nil, err
	}
	return withRoles(u), nil
}

func (s *Server) adminDeleteUser(ctx context.Context, in *userIDInput) (*struct{}, error) {
	id, err := s.userID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return nil, s.admin.DeleteUser(ctx, s.who(ctx), id)
}

type userRoleInput struct {
	ID   string `path:"id" doc:"The user's id, or the legacy id they were imported with."`
	Role string `path:"role" doc:"The role's name, such as ADMIN."`
}

func (s *Server) adminAssignRole(ctx context.Context, in *userRoleInput) (*struct{}, error) {
	return nil, s.setRole(ctx, in, true)
}

func (s *Server) adminRemoveRole(ctx context.Context, in *userRoleInput) (*struct{}, error) {
	return nil, s.setRole(ctx, in, false)
}

func (s *Server) setRole(ctx context.Context, in *userRoleInput, on bool) error {
	id, err := s.userID(ctx, in.ID)
	if err != nil {
		return err
	}
	return s.admin.SetRole(ctx, s.who(ctx), id, in.Role, on)
}

// Role is a role with its permission keys.
type Role struct {
	ID          string    `json:"id" format:"uuid"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	IsAdmin     bool      `json:"is_admin" doc:"An admin role passes every permission check."`
	Permissions []string  `json:"permissions"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func roleOf(r rbac.Role) Role {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	return Role{ID: r.ID, Name: r.Name, Description: r.Description, IsAdmin: r.IsAdmin, Permissions: perms, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// Permission is a permission key.
type Permission struct {
	Key         string `json:"key" example:"users:read"`
	Description string `json:"description"`
	Builtin     bool   `json:"builtin" doc:"userd's own permission, which cannot be deleted; false for the application's."`
}

type rolesOutput struct {
	Body struct {
		Items       []Role       `json:"items"`
		NextCursor  *string      `json:"next_cursor" doc:"Always null: every role is on one page."`
		Permissions []Permission `json:"permissions" doc:"Every permission a role can carry."`
	}
}

func (s *Server) adminListRoles(ctx context.Context, _ *struct{}) (*rolesOutput, error) {
	roles, perms, err := s.admin.Roles(ctx)
	if err != nil {
		return nil, err
	}
	out := &rolesOutput{}
	out.Body.Items = []Role{}
	for _, r := range roles {
		out.Body.Items = append(out.Body.Items, roleOf(r))
	}
	out.Body.Permissions = []Permission{}
	for _, p := range perms {
		out.Body.Permissions = append(out.Body.Permissions, Permission(p))
	}
	return out, nil
}

// rolePatchBody is the body of role creation and change.
type rolePatchBody struct {
	Name        *string   `json:"name,omitempty" doc:"2 to 64 capital letters, digits or '_', starting with a letter. Needed to create."`
	Description *string   `json:"description,omitempty"`
	IsAdmin     *bool     `json:"is_admin,omitempty"`
	Permissions *[]string `json:"permissions,omitempty" doc:"Permission keys; replaces the role's set."`
}

func (b rolePatchBody) patch() rbac.RolePatch {
	return rbac.RolePatch{Name: b.Name, Description: b.Description, IsAdmin: b.IsAdmin, Permissions: b.Permissions}
}

type roleInput struct {
	Body rolePatchBody
}

type roleOutput struct {
	Body Role
}

func (s *Server) adminCreateRole(ctx context.Context, in *roleInput) (*roleOutput, error) {
	r, err := s.admin.CreateRole(ctx, s.who(ctx), in.Body.patch())
	if err != nil {
		return nil, err
	}
	return &roleOutput{Body: roleOf(r)}, nil
}

type roleIDInput struct {
	ID string `path:"id" doc:"The role's id."`
}

// roleID reads a role id from a path; a malformed one names no role.
func roleID(raw string) (string, error) {
	id, ok := userd.ParseID(raw)
	if !ok {
		return "", rbac.ErrRoleNotFound
	}
	return id, nil
}

type updateRoleInput struct {
	ID   string `path:"id" doc:"The role's id."`
	Body rolePatchBody
}

func (s *Server) adminUpdateRole(ctx context.Context, in *updateRoleInput) (*roleOutput, error) {
	id, err := roleID(in.ID)
	if err != nil {
		return nil, err
	}
	r, err := s.admin.UpdateRole(ctx, s.who(ctx), id, in.Body.patch())
	if err != nil {
		return nil, err
	}
	return &roleOutput{Body: roleOf(r)}, nil
}

func (s *Server) adminDeleteRole(ctx context.Context, in *roleIDInput) (*struct{}, error) {
	id, err := roleID(in.ID)
	if err != nil {
		return nil, err
	}
	return nil, s.admin.DeleteRole(ctx, s.who(ctx), id)
}

type activityInput struct {
	Actor      string `query:"actor" doc:"Id of the user the entry belongs to (who acted)."`
	Action     string `query:"action" doc:"An exact action such as auth.login, or a prefix ending in '.' such as auth."`
	TargetType string `query:"target_type" doc:"What kind of thing was acted on: user, session, role."`
	Target     string `query:"target" doc:"Id of what was acted on."`
	Since      string `query:"since" doc:"RFC 3339: entries at or after it."`
	Until      string `query:"until" doc:"RFC 3339: entries before it."`
	Paging
}

// ActivityLog is one entry of the audit trail.
type ActivityLog struct {
	ID          string          `json:"id" format:"uuid"`
	UserID      *string         `json:"user_id" doc:"Whose event it is; null when it is no user's."`
	ActorType   string          `json:"actor_type" enum:"user,api_key,anonymous" doc:"What acted: a user (actor_user_id), an application's API key (actor_api_key_id), or no one known (a failed log-in of an unknown identifier, the command line). user_id is whose event it is."`
	ActorUserID *string         `json:"actor_user_id" format:"uuid" doc:"The user who acted: user_id, or another (an administrator reading what the user stored)."`
	ActorKeyID  *string         `json:"actor_api_key_id" doc:"The API key that acted, when one did."`
	ClientID    *string         `json:"client_id"`
	Action      string          `json:"action"`
	TargetType  *string         `json:"target_type"`
	TargetID    *string         `json:"target_id"`
	IP          *string         `json:"ip"`
	UserAgent   *string         `json:"user_agent"`
	Metadata    json.RawMessage `json:"metadata"`
	CreatedAt   time.Time       `json:"created_at"`
}

type activityOutput struct {
	Body struct {
		Items      []ActivityLog `json:"items"`
		NextCursor *string       `json:"next_cursor"`
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) adminActivityLogs(ctx context.Context, in *activityInput) (*activityOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	f := audit.Filter{Action: in.Action, TargetType: in.TargetType, TargetID: in.Target}
	fe := auditBounds(&f, in.Actor, in.Since, in.Until, func(v string) (time.Time, error) { return time.Parse(time.RFC3339Nano, v) },
		userd.FieldError{Code: "invalid_time", Message: "Give an RFC 3339 time, such as 2026-01-02T15:04:05Z."})
	if err := userd.Invalid(fe); err != nil {
		return nil, err
	}
	list, err := s.admin.ActivityLogs(ctx, f, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &activityOutput{}
	list, out.Body.NextCursor = pageOf(list, in.Limit, func(e audit.Entry) string { return e.ID })
	out.Body.Items = []ActivityLog{}
	for _, e := range list {
		out.Body.Items = append(out.Body.Items, activityOf(e))
	}
	return out, nil
}

// auditBounds reads an audit filter's actor (a user id) into f, and its
// since and until bounds with parse (an empty one stays unset), and returns
// the field errors of those that do not read, each bad with its field.
func auditBounds(f *audit.Filter, actor, since, until string, parse func(string) (time.Time, error), bad userd.FieldError) []userd.FieldError {
	var fe []userd.FieldError
	if actor != "" {
		id, ok := userd.ParseID(actor)
		if !ok {
			fe = append(fe, userd.FieldError{Field: "actor", Code: "invalid_id", Message: "Give a user id."})
		}
		f.UserID = id
	}
	for _, b := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", since, &f.Since}, {"until", until, &f.Until}} {
		if b.v == "" {
			continue
		}
		t, err := parse(b.v)
		if err != nil {
			bad.Field = b.name
			fe = append(fe, bad)
		}
		*b.dst = t
	}
	return fe
}

func activityOf(e audit.Entry) ActivityLog {
	actor, by := "anonymous", ""
	switch {
	case e.APIKeyID != "":
		actor = "api_key"
	case e.ActorUserID != "":
		actor, by = "user", e.ActorUserID
	case e.UserID != "":
		actor, by = "user", e.UserID
	}
	return ActivityLog{ID: e.ID, UserID: optional(e.UserID), ActorType: actor, ActorUserID: optional(by), ActorKeyID: optional(e.APIKeyID), ClientID: optional(e.ClientID), Action: e.Action,
		TargetType: optional(e.TargetType), TargetID: optional(e.TargetID), IP: optional(e.IP),
		UserAgent: optional(e.UserAgent), Metadata: e.Metadata, CreatedAt: e.CreatedAt}
}
