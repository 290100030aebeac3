package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/newsletter"
)

// NewsletterSubscriber is a newsletter subscription as the administration
// sees it.
type NewsletterSubscriber struct {
	ID             string     `json:"id"`
	Email          string     `json:"email" doc:"As userd stores emails: lower-cased, NFKC, the domain in IDNA ASCII form."`
	Status         string     `json:"status" enum:"pending,confirmed,unsubscribed" doc:"pending until the mailed confirmation is used; unsubscribed after an unsubscription."`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ConfirmedAt    *time.Time `json:"confirmed_at" doc:"When it was last confirmed; null if never."`
	UnsubscribedAt *time.Time `json:"unsubscribed_at" doc:"When it was last unsubscribed; null if never."`
	UnsubscribeURL string     `json:"unsubscribe_url,omitempty" doc:"The one-click unsubscribe URL of the subscriber: send it in your newsletter mails as List-Unsubscribe: <URL> with List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058). Not in the user's export."`
}

func newsletterSubscriberOf(s newsletter.Subscription) NewsletterSubscriber {
	return NewsletterSubscriber{ID: s.ID, Email: s.Email, Status: s.Status, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		ConfirmedAt: s.ConfirmedAt, UnsubscribedAt: s.UnsubscribedAt, UnsubscribeURL: s.UnsubscribeURL}
}

// subscribeAnswer is the one body of every accepted subscription, whatever
// the address's state.
const subscribeAnswer = "If this address may receive the newsletter, a mail with a confirmation link is on its way; the subscription starts once the link is opened."

type subscribeInput struct {
	Body struct {
		Email string `json:"email" doc:"The address to subscribe (422 invalid_email when no user could have it)."`
	}
}

type subscribeOutput struct {
	Body struct {
		Message string `json:"message" doc:"The same sentence whatever the address's state."`
	}
}

func (s *Server) subscribeNewsletter(ctx context.Context, in *subscribeInput) (*subscribeOutput, error) {
	if err := s.newsletter.Subscribe(ctx, s.client(ctx), in.Body.Email); err != nil {
		return nil, err
	}
	out := &subscribeOutput{}
	out.Body.Message = subscribeAnswer
	return out, nil
}

type confirmNewsletterInput struct {
	Body struct {
		Token string `json:"token" doc:"The token of the confirmation mail's link (udnc_…)."`
	}
}

type newsletterStatusOutput struct {
	Body struct {
		Status string `json:"status" enum:"confirmed,unsubscribed" doc:"The subscription's status now."`
	}
}

func newsletterStatus(status string) *newsletterStatusOutput {
	out := &newsletterStatusOutput{}
	out.Body.Status = status
	return out
}

func (s *Server) confirmNewsletter(ctx context.Context, in *confirmNewsletterInput) (*newsletterStatusOutput, error) {
	if _, err := s.newsletter.Confirm(ctx, s.client(ctx), in.Body.Token); err != nil {
		return nil, err
	}
	return newsletterStatus(newsletter.Confirmed), nil
}

// unsubscribeInput takes the token from the JSON body, or from the URL
// with any form body: a mail provider's one-click POST (RFC 8058) sends
// List-Unsubscribe=One-Click as a form to the List-Unsubscribe URL, which
// carries the token.
type unsubscribeInput struct {
	Token       string `query:"token" doc:"The unsubscribe token (udnu_…), as the List-Unsubscribe URL carries it for a one-click POST."`
	ContentType string `header:"Content-Type"`
	RawBody     []byte
}

// unsubscribeBody is the JSON form of an unsubscription.
type unsubscribeBody struct {
	Token string `json:"token,omitempty" doc:"The unsubscribe token (udnu_…); without it, the URL's token."`
}

// errUnsubscribeBody refuses a JSON body that is not an unsubscribeBody.
var errUnsubscribeBody = userd.Errorf(userd.KindMalformed, "malformed_json", `The body is not valid JSON: send {"token": "udnu_…"}.`)

func (s *Server) unsubscribeNewsletter(ctx context.Context, in *unsubscribeInput) (*newsletterStatusOutput, error) {
	tok := in.Token
	if isJSON(in.ContentType) {
		var b unsubscribeBody
		dec := json.NewDecoder(bytes.NewReader(in.RawBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return nil, errUnsubscribeBody
		}
		if b.Token != "" {
			tok = b.Token
		}
	}
	if err := s.newsletter.Unsubscribe(ctx, s.client(ctx), tok); err != nil {
		return nil, err
	}
	return newsletterStatus(newsletter.Unsubscribed), nil
}

// documentOneClick describes the bodies that the unsubscribe operation
// takes: huma sees only its raw body.
func documentOneClick(s *Server, path string) {
	op := s.api.OpenAPI().Paths[path].Post
	form := &huma.MediaType{Schema: &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
		"List-Unsubscribe": {Type: "string", Enum: []any{"One-Click"}, Description: "As RFC 8058's one-click POST sends it; the token is the URL's."}}}}
	op.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		"application/json":                  {Schema: s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[unsubscribeBody](), true, "")},
		"application/x-www-form-urlencoded": form,
		"multipart/form-data":               form,
	}}
	op.Responses["415"].Description = http.StatusText(http.StatusUnsupportedMediaType) + ": the body is neither application/json nor a form."
}

type adminSubscribersInput struct {
	Paging
	Status string `query:"status" enum:"pending,confirmed,unsubscribed" doc:"Only the subscriptions with this status; every one when absent. Not with format=csv."`
	Format string `query:"format" enum:"json,csv" default:"json" doc:"csv: every confirmed subscriber, oldest first, as text/csv (email, confirmed_at, unsubscribe_url), without pages."`
}

// NewsletterSubscribers is a page of subscribers.
type NewsletterSubscribers struct {
	Items      []NewsletterSubscriber `json:"items"`
	NextCursor *string                `json:"next_cursor"`
}

func subscriberID(s newsletter.Subscription) string { return s.ID }

// adminSubscribers serves a page of subscribers as JSON, or every confirmed
// one as CSV, written as it is read.
func (s *Server) adminSubscribers(ctx context.Context, in *adminSubscribersInput) (*huma.StreamResponse, error) {
	a := userd.ActorFrom(ctx)
	if in.Format == "csv" {
		c := s.client(ctx)
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			_, w := humago.Unwrap(hctx)
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="newsletter-subscribers.csv"`)
			w.WriteHeader(http.StatusOK)
			if err := writeSubscribersCSV(w, func(put func([]newsletter.Subscription) error) error {
				return s.newsletter.Export(ctx, a, c, put)
			}); err != nil {
				s.log.ErrorContext(ctx, "newsletter export", "err", err)
			}
		}}, nil
	}
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.newsletter.List(ctx, a, in.Status, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	var page NewsletterSubscribers
	page.Items, page.NextCursor = mapPage(list, in.Limit, subscriberID, newsletterSubscriberOf)
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		_, w := humago.Unwrap(hctx)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if err := jsonFormat.Marshal(w, page); err != nil {
			s.log.ErrorContext(ctx, "newsletter subscribers", "err", err)
		}
	}}, nil
}

// writeSubscribersCSV writes the header line, then each subscriber that
// export gives, a batch at a time.
func writeSubscribersCSV(w io.Writer, export func(put func([]newsletter.Subscription) error) error) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"email", "confirmed_at", "unsubscribe_url"}); err != nil {
		return err
	}
	err := export(func(batch []newsletter.Subscription) error {
		for _, sub := range batch {
			at := ""
			if sub.ConfirmedAt != nil {
				at = sub.ConfirmedAt.Format(time.RFC3339)
			}
			if err := cw.Write([]string{csvCell(sub.Email), csvCell(at), csvCell(sub.UnsubscribeURL)}); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

// csvCell keeps a cell from being read as a formula by a spreadsheet (CSV
// injection): one that starts with = + - @, a tab or a carriage return
// gets a leading single quote.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// subscribersDoc documents the two shapes of the subscribers' answer.
func subscribersDoc(s *Server) *huma.Response {
	return &huma.Response{
		Description: "A page of subscribers as JSON; with format=csv, every confirmed subscriber as CSV (a header line, then email, confirmed_at, unsubscribe_url; a cell that starts with = + - or @ gets a leading ').",
		Content: map[string]*huma.MediaType{
			"application/json": {Schema: s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[NewsletterSubscribers](), true, "")},
			"text/csv":         {Schema: &huma.Schema{Type: "string"}},
		},
	}
}

type subscriberIDInput struct {
	ID string `path:"id" doc:"The subscription's id (404 newsletter_subscriber_not_found when there is none)."`
}

func (s *Server) deleteSubscriber(ctx context.Context, in *subscriberIDInput) (*struct{}, error) {
	return nil, s.newsletter.Delete(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
}

// confirmNewsletterPage is where a confirmation mail leads: a form that
// POSTs the token back (a mail scanner that fetches the link uses nothing
// up).
func (s *Server) confirmNewsletterPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Confirm your newsletter subscription", Button: "Confirm", Form: true}
	if !s.posted(w, r, &p) {
		return
	}
	_, err := s.newsletter.Confirm(r.Context(), s.clientOf(r), p.Token)
	s.pageResult(w, r, p, err, "Your subscription is confirmed. You can close this page.")
}

// unsubscribeNewsletterPage is where the unsubscribe link of a mail's body
// leads: a form that POSTs the token back.
func (s *Server) unsubscribeNewsletterPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Unsubscribe from the newsletter", Button: "Unsubscribe", Form: true}
	if !s.posted(w, r, &p) {
		return
	}
	err := s.newsletter.Unsubscribe(r.Context(), s.clientOf(r), p.Token)
	s.pageResult(w, r, p, err, "You are unsubscribed: no newsletter will come to this address. You can close this page.")
}
