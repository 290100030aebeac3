package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/synchronization"
)

// Synchronization is a link to an external platform, without its token.
type Synchronization struct {
	ID             string     `json:"id" format:"uuid"`
	Service        string     `json:"service" example:"TopstepTrader"`
	AccountID      string     `json:"account_id"`
	HasToken       bool       `json:"has_token" doc:"Whether a token is stored; the token itself is write-only."`
	TokenExpiresAt *time.Time `json:"token_expires_at"`
	LastSyncedAt   *time.Time `json:"last_synced_at"`
	DailySyncTime  *string    `json:"daily_sync_time" doc:"HH:MM in time_zone; null for no daily sync."`
	TimeZone       string     `json:"time_zone" example:"Europe/Paris"`
	NextSyncAt     *time.Time `json:"next_sync_at" doc:"When the next sync.due webhook goes out."`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func (s *Server) syncOf(sy synchronization.Sync) Synchronization {
	out := Synchronization{ID: sy.ID, Service: sy.Service, AccountID: sy.AccountID, HasToken: sy.HasToken, TokenExpiresAt: sy.TokenExpiresAt,
		LastSyncedAt: sy.LastSyncedAt, DailySyncTime: sy.DailySyncTime, TimeZone: sy.TimeZone, CreatedAt: sy.CreatedAt, UpdatedAt: sy.UpdatedAt}
	if sy.DailySyncTime != nil {
		next := synchronization.NextRun(*sy.DailySyncTime, sy.TimeZone, s.syncs.Now())
		out.NextSyncAt = &next
	}
	return out
}

// syncFields are the writable fields of a synchronization.
type syncFields struct {
	Service        *string    `json:"service,omitempty" doc:"Needed to create."`
	AccountID      *string    `json:"account_id,omitempty" doc:"Needed to create."`
	Token          *string    `json:"token,omitempty" writeOnly:"true" doc:"Stored sealed and never shown; an empty string removes it."`
	TokenExpiresAt *time.Time `json:"token_expires_at,omitempty" doc:"A token_expiring webhook goes out 24 h before."`
	DailySyncTime  *string    `json:"daily_sync_time,omitempty" doc:"HH:MM; an empty string stops the daily sync."`
	TimeZone       *string    `json:"time_zone,omitempty" doc:"IANA; UTC by default."`
}

func (f syncFields) patch() synchronization.Patch {
	return synchronization.Patch{Service: f.Service, AccountID: f.AccountID, Token: f.Token, TokenExpiresAt: f.TokenExpiresAt,
		DailySyncTime: f.DailySyncTime, TimeZone: f.TimeZone}
}

type syncOutput struct {
	Body Synchronization
}

type syncsOutput struct {
	Body struct {
		Items      []Synchronization `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}
}

func (s *Server) listSyncs(ctx context.Context, in *Paging) (*syncsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.syncs.List(ctx, userd.ActorFrom(ctx), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &syncsOutput{}
	list, out.Body.NextCursor = pageOf(list, in.Limit, func(sy synchronization.Sync) string { return sy.ID })
	out.Body.Items = []Synchronization{}
	for _, sy := range list {
		out.Body.Items = append(out.Body.Items, s.syncOf(sy))
	}
	return out, nil
}

type createSyncInput struct {
	Body syncFields
}

// syncAnswer encodes a synchronization, or passes on the error.
func (s *Server) syncAnswer(sy synchronization.Sync, err error) (*syncOutput, error) {
	if err != nil {
		return nil, err
	}
	return &syncOutput{Body: s.syncOf(sy)}, nil
}

func (s *Server) createSync(ctx context.Context, in *createSyncInput) (*syncOutput, error) {
	return s.syncAnswer(s.syncs.Create(ctx, userd.ActorFrom(ctx), in.Body.patch()))
}

type syncIDInput struct {
	ID string `path:"id" doc:"The synchronization's id."`
}

func (s *Server) getSync(ctx context.Context, in *syncIDInput) (*syncOutput, error) {
	return s.syncAnswer(s.syncs.Get(ctx, userd.ActorFrom(ctx), in.ID))
}

type updateSyncInput struct {
	ID   string `path:"id" doc:"The synchronization's id."`
	Body syncFields
}

func (s *Server) updateSync(ctx context.Context, in *updateSyncInput) (*syncOutput, error) {
	return s.syncAnswer(s.syncs.Update(ctx, userd.ActorFrom(ctx), in.ID, in.Body.patch()))
}

func (s *Server) deleteSync(ctx context.Context, in *syncIDInput) (*struct{}, error) {
	return nil, s.syncs.Delete(ctx, userd.ActorFrom(ctx), in.ID)
}

type completeSyncInput struct {
	ID   string `path:"id" doc:"The synchronization's id."`
	Body *struct {
		SyncedAt *time.Time `json:"synced_at,omitempty" doc:"When the sync finished; now by default."`
	}
}

func (s *Server) completeSync(ctx context.Context, in *completeSyncInput) (*syncOutput, error) {
	var at *time.Time
	if in.Body != nil {
		at = in.Body.SyncedAt
	}
	return s.syncAnswer(s.syncs.Complete(ctx, userd.ActorFrom(ctx), in.ID, at))
}
