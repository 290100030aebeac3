package auth

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

//go:embed templates
var templates embed.FS

var (
	textTemplates = template.Must(template.ParseFS(templates, "templates/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/*.html"))
)

// mailKind is a kind of single-use token that mail carries.
type mailKind struct {
	table   string // verification_tokens or password_reset_tokens
	prefix  string
	path    string // the page under the public URL that takes ?token=
	subject string
	tmpl    string // templates/<tmpl>.txt and .html
	mail    string // the kind of its mail (mailq)
}

var (
	verification  = mailKind{"verification_tokens", "udv_", "/verify-email", "Confirm your email address", "verify", mailq.VerifyEmail}
	passwordReset = mailKind{"password_reset_tokens", "udp_", "/reset-password", "Reset your password", "reset", mailq.ResetPassword}
)

// mailToken is a token to mail in the transaction that issued it.
type mailToken struct {
	kind  mailKind
	to    string
	token string
	ttl   time.Duration
}

// issue stores a new token of kind k for email and returns it to be mailed.
func (s *Service) issue(ctx context.Context, tx *sqldb.Tx, k mailKind, email string, ttl time.Duration) (mailToken, error) {
	tok, hash := token.New(k.prefix)
	_, err := tx.Exec(ctx, `INSERT INTO `+k.table+` (identifier, token, expires, created_at) VALUES ($1, $2, $3, $4)`,
		email, hash, tx.Now.Add(ttl), tx.Now)
	if err != nil {
		return mailToken{}, fmt.Errorf("insert %s: %w", k.table, err)
	}
	return mailToken{kind: k, to: email, token: tok, ttl: ttl}, nil
}

// issueVerification stores a verification token for u's email and queues
// its mail in tx.
func (s *Service) issueVerification(ctx context.Context, tx *sqldb.Tx, u account.User) error {
	t, err := s.issue(ctx, tx, verification, *u.Email, s.cfg.VerifyTTL)
	if err != nil {
		return err
	}
	if err := s.queueToken(ctx, tx, t, mailq.Mail{UserID: u.ID}); err != nil {
		return err
	}
	return audit.Record(ctx, tx, audit.Event{UserID: u.ID, Action: audit.EmailVerificationSent, TargetType: "user", TargetID: u.ID})
}

// peek returns the identifier of a live token of kind k, without using it.
func peek(ctx context.Context, tx *sqldb.Tx, k mailKind, tok string) (string, error) {
	hash, ok := token.Parse(k.prefix, tok)
	if !ok {
		return "", ErrInvalidToken
	}
	var ident string
	err := tx.QueryRow(ctx, `SELECT identifier FROM `+k.table+` WHERE token = $1 AND expires > $2`, hash, tx.Now).Scan(&ident)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrInvalidToken
	}
	if err != nil {
		return "", fmt.Errorf("find %s: %w", k.table, err)
	}
	return ident, nil
}

// consume uses a live token of kind k: it deletes it and returns its
// identifier, or ErrInvalidToken when it is unknown, used or expired.
func consume(ctx context.Context, tx *sqldb.Tx, k mailKind, tok string) (string, error) {
	hash, ok := token.Parse(k.prefix, tok)
	if !ok {
		return "", ErrInvalidToken
	}
	var ident string
	err := tx.QueryRow(ctx, `DELETE FROM `+k.table+` WHERE token = $1 AND expires > $2 RETURNING identifier`, hash, tx.Now).Scan(&ident)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrInvalidToken
	}
	if err != nil {
		return "", fmt.Errorf("use %s: %w", k.table, err)
	}
	return ident, nil
}

// queueToken renders the mail for t and queues it in tx, as m says (its
// user, whether to skip it).
func (s *Service) queueToken(ctx context.Context, tx *sqldb.Tx, t mailToken, m mailq.Mail) error {
	data := struct {
		Email, Link, TTL string
	}{t.to, strings.TrimSuffix(s.cfg.PublicURL, "/") + t.kind.path + "?token=" + url.QueryEscape(t.token), humanize(t.ttl)}
	msg, err := render(t.kind.tmpl, data)
	if err != nil {
		return err
	}
	msg.To, msg.Subject = t.to, t.kind.subject
	m.Kind, m.Message = t.kind.mail, msg
	return s.Mail.Queue(ctx, tx, m)
}

// render renders the text and HTML bodies of templates/<tmpl>.txt and
// .html.
func render(tmpl string, data any) (mail.Message, error) {
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, tmpl+".txt", data); err != nil {
		return mail.Message{}, fmt.Errorf("render mail %s: %w", tmpl, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, tmpl+".html", data); err != nil {
		return mail.Message{}, fmt.Errorf("render mail %s: %w", tmpl, err)
	}
	return mail.Message{Text: text.String(), HTML: html.String()}, nil
}

func humanize(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0 && d >= time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d.Round(time.Minute)/time.Minute), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// VerifyEmail uses a verification token: the user whose email it was sent
// to is marked verified. It returns ErrInvalidToken for an unknown, used or
// expired token, or one sent to an address the user no longer has.
func (s *Service) VerifyEmail(ctx context.Context, tok string, c Client) error {
	// System: the token names an email, not yet a user.
	return s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		email, err := consume(ctx, tx, verification, tok)
		if err != nil {
			return err
		}
		id, err := account.VerifyEmailOf(ctx, tx, email)
		if errors.Is(err, account.ErrNotFound) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: id, Action: audit.EmailVerified, TargetType: "user", TargetID: id, IP: c.IP, UserAgent: c.UserAgent})
	})
}

// ResendVerification mails the actor a new verification link. It returns
// ErrNoEmail, ErrAlreadyVerified, or a rate-limit error.
func (s *Service) ResendVerification(ctx context.Context, a userd.Actor) error {
	if err := s.Limiter.Hit(ctx, "verify:user:"+a.UserID, s.cfg.Limits.VerifySendsUser); err != nil {
		return err
	}
	return s.DB.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		u, err := account.Get(ctx, tx, a.UserID)
		switch {
		case err != nil:
			return err
		case u.Email == nil:
			return ErrNoEmail
		case u.EmailVerifiedAt != nil:
			return ErrAlreadyVerified
		}
		return s.issueVerification(ctx, tx, u)
	})
}
