package web

import (
	"reflect"

	"github.com/danielgtaylor/huma/v2"
	"github.com/userd/userd/internal/feature/outbox"
	"github.com/userd/userd/internal/feature/synchronization"
)

// documentWebhooks fills the OpenAPI document's webhooks section: one entry
// per type of the catalogue, the Standard Webhooks message that userd POSTs
// for it, its data a versioned schema.
func documentWebhooks(api huma.API) {
	doc := api.OpenAPI()
	reg := doc.Components.Schemas
	data := reg.Schema(reflect.TypeFor[outbox.EventData](), true, "WebhookEventData")
	syncData := reg.Schema(reflect.TypeFor[synchronization.WebhookData](), true, "SynchronizationWebhookData")
	header := func(name, desc string) *huma.Param {
		return &huma.Param{Name: name, In: "header", Required: true, Description: desc, Schema: &huma.Schema{Type: huma.TypeString}}
	}
	params := []*huma.Param{
		header("webhook-id", "The event's id: the same on every attempt, so that a receiver drops duplicates."),
		header("webhook-timestamp", "When this attempt was sent, in seconds since the epoch; refuse one too far from now."),
		header("webhook-signature", "v1,<base64 HMAC-SHA256 of id.timestamp.body under the endpoint's secret>; during the 24 hours after a rotation, a second one by the previous secret, space-separated."),
	}
	doc.Webhooks = map[string]*huma.PathItem{}
	for _, t := range append(outbox.Catalogue, outbox.Type{Name: outbox.Test, When: "An administrator asked for a test (POST /v1/admin/webhook-endpoints/{id}/test); sent to that endpoint only."}) {
		d := data
		if t.Direct {
			d = syncData
		}
		body := &huma.Schema{Type: huma.TypeObject, Required: []string{"type", "timestamp", "data"}, AdditionalProperties: false, Properties: map[string]*huma.Schema{
			"type":      {Type: huma.TypeString, Enum: []any{t.Name}},
			"timestamp": {Type: huma.TypeString, Format: "date-time", Description: "When the event happened (the same on every attempt)."},
			"data":      d,
		}}
		doc.Webhooks[t.Name] = &huma.PathItem{Post: &huma.Operation{
			OperationID: "webhook-" + t.Name,
			Summary:     t.Name,
			Description: t.When,
			Tags:        []string{"Webhook events"},
			Parameters:  params,
			RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: body}}},
			Responses: map[string]*huma.Response{
				"2XX": {Description: "Received. Any other answer, or none within 15 seconds, is retried with backoff and the same webhook-id."},
			},
		}}
	}
}
