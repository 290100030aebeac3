package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/auth"
)

// SessionInfo is one of the user's sessions.
type SessionInfo struct {
	ID         string    `json:"id" format:"uuid"`
	UserAgent  string    `json:"user_agent" doc:"The device, as its browser or client named itself."`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at" doc:"When the user signed in."`
	LastSeenAt time.Time `json:"last_seen_at" doc:"Updated at most once a minute."`
	ExpiresAt  time.Time `json:"expires_at" doc:"The absolute end; an idle session ends sooner."`
	Current    bool      `json:"current" doc:"True for the session making this request."`
}

type sessionsOutput struct {
	Body struct {
		Items      []SessionInfo `json:"items"`
		NextCursor *string       `json:"next_cursor"`
	}
}

func (s *Server) listSessions(ctx context.Context, in *Paging) (*sessionsOutput, error) {
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	a := userd.ActorFrom(ctx)
	list, err := s.auth.Sessions(ctx, a, after, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &sessionsOutput{}
	list, out.Body.NextCursor = pageOf(list, in.Limit, func(se auth.Session) string { return se.ID })
	out.Body.Items = []SessionInfo{}
	for _, se := range list {
		out.Body.Items = append(out.Body.Items, sessionInfo(se, a))
	}
	return out, nil
}

func sessionInfo(se auth.Session, a userd.Actor) SessionInfo {
	return SessionInfo{ID: se.ID, UserAgent: se.UserAgent, IP: se.IP, CreatedAt: se.CreatedAt,
		LastSeenAt: se.LastSeenAt, ExpiresAt: se.ExpiresAt, Current: se.ID == a.SessionID}
}

type sessionIDInput struct {
	ID string `path:"id" doc:"The session's id."`
}

func (s *Server) revokeSession(ctx context.Context, in *sessionIDInput) (*struct{}, error) {
	return nil, s.auth.RevokeSession(ctx, userd.ActorFrom(ctx), in.ID, s.client(ctx))
}

type changePasswordInput struct {
	Body struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password" doc:"At least 8 characters, at most 256 bytes, not a common password."`
	}
}

func (s *Server) changePassword(ctx context.Context, in *changePasswordInput) (*struct{}, error) {
	return nil, s.auth.ChangePassword(ctx, userd.ActorFrom(ctx), in.Body.CurrentPassword, in.Body.NewPassword, s.client(ctx))
}
