package web

// The console's billing and collections pages, each calling the service of
// the matching /v1/admin route under its permission.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/collection"
)

// The permissions of the billing and collections pages.
const (
	billingRead      = billing.ReadPermission
	billingWrite     = billing.WritePermission
	collectionsWrite = collection.WritePermission
)

// subStatuses are the statuses of a subscription, for the filter.
var subStatuses = []string{billing.Trialing, billing.Active, billing.PastDue, billing.Canceled, billing.Unpaid, billing.Incomplete,
	billing.IncompleteExpired, billing.Paused}

// billingNotices are the messages shown after an action, by its name in
// the redirect's query.
var billingNotices = map[string]string{
	"granted": "The plan is granted.",
	"ended":   "The manual subscription is ended; its roles are gone.",
}

// subsPage is the subscriptions' page.
type subsPage struct {
	F             billing.Filter
	Statuses      []string
	Subscriptions []billing.Subscription
	Manual        string // the provider of the grants that end here
	Next, Query   string
}

// consoleBilling lists subscriptions by status, plan and provider, newest
// first, a page at a time, as GET /v1/admin/subscriptions does, with the
// form that grants a plan by hand (billing:write).
func (s *Server) consoleBilling(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Subscriptions"
	q := r.URL.Query()
	p := subsPage{F: billing.Filter{Status: q.Get("status"), Plan: q.Get("plan"), Provider: q.Get("provider")}, Statuses: subStatuses,
		Manual: billing.Manual, Query: listQuery(r)}
	v.Data, v.Notice = p, billingNotices[q.Get("done")]
	var list []billing.Subscription
	before, err := decodeCursor(q.Get("cursor"))
	if err == nil && p.F.Status != "" && !slices.Contains(subStatuses, p.F.Status) {
		err = errBadFilter("status")
	}
	if err == nil {
		list, err = s.billing.List(r.Context(), v.caller.Actor, p.F, before, consolePage+1)
	}
	if err != nil {
		s.renderError(w, r, v, "billing", err)
		return
	}
	var next *string
	p.Subscriptions, next = pageOf(list, consolePage, func(x billing.Subscription) string { return x.ID })
	p.Next = nextPage(r, next)
	v.Data = p
	s.render(w, http.StatusOK, "billing", v)
}

// consoleGrant grants a plan by hand to a user (by id, legacy id or email)
// or an organisation until a day, as POST /v1/admin/subscriptions does.
func (s *Server) consoleGrant(w http.ResponseWriter, r *http.Request, v *consoleView) {
	g := billing.Grant{OrganizationID: r.PostFormValue("organization_id"), Plan: r.PostFormValue("plan")}
	var err error
	if ref := r.PostFormValue("user"); ref != "" {
		g.UserID, err = s.admin.UserRef(r.Context(), ref)
	}
	if err == nil {
		if g.EndsAt, err = time.Parse(time.DateOnly, r.PostFormValue("ends_at")); err != nil {
			err = errBadDay
		}
	}
	if err == nil {
		_, err = s.billing.Grant(r.Context(), v.caller.Actor, v.client, g)
	}
	if err != nil {
		s.failBack(w, r, v, "Grant", "/admin/billing", err)
		return
	}
	backToList(w, r, "/admin/billing", "granted")
}

// consoleEndGrant ends a manual subscription now, as DELETE
// /v1/admin/subscriptions/{id} does.
func (s *Server) consoleEndGrant(w http.ResponseWriter, r *http.Request, v *consoleView) {
	if _, err := s.billing.EndGrant(r.Context(), v.caller.Actor, v.client, r.PathValue("sub")); err != nil {
		s.failBack(w, r, v, "End", "/admin/billing", err)
		return
	}
	backToList(w, r, "/admin/billing", "ended")
}

// billingEventView is a provider's event with its payload indented.
type billingEventView struct {
	billing.Event
	Pretty string
}

// eventsPage is the billing events' page.
type eventsPage struct {
	Applied string // "false" (the default), "true" or "all"
	Events  []billingEventView
	Next    string
}

// consoleBillingEvents lists the providers' events, newest first, a page at
// a time: those not applied unless another view is asked for, as GET
// /v1/admin/billing-events?applied=false does.
func (s *Server) consoleBillingEvents(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Billing events"
	q := r.URL.Query()
	p := eventsPage{Applied: q.Get("applied")}
	if p.Applied == "" {
		p.Applied = "false"
	}
	v.Data = p
	var applied *bool
	if p.Applied != "all" {
		b := p.Applied == "true"
		applied = &b
	}
	var list []billing.Event
	before, err := decodeCursor(q.Get("cursor"))
	if err == nil && !slices.Contains([]string{"false", "true", "all"}, p.Applied) {
		err = errBadFilter("applied")
	}
	if err == nil {
		list, err = s.billing.Events(r.Context(), v.caller.Actor, applied, before, consolePage+1)
	}
	if err != nil {
		s.renderError(w, r, v, "billing_events", err)
		return
	}
	page, next := pageOf(list, consolePage, func(e billing.Event) string { return e.ID })
	for _, e := range page {
		p.Events = append(p.Events, billingEventView{Event: e, Pretty: pretty(e.Payload)})
	}
	p.Next = nextPage(r, next)
	v.Data = p
	s.render(w, http.StatusOK, "billing_events", v)
}

// pretty is a JSON text indented for reading, or as it is when it is not
// JSON.
func pretty(raw []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return string(raw)
	}
	return out.String()
}

// declarationView is a collection as the collections' page shows it.
type declarationView struct {
	collection.Collection
	Fields []string // its schema's properties, a required one marked *
	Pretty string   // its declaration as JSON, indented
}

// collectionsPage is the declarations and the record browser.
type collectionsPage struct {
	Collections       []declarationView
	Collection, Owner string // the browser's choice
	OwnerKind         string // whose records the chosen collection holds
	Records           []recordView
	Browsed           bool // a collection and an owner were chosen
	Next              string
}

// recordView is a record with its data indented.
type recordView struct {
	collection.Record
	Pretty string
}

// consoleCollections shows every collection's declaration, as GET
// /v1/admin/collections does, and, once a collection and an owner are
// chosen, that owner's records of it, newest first, a page at a time, as
// GET /v1/admin/collections/{name}/records?owner= does (each read audited).
func (s *Server) consoleCollections(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Collections"
	q := r.URL.Query()
	p := collectionsPage{Collection: q.Get("collection"), Owner: strings.TrimSpace(q.Get("owner"))}
	v.Data = p
	cs, err := s.collections.Collections(r.Context(), v.caller.Actor)
	if err != nil {
		s.renderError(w, r, v, "collections", err)
		return
	}
	for _, c := range cs {
		p.Collections = append(p.Collections, viewOf(c))
		if c.Name == p.Collection {
			p.OwnerKind = c.Declaration.Owner
		}
	}
	v.Data = p
	if p.Collection == "" || p.Owner == "" {
		s.render(w, http.StatusOK, "collections", v)
		return
	}
	owner := p.Owner
	if p.OwnerKind == collection.OwnerUser {
		owner, err = s.admin.UserRef(r.Context(), p.Owner)
	}
	var page collection.Page
	if err == nil {
		page, err = s.collections.RecordsOf(r.Context(), v.caller.Actor, v.client, p.Collection, owner, collection.Query{Cursor: q.Get("cursor"), Limit: consolePage})
	}
	if err != nil {
		s.renderError(w, r, v, "collections", err)
		return
	}
	p.Browsed = true
	for _, rec := range page.Records {
		p.Records = append(p.Records, recordView{Record: rec, Pretty: pretty(rec.Data)})
	}
	if page.Next != "" {
		p.Next = nextPage(r, &page.Next)
	}
	v.Data = p
	s.render(w, http.StatusOK, "collections", v)
}

// viewOf is how the collections' page shows a collection.
func viewOf(c collection.Collection) declarationView {
	out := declarationView{Collection: c}
	props, _ := c.Declaration.Schema["properties"].(map[string]any)
	required, _ := c.Declaration.Schema["required"].([]any)
	for name := range props {
		if slices.Contains(required, any(name)) {
			name += " *"
		}
		out.Fields = append(out.Fields, name)
	}
	slices.Sort(out.Fields)
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(c.Declaration) // read from JSON: it encodes
	out.Pretty = raw.String()
	return out
}
