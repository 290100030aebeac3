package web

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/auth"
)

// UserWithRoles is a user with what they may do.
type UserWithRoles struct {
	User
	Roles       []string `json:"roles" doc:"Names of the user's roles, with those that the session's active organisation's plans give its members."`
	Permissions []string `json:"permissions" doc:"Effective permission keys: every key when a role is an admin role."`
}

type meOutput struct {
	Body UserWithRoles
}

func meOf(u account.User, g userd.Grants) *meOutput {
	out := &meOutput{Body: UserWithRoles{User: userOf(u), Roles: g.Roles, Permissions: g.Permissions}}
	if out.Body.Roles == nil {
		out.Body.Roles = []string{}
	}
	if out.Body.Permissions == nil {
		out.Body.Permissions = []string{}
	}
	return out
}

// getMe answers with the user as authentication read them: the same
// transaction's view, kept until a change invalidates it.
func (s *Server) getMe(ctx context.Context, _ *struct{}) (*meOutput, error) {
	u, ok := callerUser(ctx)
	if !ok {
		return nil, auth.ErrUnauthenticated
	}
	return meOf(u, userd.ActorFrom(ctx).Grants), nil
}

type updateMeInput struct {
	Body ProfilePatch
}

func (s *Server) updateMe(ctx context.Context, in *updateMeInput) (*meOutput, error) {
	u, err := s.accounts.Update(ctx, userd.ActorFrom(ctx), in.Body.patch())
	if err != nil {
		return nil, err
	}
	return meOf(u, userd.ActorFrom(ctx).Grants), nil
}

func (s *Server) deleteMe(ctx context.Context, _ *struct{}) (*struct{}, error) {
	return nil, s.lifecycle.DeleteSelf(ctx, userd.ActorFrom(ctx), s.client(ctx))
}
