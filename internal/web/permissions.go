package web

import (
	"context"
)

// The application's permissions: keys that roles may carry beside userd's
// own (see admin.Service.CreatePermission).

type permissionsOutput struct {
	Body struct {
		Items      []Permission `json:"items" doc:"Every permission, userd's own and the application's, by key."`
		NextCursor *string      `json:"next_cursor" doc:"Always null: every permission is on one page."`
	}
}

func (s *Server) adminListPermissions(ctx context.Context, _ *struct{}) (*permissionsOutput, error) {
	perms, err := s.admin.Permissions(ctx, s.who(ctx))
	if err != nil {
		return nil, err
	}
	out := &permissionsOutput{}
	out.Body.Items = []Permission{}
	for _, p := range perms {
		out.Body.Items = append(out.Body.Items, Permission(p))
	}
	return out, nil
}

type createPermissionInput struct {
	Body struct {
		Key         string `json:"key" example:"items:create" doc:"resource:action in lower case, each a letter then letters, digits or '_' (^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$), at most 64 characters; 409 permission_exists when taken; 422 reserved_permission for userd's own resources (account, users, roles, permissions, notifications, activity_logs, api_keys, vault, synchronizations, reports, sponsor_ads, billing, collections, webhooks, orgs, oauth_clients, mail) and for items:feature and comments:moderate. An application defines at most 200 permissions: 409 too_many_permissions beyond."`
		Description string `json:"description,omitempty" example:"Create items" doc:"What the permission allows; at most 500 characters."`
	}
}

type permissionOutput struct {
	Body Permission
}

func (s *Server) adminCreatePermission(ctx context.Context, in *createPermissionInput) (*permissionOutput, error) {
	p, err := s.admin.CreatePermission(ctx, s.who(ctx), in.Body.Key, in.Body.Description)
	if err != nil {
		return nil, err
	}
	return &permissionOutput{Body: Permission(p)}, nil
}

type deletePermissionInput struct {
	Key   string `path:"key" example:"items:create" doc:"The permission's key."`
	Force bool   `query:"force" doc:"Delete it even while roles or live API keys carry it: they lose it. Without it, 409 permission_in_use while any carries it."`
}

func (s *Server) adminDeletePermission(ctx context.Context, in *deletePermissionInput) (*struct{}, error) {
	return nil, s.admin.DeletePermission(ctx, s.who(ctx), in.Key, in.Force)
}
