// Package mail sends userd's mail: over SMTP when a server is configured, to
// the log otherwise.
package mail

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"

	"github.com/userd/userd"
	gomail "github.com/wneessen/go-mail"
)

// Message is one mail with a plain-text and an HTML body. Headers are
// further header fields by name, such as List-Unsubscribe; nil for none.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	Headers map[string]string
}

// Sender sends mail.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Log is a Sender that writes each mail to the log, for development and for
// deployments without SMTP.
type Log struct{ Logger *slog.Logger }

// Send logs m.
func (l Log) Send(ctx context.Context, m Message) error {
	l.Logger.InfoContext(ctx, "mail (no --smtp-url set, so it is logged and not sent)", "to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}

// SMTP sends mail through an SMTP server.
type SMTP struct {
	from string
	host string
	opts []gomail.Option
}

// NewSMTP returns a Sender for rawURL: smtp://[user:pass@]host[:port] (25
// by default) or smtps://… (TLS from the start, 465 by default). from is
// the sender's address.
//
// Over smtp:// the connection must turn to TLS with STARTTLS before
// anything is sent, unless the host is on loopback (127.0.0.0/8, ::1,
// localhost), where STARTTLS is used when the server offers it. The query
// ?tls=opportunistic allows that on any host; ?tls=mandatory requires
// STARTTLS on loopback too.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, fmt.Errorf("--smtp-url must be smtp://host:port or smtps://host:port")
	}
	port, opts := 465, []gomail.Option{gomail.WithSSL()}
	if u.Scheme == "smtp" {
		policy, err := tlsPolicy(u)
		if err != nil {
			return nil, err
		}
		port, opts = 25, []gomail.Option{gomail.WithTLSPolicy(policy)}
	} else if len(u.Query()) > 0 {
		return nil, fmt.Errorf("--smtp-url: smtps:// takes no parameters")
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("--smtp-url: bad port %q", p)
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return &SMTP{from: from, host: u.Hostname(), opts: opts}, nil
}

// tlsPolicy returns how an smtp:// URL uses STARTTLS: as its tls parameter
// says, else mandatory unless its host is on loopback.
func tlsPolicy(u *url.URL) (gomail.TLSPolicy, error) {
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return gomail.TLSMandatory, fmt.Errorf("--smtp-url: unknown parameter %q (want tls)", k)
		}
	}
	switch {
	case !q.Has("tls"):
		if userd.Loopback(u.Hostname()) {
			return gomail.TLSOpportunistic, nil
		}
		return gomail.TLSMandatory, nil
	case q.Get("tls") == "mandatory":
		return gomail.TLSMandatory, nil
	case q.Get("tls") == "opportunistic":
		return gomail.TLSOpportunistic, nil
	}
	return gomail.TLSMandatory, fmt.Errorf("--smtp-url: tls=%q: want tls=mandatory or tls=opportunistic", q.Get("tls"))
}

// Send delivers m.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail from %q: %w", s.from, err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail to %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	for name, value := range m.Headers {
		msg.SetGenHeader(gomail.Header(name), value)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	return nil
}
