package web

import (
	"context"
	"time"

	"github.com/userd/userd"
)

// What an application's back-end (an API key) or an administrator reads of
// what a user stored, and the synchronizations it runs: each in the owner's
// trail, naming the key or the person.

type appRevealInput struct {
	UserID    string `path:"id" doc:"The owner's id, or the legacy id they were imported with."`
	AccountID string `path:"account_id" doc:"The owner's credential account's id."`
	Type      string `path:"credential_type" doc:"Such as api_key, etp_token or thor_token."`
}

type appRevealOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Secret    string     `json:"secret" doc:"The secret in clear."`
		ExpiresAt *time.Time `json:"expires_at"`
	}
}

func (s *Server) adminRevealCredential(ctx context.Context, in *appRevealInput) (*appRevealOutput, error) {
	owner := s.ownerID(ctx, in.UserID)
	cred, secret, err := s.vault.RevealFor(ctx, userd.ActorFrom(ctx), s.client(ctx), owner, in.AccountID, in.Type)
	if err != nil {
		return nil, err
	}
	out := &appRevealOutput{CacheControl: "no-store"}
	out.Body.Secret, out.Body.ExpiresAt = secret, cred.ExpiresAt
	return out, nil
}

// ownerID is the id of the owner that a path names (see userID); a
// reference that names nobody stays as it is, so that the feature answers
// with the not-found of what was asked for.
func (s *Server) ownerID(ctx context.Context, raw string) string {
	if id, err := s.userID(ctx, raw); err == nil {
		return id
	}
	return raw
}

type appSyncTokenInput struct {
	UserID string `path:"id" doc:"The owner's id, or the legacy id they were imported with."`
	SyncID string `path:"sid" doc:"The synchronization's id."`
}

type appSyncTokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Token          string     `json:"token" doc:"The token in clear."`
		TokenExpiresAt *time.Time `json:"token_expires_at"`
	}
}

func (s *Server) adminSyncToken(ctx context.Context, in *appSyncTokenInput) (*appSyncTokenOutput, error) {
	owner := s.ownerID(ctx, in.UserID)
	sy, token, err := s.syncs.TokenFor(ctx, userd.ActorFrom(ctx), s.client(ctx), owner, in.SyncID)
	if err != nil {
		return nil, err
	}
	out := &appSyncTokenOutput{CacheControl: "no-store"}
	out.Body.Token, out.Body.TokenExpiresAt = token, sy.TokenExpiresAt
	return out, nil
}

type appSyncRunInput struct {
	SyncID string `path:"sid" doc:"The synchronization's id."`
}

func (s *Server) adminRunSync(ctx context.Context, in *appSyncRunInput) (*struct{}, error) {
	return nil, s.syncs.RunNow(ctx, userd.ActorFrom(ctx), s.client(ctx), in.SyncID)
}
