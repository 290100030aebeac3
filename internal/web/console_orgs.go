package web

import (
	"net/http"

	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/organization"
)

// orgsPage is the organisations' search page.
type orgsPage struct {
	Q, UserID, Next string
	Orgs            []organization.Summary
}

// consoleOrgs finds organisations by name or slug, or those of the user
// the query's user_id names, as GET /v1/admin/orgs does, a page at a time.
func (s *Server) consoleOrgs(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Organisations"
	q := r.URL.Query()
	before, err := decodeCursor(q.Get("cursor"))
	var list []organization.Summary
	if err == nil {
		list, err = s.orgs.Search(r.Context(), q.Get("q"), q.Get("user_id"), before, consolePage+1)
	}
	if err != nil {
		s.failBack(w, r, v, "Organisations", "/admin/orgs", err)
		return
	}
	p := orgsPage{Q: q.Get("q"), UserID: q.Get("user_id")}
	var next *string
	if p.Orgs, next = pageOf(list, consolePage, func(o organization.Summary) string { return o.ID }); next != nil {
		p.Next = *next
	}
	v.Data = p
	s.render(w, http.StatusOK, "orgs", v)
}

// orgPage is an organisation's page.
type orgPage struct {
	organization.Detail
	People        []organization.Person
	Next          string                 // the cursor of the next members
	Subscriptions []billing.Subscription // with billing:read
}

// consoleOrg shows an organisation as GET /v1/admin/orgs/{id} and its
// members (a page after the query's cursor) as GET
// /v1/admin/orgs/{id}/members do, and with billing:read its subscriptions
// as GET /v1/admin/subscriptions?organization_id= does.
func (s *Server) consoleOrg(w http.ResponseWriter, r *http.Request, v *consoleView) {
	id := r.PathValue("id")
	var p orgPage
	before, err := decodeCursor(r.URL.Query().Get("cursor"))
	if err == nil {
		p.Detail, err = s.orgs.Inspect(r.Context(), id)
	}
	var members []organization.Person
	if err == nil {
		members, err = s.orgs.People(r.Context(), id, before, consolePage+1)
	}
	if err == nil && v.Can(billing.ReadPermission) {
		p.Subscriptions, err = s.billing.List(r.Context(), v.caller.Actor, billing.Filter{OrganizationID: id}, "", consolePage)
	}
	if err != nil {
		s.failBack(w, r, v, "Organisations", "/admin/orgs", err)
		return
	}
	var next *string
	if p.People, next = pageOf(members, consolePage, func(m organization.Person) string { return m.UserID }); next != nil {
		p.Next = *next
	}
	v.Title, v.Data = "Organisation "+p.Name, p
	s.render(w, http.StatusOK, "org", v)
}
