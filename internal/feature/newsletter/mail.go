package newsletter

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"text/template"
	"time"

	"github.com/userd/userd/internal/platform/mail"
)

//go:embed templates
var templates embed.FS

var (
	textTemplate = template.Must(template.ParseFS(templates, "templates/confirm.txt"))
	htmlTemplate = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/confirm.html"))
)

// confirmation returns the double opt-in mail for email: a link to the
// confirmation page with the token confirm, a link to the unsubscribe page,
// and the one-click unsubscribe header fields, both with the token unsub.
func (s *Service) confirmation(email, confirm, unsub string) (mail.Message, error) {
	data := struct{ Email, Link, Unsubscribe, TTL string }{email, s.link(ConfirmPage, confirm), s.link(UnsubscribePage, unsub), hours(s.deps.ConfirmTTL)}
	var text, html bytes.Buffer
	if err := textTemplate.Execute(&text, data); err != nil {
		return mail.Message{}, fmt.Errorf("render the confirmation mail: %w", err)
	}
	if err := htmlTemplate.Execute(&html, data); err != nil {
		return mail.Message{}, fmt.Errorf("render the confirmation mail: %w", err)
	}
	return mail.Message{To: email, Subject: "Confirm your newsletter subscription", Text: text.String(), HTML: html.String(),
		Headers: Headers(s.link(OneClickPath, unsub))}, nil
}

// hours says d in whole hours, or minutes below two hours.
func hours(d time.Duration) string {
	if d < 2*time.Hour {
		return fmt.Sprintf("%d minutes", int(d.Round(time.Minute)/time.Minute))
	}
	return fmt.Sprintf("%d hours", int(d.Round(time.Hour)/time.Hour))
}
