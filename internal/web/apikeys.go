package web

import (
	"context"
	"time"

	"github.com/userd/userd/internal/feature/apikey"
)

// APIKey is an application's API key as it is listed: never its secret.
type APIKey struct {
	ID           string     `json:"id" format:"uuid"`
	Name         string     `json:"name" example:"trading-bot orchestrator"`
	Permissions  []string   `json:"permissions" example:"[\"vault:reveal\"]" doc:"What the key may do: the routes whose permission it carries."`
	CreatedBy    *string    `json:"created_by" format:"uuid" doc:"The user who made it; null when the command line made it or that user is gone."`
	CreatedByKey *string    `json:"created_by_api_key_id" format:"uuid" doc:"The key that made it, when a key did: revoking that key revoked this one too."`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at" doc:"When a request last used it (written at most once a minute)."`
	ExpiresAt    *time.Time `json:"expires_at" doc:"When it stops working; null for never."`
	RevokedAt    *time.Time `json:"revoked_at" doc:"When it was revoked, with the keys it made; a revoked key is refused at once in every process."`
}

func apiKeyOf(k apikey.Key) APIKey {
	return APIKey{ID: k.ID, Name: k.Name, Permissions: k.Permissions, CreatedBy: optional(k.CreatedBy), CreatedByKey: optional(k.CreatedByKey), CreatedAt: k.CreatedAt,
		LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt}
}

type apiKeysOutput struct {
	Body struct {
		Items      []APIKey `json:"items"`
		NextCursor *string  `json:"next_cursor"`
	}
}

func (s *Server) adminListAPIKeys(ctx context.Context, in *Paging) (*apiKeysOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.admin.APIKeys(ctx, s.who(ctx), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &apiKeysOutput{}
	list, out.Body.NextCursor = pageOf(list, in.Limit, func(k apikey.Key) string { return k.ID })
	out.Body.Items = []APIKey{}
	for _, k := range list {
		out.Body.Items = append(out.Body.Items, apiKeyOf(k))
	}
	return out, nil
}

type createAPIKeyInput struct {
	Body struct {
		Name        string     `json:"name" maxLength:"100" example:"trading-bot orchestrator"`
		Permissions []string   `json:"permissions" maxItems:"100" example:"[\"vault:reveal\"]" doc:"Permission keys; each one the caller holds."`
		ExpiresAt   *time.Time `json:"expires_at,omitempty" doc:"When the key stops working; never when absent."`
	}
}

type createdAPIKeyOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		APIKey
		Key string `json:"key" example:"udk_3q2-7wEXAMPLEk1m0WcJ3Xo5bL9kH1pQ2rS8tU4vY6z" doc:"The key itself, shown this once: only its hash is kept. Send it as Authorization: Bearer."`
	}
}

func (s *Server) adminCreateAPIKey(ctx context.Context, in *createAPIKeyInput) (*createdAPIKeyOutput, error) {
	k, secret, err := s.admin.CreateAPIKey(ctx, s.who(ctx), apikey.New{Name: in.Body.Name, Permissions: in.Body.Permissions, ExpiresAt: in.Body.ExpiresAt})
	if err != nil {
		return nil, err
	}
	out := &createdAPIKeyOutput{CacheControl: "no-store"}
	out.Body.APIKey, out.Body.Key = apiKeyOf(k), secret
	return out, nil
}

type apiKeyIDInput struct {
	ID string `path:"id" format:"uuid"`
}

func (s *Server) adminRevokeAPIKey(ctx context.Context, in *apiKeyIDInput) (*struct{}, error) {
	return nil, s.admin.RevokeAPIKey(ctx, s.who(ctx), in.ID)
}
