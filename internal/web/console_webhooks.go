package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/outbox"
	"github.com/userd/userd/internal/feature/webhook"
)

// webhooksPage is the webhook endpoints, the one --webhook-url defines, and
// the types a new endpoint may receive.
type webhooksPage struct {
	Endpoints  []webhook.Endpoint
	Configured string // --webhook-url as the API shows it; "" for none
	Types      []outbox.Type
}

// webhookSecretPage is the answer to an endpoint's creation or rotation:
// the endpoint and its new secret, shown this once.
type webhookSecretPage struct {
	webhook.Endpoint
	Secret  string
	Rotated bool
}

// webhookTestPage is how a test event went.
type webhookTestPage struct {
	Endpoint string
	webhook.TestResult
}

// webhookDeliveriesPage is a page of delivery attempts.
type webhookDeliveriesPage struct {
	Endpoint, Status string
	Statuses         []string
	Deliveries       []deliveryLine
	Next             string // the next page's address, with the filters
}

// deliveryLine is a delivery attempt as the deliveries' page lists it.
type deliveryLine struct {
	webhook.Delivery
	// Retryable: its event is of the catalogue, which the outbox keeps
	// (not a test or synchronization one), and the attempt is younger than
	// the outbox keeps events (older, its event is gone); Retry still
	// refuses an event that expired since or a deleted endpoint.
	Retryable bool
}

// webhookNotices are the messages shown after an action on the webhook
// pages.
var webhookNotices = map[string]string{
	"enabled":  "The endpoint is enabled: its failures are forgotten and events reach it again.",
	"disabled": "The endpoint is disabled: no event is sent to it until it is enabled again.",
	"deleted":  "The endpoint is deleted: its pending deliveries end, their record stays.",
	"retried":  "The event is scheduled again for its endpoint, with the same webhook-id.",
}

// subscribable are the catalogue's types that an endpoint may receive: the
// API's own list (outbox.Known), in the documentation's order.
func subscribable() []outbox.Type {
	var out []outbox.Type
	for _, t := range outbox.Catalogue {
		if outbox.Known(t.Name) {
			out = append(out, t)
		}
	}
	return out
}

// consoleWebhooks lists the webhook endpoints and the configured one, as GET
// /v1/admin/webhook-endpoints does; with webhooks:write, the form that
// makes one and each endpoint's actions.
func (s *Server) consoleWebhooks(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Webhooks"
	list, err := s.webhooks.List(r.Context(), v.caller.Actor)
	if err != nil {
		s.consoleFail(w, r, v, v.Title, err)
		return
	}
	v.Data = webhooksPage{Endpoints: list, Configured: s.webhooks.ConfiguredURL(), Types: subscribable()}
	v.Notice = webhookNotices[r.URL.Query().Get("done")]
	s.render(w, http.StatusOK, "webhooks", v)
}

// consoleCreateWebhook makes an endpoint, as POST
// /v1/admin/webhook-endpoints does, and shows its secret on the answer,
// this once: it is in no cookie and no address, and the answer is not
// stored (render's Cache-Control: no-store).
func (s *Server) consoleCreateWebhook(w http.ResponseWriter, r *http.Request, v *consoleView) {
	u, desc, types := r.PostFormValue("url"), r.PostFormValue("description"), r.PostForm["event_types"]
	if types == nil {
		types = []string{} // none ticked: every type
	}
	e, secret, err := s.webhooks.Create(r.Context(), v.caller.Actor, v.client, webhook.Patch{URL: &u, Description: &desc, EventTypes: &types})
	if err != nil {
		s.failBack(w, r, v, "Create a webhook endpoint", "/admin/webhooks", err)
		return
	}
	v.Title, v.Data = "Webhook endpoint", webhookSecretPage{Endpoint: e, Secret: secret}
	s.render(w, http.StatusCreated, "webhook", v)
}

// consoleEnableWebhook enables or disables an endpoint, as PATCH
// /v1/admin/webhook-endpoints/{id} does with enabled.
func (s *Server) consoleEnableWebhook(w http.ResponseWriter, r *http.Request, v *consoleView) {
	on := r.PostFormValue("enabled") == "true"
	if _, err := s.webhooks.Update(r.Context(), v.caller.Actor, v.client, r.PathValue("endpoint"), webhook.Patch{Enabled: &on}); err != nil {
		s.failBack(w, r, v, "Change the webhook endpoint", "/admin/webhooks", err)
		return
	}
	done := "disabled"
	if on {
		done = "enabled"
	}
	http.Redirect(w, r, "/admin/webhooks?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// consoleRotateWebhook gives an endpoint a new secret, as POST
// /v1/admin/webhook-endpoints/{id}/rotate-secret does, and shows it this
// once.
func (s *Server) consoleRotateWebhook(w http.ResponseWriter, r *http.Request, v *consoleView) {
	e, secret, err := s.webhooks.Rotate(r.Context(), v.caller.Actor, v.client, r.PathValue("endpoint"))
	if err != nil {
		s.failBack(w, r, v, "Rotate the secret", "/admin/webhooks", err)
		return
	}
	v.Title, v.Data = "Webhook endpoint", webhookSecretPage{Endpoint: e, Secret: secret, Rotated: true}
	s.render(w, http.StatusOK, "webhook", v)
}

// consoleTestWebhook sends a webhook.test event to an endpoint, as POST
// /v1/admin/webhook-endpoints/{id}/test does, and shows how it went.
func (s *Server) consoleTestWebhook(w http.ResponseWriter, r *http.Request, v *consoleView) {
	id := r.PathValue("endpoint")
	res, err := s.webhooks.Test(r.Context(), v.caller.Actor, v.client, id)
	if err != nil {
		s.failBack(w, r, v, "Send a test event", "/admin/webhooks", err)
		return
	}
	v.Title, v.Data = "Test event", webhookTestPage{Endpoint: id, TestResult: res}
	s.render(w, http.StatusOK, "webhook_test", v)
}

// errWebhookNotConfirmed refuses a deletion whose box is not ticked.
var errWebhookNotConfirmed = userd.Invalid([]userd.FieldError{{Field: "confirm", Code: "not_confirmed", Message: "Tick the box to confirm the deletion."}})

// consoleDeleteWebhook deletes an endpoint, as DELETE
// /v1/admin/webhook-endpoints/{id} does, once confirmed.
func (s *Server) consoleDeleteWebhook(w http.ResponseWriter, r *http.Request, v *consoleView) {
	err := errWebhookNotConfirmed
	if r.PostFormValue("confirm") == "yes" {
		err = s.webhooks.Delete(r.Context(), v.caller.Actor, v.client, r.PathValue("endpoint"))
	}
	if err != nil {
		s.failBack(w, r, v, "Delete the webhook endpoint", "/admin/webhooks", err)
		return
	}
	http.Redirect(w, r, "/admin/webhooks?done="+url.QueryEscape("deleted"), http.StatusSeeOther)
}

// consoleWebhookDeliveries lists delivery attempts as GET
// /v1/admin/webhook-deliveries does, newest first, filtered by endpoint and
// status, a page at a time.
func (s *Server) consoleWebhookDeliveries(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Webhook deliveries"
	q := r.URL.Query()
	p := webhookDeliveriesPage{Endpoint: q.Get("endpoint"), Status: q.Get("status"), Statuses: []string{webhook.Succeeded, webhook.Failed}}
	v.Data = p
	before, err := decodeCursor(q.Get("cursor"))
	var list []webhook.Delivery
	if err == nil {
		list, err = s.webhooks.Deliveries(r.Context(), v.caller.Actor, webhook.DeliveryFilter{EndpointID: p.Endpoint, Status: p.Status}, before, consolePage+1)
	}
	if err != nil {
		s.renderError(w, r, v, "webhook_deliveries", err)
		return
	}
	list, next := pageOf(list, consolePage, func(d webhook.Delivery) string { return d.ID })
	kept := time.Now().Add(-outbox.Retention)
	for _, d := range list {
		p.Deliveries = append(p.Deliveries, deliveryLine{Delivery: d, Retryable: outbox.Known(d.EventType) && d.CreatedAt.After(kept)})
	}
	p.Next = nextPage(r, next)
	v.Data = p
	v.Notice = webhookNotices[q.Get("done")]
	s.render(w, http.StatusOK, "webhook_deliveries", v)
}

// consoleRetryWebhook delivers an attempt's event again, as POST
// /v1/admin/webhook-deliveries/{id}/retry does.
func (s *Server) consoleRetryWebhook(w http.ResponseWriter, r *http.Request, v *consoleView) {
	if _, err := s.webhooks.Retry(r.Context(), v.caller.Actor, v.client, r.PathValue("delivery")); err != nil {
		s.failBack(w, r, v, "Retry the delivery", "/admin/webhooks/deliveries", err)
		return
	}
	http.Redirect(w, r, "/admin/webhooks/deliveries?done="+url.QueryEscape("retried"), http.StatusSeeOther)
}
