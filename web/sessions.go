package web

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/auth"
)

// errBadCursor answers a cursor that userd did not make.
var errBadCursor = userd.Errorf(userd.KindMalformed, "invalid_cursor", "The cursor is not one this list gave out.")

// encodeCursor and decodeCursor make a list position opaque: the id of the
// last item of a page, which keyset pagination continues after.
func encodeCursor(id string) *string {
	c := base64.RawURLEncoding.EncodeToString([]byte(id))
	return &c
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", errBadCursor
	}
	id, ok := userd.ParseID(string(b))
	if !ok {
		return "", errBadCursor
	}
	return id, nil
}

// pageInput is the query of every list.
type pageInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"Items per page."`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page."`
}

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

func (s *Server) listSessions(ctx context.Context, in *pageInput) (*sessionsOutput, error) {
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
	out.Body.Items = []SessionInfo{}
	for i, se := range list {
		if i == in.Limit {
			out.Body.NextCursor = encodeCursor(list[i-1].ID)
			break
		}
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
