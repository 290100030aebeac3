package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
)

// auditFilter is the audit page's filter form, as typed.
type auditFilter struct {
	Actor, Action, Target, Since, Until string
}

// auditPage is a page of the audit log.
type auditPage struct {
	F       auditFilter
	Entries []audit.Entry
	Next    string // the next page's address, with the filters
}

// filter reads the form into the audit's filter: whose trail by user id,
// an action or a prefix, a target id, and a range of UTC days (the until
// day included).
func (f auditFilter) filter() (audit.Filter, error) {
	out := audit.Filter{Action: f.Action, TargetID: f.Target}
	fe := auditBounds(&out, f.Actor, f.Since, f.Until, func(v string) (time.Time, error) { return time.Parse(time.DateOnly, v) },
		userd.FieldError{Code: "invalid_day", Message: "Give a day, such as 2026-01-31."})
	if !out.Until.IsZero() {
		out.Until = out.Until.AddDate(0, 0, 1) // the until day included
	}
	return out, userd.Invalid(fe)
}

// consoleAudit lists the audit trail as GET /v1/admin/activity-logs does,
// filtered, a page at a time.
func (s *Server) consoleAudit(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Audit log"
	q := r.URL.Query()
	p := auditPage{F: auditFilter{Actor: q.Get("actor"), Target: q.Get("target"), Since: q.Get("since"), Until: q.Get("until")}}
	p.F.Action = q.Get("action") // typed by the administrator: a filter, which audit.List checks
	v.Data = p
	f, err := p.F.filter()
	var before string
	if err == nil {
		before, err = decodeCursor(q.Get("cursor"))
	}
	var list []audit.Entry
	if err == nil {
		list, err = s.admin.ActivityLogs(r.Context(), f, before, consolePage+1)
	}
	if err != nil {
		s.renderError(w, r, v, "audit", err)
		return
	}
	var next *string
	p.Entries, next = pageOf(list, consolePage, func(e audit.Entry) string { return e.ID })
	if next != nil {
		q.Set("cursor", *next)
		p.Next = (&url.URL{Path: "/admin/audit", RawQuery: q.Encode()}).String()
	}
	v.Data = p
	s.render(w, http.StatusOK, "audit", v)
}
