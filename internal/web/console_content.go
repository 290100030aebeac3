package web

// The console's content pages: the moderation queue, the sponsor ads to
// review and the featured items, each calling the service of the matching
// /v1/admin route under its permission.

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/sponsor"
)

// The permissions of the content pages, as the navigation names them.
const (
	reportsReview = moderation.ReviewPermission
	adsReview     = sponsor.ReviewPermission
	itemsFeature  = engagement.FeaturePermission
)

// reportsPerGroup is how many of a content's open reports the queue shows.
const reportsPerGroup = 10

// reportViews are the moderation queue's views: open (the contents with
// open reports, grouped), each status of a report, and all.
var reportViews = []string{"open", "pending", "reviewed", "resolved", "dismissed", "all"}

// errBadFilter is the error of a list's filter that is none of its values.
func errBadFilter(field string) error {
	return userd.Invalid([]userd.FieldError{{Field: field, Code: "invalid_filter", Message: "Pick one of the " + field + " filter's values."}})
}

// listQuery is a console list's query without the notice of the last
// action: what a form on the list sends back (see backToList).
func listQuery(r *http.Request) string {
	q := r.URL.Query()
	q.Del("done")
	return q.Encode()
}

// nextPage is the address of a list's next page: its query with the
// cursor next ("" at the end).
func nextPage(r *http.Request, next *string) string {
	if next == nil {
		return ""
	}
	q := r.URL.Query()
	q.Del("done")
	q.Set("cursor", *next)
	return (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
}

// backToList goes back to the list at path after an action, with the
// list's filters (the form's back field) and the action's notice.
func backToList(w http.ResponseWriter, r *http.Request, path, action string) {
	q, _ := url.ParseQuery(r.PostFormValue("back"))
	q.Set("done", action)
	http.Redirect(w, r, path+"?"+q.Encode(), http.StatusSeeOther)
}

// contentNotices are the messages shown after an action, by its name in the
// redirect's query (never text from the request).
var contentNotices = map[string]string{
	"reviewed":        "The report is reviewed.",
	"warn":            "The author is warned.",
	"suspend":         "The author is suspended and signed out everywhere.",
	"ban":             "The author is banned and signed out everywhere.",
	"unban":           "The author is active again.",
	"remove_content":  "The content is removed.",
	"restore_content": "The content is shown again.",
	"approved":        "The ad is approved; the sponsor is told.",
	"rejected":        "The ad is rejected; the sponsor is told.",
	"featured":        "The item is featured.",
	"unfeatured":      "The item is off the featured list.",
}

// queuePage is the moderation queue.
type queuePage struct {
	View, ContentType, ContentID string
	Views, Types, Statuses       []string
	// Groups are the open view's contents; the other views have one group
	// without a content, holding the page of reports.
	Groups      []moderation.Reported
	Next, Query string
}

// consoleReports shows the moderation queue: the contents with open
// reports, most reporters first, each with its newest reports (as GET
// /v1/admin/reports?group=content reads them), or the reports of a status,
// newest first, a page at a time (as GET /v1/admin/reports).
func (s *Server) consoleReports(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Moderation queue"
	q := r.URL.Query()
	p := queuePage{View: q.Get("status"), ContentType: q.Get("content_type"), ContentID: q.Get("content_id"), Views: reportViews,
		Types: moderation.ContentTypes, Statuses: moderation.Statuses, Query: listQuery(r)}
	if p.View == "" {
		p.View = "open"
	}
	v.Data, v.Notice = p, contentNotices[q.Get("done")]
	var err error
	switch {
	case !slices.Contains(reportViews, p.View):
		err = errBadFilter("status")
	case p.ContentType != "" && !slices.Contains(moderation.ContentTypes, p.ContentType):
		err = errBadFilter("content_type")
	case p.View == "open":
		p.Groups, err = s.moderation.Grouped(r.Context(), p.ContentType, consolePage, reportsPerGroup)
	default:
		f := moderation.ReportFilter{Status: p.View, ContentType: p.ContentType, ContentID: p.ContentID, Limit: consolePage + 1}
		if f.Status == "all" {
			f.Status = ""
		}
		var list []moderation.Report
		if f.Before, err = decodeCursor(q.Get("cursor")); err == nil {
			list, err = s.moderation.Reports(r.Context(), f)
		}
		page, next := pageOf(list, consolePage, func(r moderation.Report) string { return r.ID })
		p.Groups, p.Next = []moderation.Reported{{Reports: page}}, nextPage(r, next)
	}
	if err != nil {
		s.renderError(w, r, v, "reports", err)
		return
	}
	v.Data = p
	s.render(w, http.StatusOK, "reports", v)
}

// consoleReviewReport sets a report's status and note, as PATCH
// /v1/admin/reports/{id} does.
func (s *Server) consoleReviewReport(w http.ResponseWriter, r *http.Request, v *consoleView) {
	note := r.PostFormValue("resolution_note")
	_, err := s.moderation.Review(r.Context(), v.caller.Actor, v.client, r.PathValue("report"),
		moderation.ReviewInput{Status: r.PostFormValue("status"), ResolutionNote: &note})
	if err != nil {
		s.failBack(w, r, v, "Review", "/admin/reports", err)
		return
	}
	backToList(w, r, "/admin/reports", "reviewed")
}

// consoleActOnContent removes or restores reported content, or warns,
// suspends, bans or restores its author, as POST
// /v1/admin/moderation-actions does; with a report, the action resolves
// it.
func (s *Server) consoleActOnContent(w http.ResponseWriter, r *http.Request, v *consoleView) {
	in := moderation.ActionInput{UserID: r.PostFormValue("user_id"), Reason: r.PostFormValue("reason"), ReportID: r.PostFormValue("report_id")}
	in.Action = r.PostFormValue("action") // a moderation action, not an audit one
	if in.Action == "remove_content" || in.Action == "restore_content" {
		in.ContentType, in.ContentID = r.PostFormValue("content_type"), r.PostFormValue("content_id")
	}
	var err error
	if in.UserID, err = s.userID(r.Context(), in.UserID); err != nil {
		s.failBack(w, r, v, "Moderation", "/admin/reports", err)
		return
	}
	if in.Until, err = formDay(r, "until"); err != nil {
		s.failBack(w, r, v, "Moderation", "/admin/reports", err)
		return
	}
	if _, err := s.moderation.Act(r.Context(), v.caller.Actor, v.client, in); err != nil {
		s.failBack(w, r, v, "Moderation", "/admin/reports", err)
		return
	}
	backToList(w, r, "/admin/reports", in.Action)
}

// adViews are the sponsor ads' views: each status, pending first, and all.
var adViews = append(slices.Clone(sponsor.Statuses), "all")

// adsPage is the sponsor ads' review queue.
type adsPage struct {
	View        string
	Views       []string
	Ads         []sponsor.Ad
	Next, Query string
}

// consoleSponsorAds lists sponsor ads of a status, the pending ones unless
// another is asked for, newest first, a page at a time, as GET
// /v1/admin/sponsor-ads?status= does.
func (s *Server) consoleSponsorAds(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Sponsor ads"
	q := r.URL.Query()
	p := adsPage{View: q.Get("status"), Views: adViews, Query: listQuery(r)}
	if p.View == "" {
		p.View = sponsor.Pending
	}
	v.Data, v.Notice = p, contentNotices[q.Get("done")]
	status := p.View
	if status == "all" {
		status = ""
	}
	var list []sponsor.Ad
	before, err := decodeCursor(q.Get("cursor"))
	if err == nil {
		list, err = s.sponsors.List(r.Context(), v.caller.Actor, status, before, consolePage+1)
	}
	if err != nil {
		s.renderError(w, r, v, "sponsor_ads", err)
		return
	}
	var next *string
	p.Ads, next = pageOf(list, consolePage, adID)
	p.Next = nextPage(r, next)
	v.Data = p
	s.render(w, http.StatusOK, "sponsor_ads", v)
}

// consoleReviewAd approves or rejects a sponsor ad with a note for the
// sponsor, as PATCH /v1/admin/sponsor-ads/{id} does.
func (s *Server) consoleReviewAd(w http.ResponseWriter, r *http.Request, v *consoleView) {
	ad, err := s.sponsors.Review(r.Context(), v.caller.Actor, v.client, r.PathValue("ad"), r.PostFormValue("status"), r.PostFormValue("review_note"))
	if err != nil {
		s.failBack(w, r, v, "Review", "/admin/sponsor-ads", err)
		return
	}
	backToList(w, r, "/admin/sponsor-ads", ad.Status)
}

// featuredForm is the featured item's form, as typed.
type featuredForm struct {
	Item, Position, From, Until string
}

// featuredPage is the featured list and its form.
type featuredPage struct {
	Items []engagement.FeaturedItem
	Form  featuredForm
}

// minute is how the featured form writes a time (datetime-local, in UTC).
const minute = "2006-01-02T15:04"

// formOf is the form that changes a featured item as it is.
func formOf(f engagement.FeaturedItem) featuredForm {
	out := featuredForm{Item: f.Item, Position: strconv.Itoa(f.Position)}
	if f.From != nil {
		out.From = f.From.UTC().Format(minute)
	}
	if f.Until != nil {
		out.Until = f.Until.UTC().Format(minute)
	}
	return out
}

// featured reads the form into what engagement.SetFeatured writes.
func (f featuredForm) featured() (engagement.Featured, error) {
	var out engagement.Featured
	var fs []userd.FieldError
	if f.Position != "" {
		n, err := strconv.Atoi(f.Position)
		if err != nil {
			fs = append(fs, userd.FieldError{Field: "position", Code: "invalid_position", Message: "Give a whole number for the position."})
		}
		out.Position = &n
	}
	for _, t := range []struct {
		field, v string
		to       **time.Time
	}{{"featured_from", f.From, &out.From}, {"featured_until", f.Until, &out.Until}} {
		if t.v == "" {
			continue
		}
		at, err := time.Parse(minute, t.v)
		if err != nil {
			fs = append(fs, userd.FieldError{Field: t.field, Code: "invalid_time", Message: "Give a UTC time, such as 2026-01-31T09:00."})
		}
		*t.to = &at
	}
	return out, userd.Invalid(fs)
}

// consoleFeatured lists the featured items, past, present and to come, and
// the form that features one (filled with an item's row when ?item= names
// it).
func (s *Server) consoleFeatured(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Featured items"
	list, err := s.items.AllFeatured(r.Context(), v.caller.Actor, engagement.MaxFeatured)
	if err != nil {
		s.consoleFail(w, r, v, v.Title, err)
		return
	}
	p := featuredPage{Items: list, Form: featuredForm{Item: r.URL.Query().Get("item")}}
	for _, f := range list {
		if f.Item == p.Form.Item {
			p.Form = formOf(f)
		}
	}
	v.Data, v.Notice = p, contentNotices[r.URL.Query().Get("done")]
	s.render(w, http.StatusOK, "featured", v)
}

// consoleFeature features an item or changes its row, as PUT
// /v1/admin/featured-items/{item} does.
func (s *Server) consoleFeature(w http.ResponseWriter, r *http.Request, v *consoleView) {
	form := featuredForm{Item: r.PostFormValue("item"), Position: r.PostFormValue("position"), From: r.PostFormValue("featured_from"),
		Until: r.PostFormValue("featured_until")}
	f, err := form.featured()
	if err == nil {
		_, err = s.items.SetFeatured(r.Context(), v.caller.Actor, v.client, form.Item, f)
	}
	if err != nil {
		s.failBack(w, r, v, "Featured items", "/admin/featured", err)
		return
	}
	http.Redirect(w, r, "/admin/featured?done=featured", http.StatusSeeOther)
}

// consoleUnfeature takes an item off the featured list, as DELETE
// /v1/admin/featured-items/{item} does.
func (s *Server) consoleUnfeature(w http.ResponseWriter, r *http.Request, v *consoleView) {
	if err := s.items.Unfeature(r.Context(), v.caller.Actor, v.client, r.PostFormValue("item")); err != nil {
		s.failBack(w, r, v, "Featured items", "/admin/featured", err)
		return
	}
	http.Redirect(w, r, "/admin/featured?done=unfeatured", http.StatusSeeOther)
}
