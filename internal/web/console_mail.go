package web

import (
	"net/http"

	"github.com/userd/userd/internal/feature/mailq"
)

// mailPage is a page of the mail deliveries.
type mailPage struct {
	Status, To string
	Statuses   []string
	Deliveries []mailq.Delivery
	Next       string // the next page's address, with the filters
}

// consoleMail lists the mail deliveries as GET /v1/admin/mail-deliveries
// does, newest first, filtered by status and address, a page at a time.
func (s *Server) consoleMail(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Mail"
	q := r.URL.Query()
	p := mailPage{Status: q.Get("status"), To: q.Get("to"), Statuses: mailq.Statuses}
	v.Data = p
	before, err := decodeCursor(q.Get("cursor"))
	var list []mailq.Delivery
	if err == nil {
		list, err = s.mail.List(r.Context(), v.caller.Actor, mailq.Filter{Status: p.Status, To: p.To}, before, consolePage+1)
	}
	if err != nil {
		s.renderError(w, r, v, "mail", err)
		return
	}
	var next *string
	p.Deliveries, next = pageOf(list, consolePage, func(d mailq.Delivery) string { return d.ID })
	p.Next = nextPage(r, next)
	v.Data = p
	s.render(w, http.StatusOK, "mail", v)
}
