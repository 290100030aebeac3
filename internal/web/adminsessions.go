package web

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/auth"
)

// The administration of a user's sessions and factors: GET, DELETE
// /v1/admin/users/{id}/sessions, DELETE …/sessions/{session_id} and GET
// …/factors.

type adminSessionsInput struct {
	ID string `path:"id" doc:"The user's id, or the legacy id they were imported with."`
	Paging
}

func (s *Server) adminSessions(ctx context.Context, in *adminSessionsInput) (*sessionsOutput, error) {
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	id, err := s.userID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	list, err := s.admin.Sessions(ctx, id, after, in.Limit+1)
	if err != nil {
		return nil, err
	}
	a := userd.ActorFrom(ctx)
	out := &sessionsOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, func(se auth.Session) string { return se.ID },
		func(se auth.Session) SessionInfo { return sessionInfo(se, a) })
	return out, nil
}

type endSessionsOutput struct {
	Body struct {
		Count int64 `json:"count" doc:"How many sessions ended."`
	}
}

func (s *Server) adminEndSessions(ctx context.Context, in *userIDInput) (*endSessionsOutput, error) {
	id, err := s.userID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := &endSessionsOutput{}
	out.Body.Count, err = s.admin.EndSessions(ctx, s.who(ctx), id, "")
	return out, err
}

type adminSessionInput struct {
	ID        string `path:"id" doc:"The user's id, or the legacy id they were imported with."`
	SessionID string `path:"session_id" doc:"The session's id (404 session_not_found when it is not the user's)."`
}

func (s *Server) adminEndSession(ctx context.Context, in *adminSessionInput) (*struct{}, error) {
	id, err := s.userID(ctx, in.ID)
	if err == nil {
		_, err = s.admin.EndSessions(ctx, s.who(ctx), id, in.SessionID)
	}
	return nil, err
}

// Factors are a user's second factor and passkeys, as an administrator sees
// them: never a secret.
type Factors struct {
	TOTPEnabled       bool      `json:"totp_enabled" doc:"Whether a TOTP second factor is confirmed."`
	RecoveryCodesLeft int       `json:"recovery_codes_left" doc:"Unused recovery codes (0 without TOTP)."`
	Passkeys          []Passkey `json:"passkeys" doc:"Newest first."`
}

type factorsOutput struct{ Body Factors }

func (s *Server) adminFactors(ctx context.Context, in *userIDInput) (*factorsOutput, error) {
	id, err := s.userID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	f, err := s.admin.Factors(ctx, id)
	if err != nil {
		return nil, err
	}
	return &factorsOutput{Body: Factors{TOTPEnabled: f.Enabled, RecoveryCodesLeft: f.RecoveryLeft, Passkeys: mapAll(f.Passkeys, passkeyOf)}}, nil
}
