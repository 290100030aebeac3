package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/mailq"
)

// MailDelivery is a mail that userd sent or will send, as the
// administration sees it: never its body, which carries tokens.
type MailDelivery struct {
	ID        string     `json:"id"`
	UserID    *string    `json:"user_id" doc:"The user the mail is for; null for a mail to an address (an invitation, a newsletter confirmation, a password reset asked for an address without an account)."`
	To        string     `json:"to" doc:"The recipient's address."`
	Kind      string     `json:"kind" enum:"verify_email,reset_password,security_notice,org_invitation,newsletter_confirm"`
	Subject   string     `json:"subject"`
	Status    string     `json:"status" enum:"queued,sent,failed,skipped" doc:"queued until the SMTP server takes it (sent) or the attempts run out (failed); skipped: written and never sent (a password reset asked for an address without an account)."`
	Attempts  int        `json:"attempts" doc:"Delivery attempts made so far."`
	LastError *string    `json:"last_error" doc:"The error of the last failed attempt; null once sent."`
	CreatedAt time.Time  `json:"created_at" doc:"When the transaction that decided to send it committed the mail."`
	SentAt    *time.Time `json:"sent_at" doc:"When the SMTP server took it; null until then."`
}

func mailDeliveryOf(d mailq.Delivery) MailDelivery {
	return MailDelivery{ID: d.ID, UserID: d.UserID, To: d.To, Kind: d.Kind, Subject: d.Subject, Status: d.Status, Attempts: d.Attempts,
		LastError: d.LastError, CreatedAt: d.CreatedAt, SentAt: d.SentAt}
}

type mailDeliveriesInput struct {
	Paging
	Status string `query:"status" enum:"queued,sent,failed,skipped" doc:"Only the deliveries with this status."`
	To     string `query:"to" doc:"Only the mail to this exact address."`
	Kind   string `query:"kind" enum:"verify_email,reset_password,security_notice,org_invitation,newsletter_confirm" doc:"Only the mail of this kind."`
}

type mailDeliveriesOutput struct {
	Body struct {
		Items      []MailDelivery `json:"items"`
		NextCursor *string        `json:"next_cursor"`
	}
}

func (s *Server) listMailDeliveries(ctx context.Context, in *mailDeliveriesInput) (*mailDeliveriesOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.mail.List(ctx, userd.ActorFrom(ctx), mailq.Filter{Status: in.Status, To: in.To, Kind: in.Kind}, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &mailDeliveriesOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, func(d mailq.Delivery) string { return d.ID }, mailDeliveryOf)
	return out, nil
}
