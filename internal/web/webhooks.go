package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/webhook"
)

// WebhookEndpoint is a webhook endpoint, without its secret.
type WebhookEndpoint struct {
	ID             string     `json:"id"`
	URL            string     `json:"url" doc:"Where events are POSTed: https (http only on loopback)."`
	Description    string     `json:"description"`
	EventTypes     []string   `json:"event_types" doc:"The catalogue's types the endpoint receives; [] for all of them (never the synchronization ones, which go only to --webhook-url)."`
	Enabled        bool       `json:"enabled"`
	DisabledReason *string    `json:"disabled_reason" doc:"Why it is disabled: by an administrator, or after days of nothing but failures; null when enabled."`
	FailingSince   *time.Time `json:"failing_since" doc:"The first failed attempt since the last success; null while deliveries succeed."`
	PreviousUntil  *time.Time `json:"previous_secret_until" doc:"Until when the secret before the last rotation also signs (a second signature in webhook-signature); null when none does."`
	CreatedBy      *string    `json:"created_by" doc:"The administrator who made it (told when it is disabled); null once deleted or for an API key."`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func endpointOf(e webhook.Endpoint) WebhookEndpoint {
	return WebhookEndpoint{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: nonNil(e.EventTypes), Enabled: e.Enabled, DisabledReason: optional(e.DisabledReason),
		FailingSince: e.FailingSince, PreviousUntil: e.PreviousUntil, CreatedBy: optional(e.CreatedBy), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// WebhookEndpointWithSecret is an endpoint with its secret, answered once:
// when it is made and when its secret is rotated.
type WebhookEndpointWithSecret struct {
	WebhookEndpoint
	Secret string `json:"secret" doc:"The whsec_… signing secret (Standard Webhooks). Shown only here: it is stored sealed."`
}

type endpointInput struct {
	Body struct {
		URL         string    `json:"url" doc:"https URL (http only on loopback), at most 2000 characters (422 invalid_url)."`
		Description string    `json:"description,omitempty" doc:"At most 500 characters."`
		EventTypes  *[]string `json:"event_types,omitempty" doc:"Types of the catalogue (422 unknown_event_type); absent or [] for all."`
		Enabled     *bool     `json:"enabled,omitempty" doc:"true when absent."`
	}
}

type endpointSecretOutput struct {
	Body WebhookEndpointWithSecret
}

func (s *Server) createWebhookEndpoint(ctx context.Context, in *endpointInput) (*endpointSecretOutput, error) {
	b := in.Body
	e, secret, err := s.webhooks.Create(ctx, userd.ActorFrom(ctx), s.client(ctx), webhook.Patch{URL: &b.URL, Description: &b.Description, EventTypes: b.EventTypes, Enabled: b.Enabled})
	if err != nil {
		return nil, err
	}
	return &endpointSecretOutput{Body: WebhookEndpointWithSecret{WebhookEndpoint: endpointOf(e), Secret: secret}}, nil
}

type endpointsOutput struct {
	Body struct {
		Items      []WebhookEndpoint `json:"items"`
		Configured *string           `json:"configured_url" doc:"The endpoint --webhook-url defines (every type, and the synchronization webhooks), read-only, its path and query values hidden (they may be its secret); null when none. Its deliveries have endpoint_id null."`
	}
}

func (s *Server) listWebhookEndpoints(ctx context.Context, _ *struct{}) (*endpointsOutput, error) {
	list, err := s.webhooks.List(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &endpointsOutput{}
	out.Body.Items = mapAll(list, endpointOf)
	out.Body.Configured = optional(s.webhooks.ConfiguredURL())
	return out, nil
}

type endpointPath struct {
	ID string `path:"id" doc:"The endpoint's id."`
}

type endpointOutput struct {
	Body WebhookEndpoint
}

func (s *Server) getWebhookEndpoint(ctx context.Context, in *endpointPath) (*endpointOutput, error) {
	e, err := s.webhooks.Get(ctx, userd.ActorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &endpointOutput{Body: endpointOf(e)}, nil
}

type patchEndpointInput struct {
	ID   string `path:"id" doc:"The endpoint's id."`
	Body struct {
		URL         *string   `json:"url,omitempty" doc:"https URL (http only on loopback) (422 invalid_url)."`
		Description *string   `json:"description,omitempty" doc:"At most 500 characters."`
		EventTypes  *[]string `json:"event_types,omitempty" doc:"Types of the catalogue; [] for all."`
		Enabled     *bool     `json:"enabled,omitempty" doc:"true enables a disabled endpoint again and forgets its failures."`
	}
}

func (s *Server) patchWebhookEndpoint(ctx context.Context, in *patchEndpointInput) (*endpointOutput, error) {
	b := in.Body
	e, err := s.webhooks.Update(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, webhook.Patch{URL: b.URL, Description: b.Description, EventTypes: b.EventTypes, Enabled: b.Enabled})
	if err != nil {
		return nil, err
	}
	return &endpointOutput{Body: endpointOf(e)}, nil
}

func (s *Server) deleteWebhookEndpoint(ctx context.Context, in *endpointPath) (*struct{}, error) {
	return nil, s.webhooks.Delete(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
}

func (s *Server) rotateWebhookSecret(ctx context.Context, in *endpointPath) (*endpointSecretOutput, error) {
	e, secret, err := s.webhooks.Rotate(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &endpointSecretOutput{Body: WebhookEndpointWithSecret{WebhookEndpoint: endpointOf(e), Secret: secret}}, nil
}

type testOutput struct {
	Body struct {
		Delivered  bool    `json:"delivered" doc:"Whether the endpoint answered 2xx."`
		MessageID  string  `json:"message_id" doc:"The webhook-id of the test event."`
		StatusCode *int    `json:"status_code" doc:"The HTTP status answered; null for none (a network error)."`
		Error      *string `json:"error" doc:"Why it failed; null on success."`
		DurationMS int64   `json:"duration_ms"`
	}
}

func (s *Server) testWebhookEndpoint(ctx context.Context, in *endpointPath) (*testOutput, error) {
	r, err := s.webhooks.Test(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := &testOutput{}
	out.Body.Delivered, out.Body.MessageID, out.Body.Error, out.Body.DurationMS = r.Failure == "", r.MessageID, optional(r.Failure), r.Took.Milliseconds()
	if r.StatusCode != 0 {
		out.Body.StatusCode = &r.StatusCode
	}
	return out, nil
}

// WebhookDelivery is one attempt at delivering an event to an endpoint.
type WebhookDelivery struct {
	ID         string    `json:"id"`
	MessageID  string    `json:"message_id" doc:"The webhook-id: the same on every attempt at one event (the event's id)."`
	EventType  string    `json:"event_type"`
	EndpointID *string   `json:"endpoint_id" doc:"The endpoint; null for the one --webhook-url defines."`
	URL        string    `json:"url" doc:"The URL delivered to; --webhook-url's with its path and query values hidden."`
	Attempt    int       `json:"attempt" doc:"1 for the first attempt."`
	StatusCode *int      `json:"status_code" doc:"The HTTP status answered; null for none."`
	Error      *string   `json:"error" doc:"Why the attempt failed; null for a success."`
	DurationMS int64     `json:"duration_ms"`
	CreatedAt  time.Time `json:"created_at"`
}

func deliveryOf(d webhook.Delivery) WebhookDelivery {
	out := WebhookDelivery{ID: d.ID, MessageID: d.MessageID, EventType: d.EventType, EndpointID: optional(d.EndpointID), URL: d.URL, Attempt: d.Attempt,
		Error: optional(d.Error), DurationMS: d.DurationMS, CreatedAt: d.CreatedAt}
	if d.StatusCode != 0 {
		out.StatusCode = &d.StatusCode
	}
	return out
}

type deliveriesInput struct {
	Paging
	Endpoint string `query:"endpoint" doc:"Only the attempts at this endpoint."`
	Status   string `query:"status" enum:"succeeded,failed" doc:"Only the attempts that succeeded (2xx) or failed."`
}

type deliveriesOutput struct {
	Body struct {
		Items      []WebhookDelivery `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}
}

func (s *Server) listWebhookDeliveries(ctx context.Context, in *deliveriesInput) (*deliveriesOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.webhooks.Deliveries(ctx, userd.ActorFrom(ctx), webhook.DeliveryFilter{EndpointID: in.Endpoint, Status: in.Status}, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &deliveriesOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, func(d webhook.Delivery) string { return d.ID }, deliveryOf)
	return out, nil
}

type deliveryPath struct {
	ID string `path:"id" doc:"The delivery's id."`
}

type deliveryOutput struct {
	Body WebhookDelivery
}

func (s *Server) retryWebhookDelivery(ctx context.Context, in *deliveryPath) (*deliveryOutput, error) {
	d, err := s.webhooks.Retry(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &deliveryOutput{Body: deliveryOf(d)}, nil
}
