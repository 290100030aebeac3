// Package newsletter owns newsletter_subscriptions (seed 001): the
// addresses that asked for the newsletter, their double opt-in and their
// one-click unsubscription (RFC 8058), and the administration's list, CSV
// export and erasure of subscribers. A subscriber needs no account; the
// subscription of a user's verified email is part of their export and goes
// with them (Find, Forget).
package newsletter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// Permissions of the administration's routes (the migrations seed them).
const (
	// ReadPermission lists and exports subscribers, with their unsubscribe
	// URLs.
	ReadPermission = "newsletter:read"
	// WritePermission deletes (erases) a subscriber.
	WritePermission = "newsletter:write"
)

// The statuses of a subscription.
const (
	Pending      = "pending"
	Confirmed    = "confirmed"
	Unsubscribed = "unsubscribed"
)

// Statuses are the values of a subscription's status.
var Statuses = []string{Pending, Confirmed, Unsubscribed}

// Token prefixes: the confirmation mailed for the double opt-in, and the
// subscription's long-lived unsubscribe token.
const (
	ConfirmPrefix     = "udnc_"
	UnsubscribePrefix = "udnu_"
)

// Paths under the public URL: the page that a confirmation mail links to,
// the page that its unsubscribe link opens, and the API's one-click
// unsubscribe URL of the List-Unsubscribe header. Each takes ?token=.
const (
	ConfirmPage     = "/newsletter/confirm"
	UnsubscribePage = "/newsletter/unsubscribe"
	OneClickPath    = "/v1/newsletter/unsubscribe"
)

// DefaultConfirmTTL is how long a confirmation link works.
const DefaultConfirmTTL = 48 * time.Hour

// Limits are the rules of Subscribe: subscriptions asked from one address,
// and for one email.
type Limits struct {
	PerIP, PerEmail ratelimit.Rule
}

// DefaultLimits are the rules in force unless configured otherwise.
var DefaultLimits = Limits{
	PerIP:    ratelimit.Rule{Max: 20, Window: time.Hour},
	PerEmail: ratelimit.Rule{Max: 5, Window: time.Hour},
}

// Errors of the Service.
var (
	ErrInvalidToken   = userd.Errorf(userd.KindNotFound, "invalid_token", "The link is not valid or has expired.")
	ErrNotFound       = userd.Errorf(userd.KindNotFound, "newsletter_subscriber_not_found", "No such newsletter subscriber.")
	ErrReadForbidden  = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+ReadPermission+".")
	ErrWriteForbidden = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+WritePermission+".")
)

// Subscription is a row of newsletter_subscriptions, without its tokens.
// UnsubscribeURL is the subscription's one-click unsubscribe URL, filled
// only by the administration's reads (List, Export).
type Subscription struct {
	ID, Email, Status           string
	CreatedAt, UpdatedAt        time.Time
	ConfirmedAt, UnsubscribedAt *time.Time
	UnsubscribeURL              string
	sealed                      []byte // the unsubscribe token, sealed
}

const columns = `id, email, status, created_at, updated_at, confirmed_at, unsubscribed_at, unsubscribe_token_sealed`

func scan(row sqldb.Scanner) (Subscription, error) {
	var s Subscription
	var confirmed, unsubscribed sql.NullTime
	err := row.Scan(&s.ID, &s.Email, &s.Status, &s.CreatedAt, &s.UpdatedAt, &confirmed, &unsubscribed, &s.sealed)
	s.ConfirmedAt, s.UnsubscribedAt = sqldb.TimeOf(confirmed), sqldb.TimeOf(unsubscribed)
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, err
}

// ad binds a sealed unsubscribe token to its row.
func ad(id, _ string) []byte { return seal.AD("newsletter_subscriptions", "unsubscribe_token", id) }

// Sealed is the column of sealed unsubscribe tokens, for a key rotation.
var Sealed = sqldb.SealedColumn{Table: "newsletter_subscriptions", Column: "unsubscribe_token_sealed", IDColumn: "id", AD: ad}

// Deps are what a Service works with.
type Deps struct {
	// Keyring seals the unsubscribe tokens.
	Keyring *seal.Keyring
	// PublicURL starts the links of the mails and the unsubscribe URLs.
	PublicURL string
	// Mail queues a mail in the transaction that decides to send it, to
	// leave once it commits (mailq.Service.Queuer); nil sends nothing.
	Mail func(ctx context.Context, tx *sqldb.Tx, m mail.Message) error
	// Limiter counts Subscribe's requests; nil limits nothing.
	Limiter *ratelimit.Limiter
	// Limits are Subscribe's rules (DefaultLimits where zero).
	Limits Limits
	// ConfirmTTL is how long a confirmation link works (DefaultConfirmTTL
	// when zero).
	ConfirmTTL time.Duration
}

// Service serves the newsletter's subscriptions.
type Service struct {
	db   *sqldb.DB
	deps Deps
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, d Deps) *Service {
	if d.Mail == nil {
		d.Mail = func(context.Context, *sqldb.Tx, mail.Message) error { return nil }
	}
	if d.Limits.PerIP.Max == 0 {
		d.Limits.PerIP = DefaultLimits.PerIP
	}
	if d.Limits.PerEmail.Max == 0 {
		d.Limits.PerEmail = DefaultLimits.PerEmail
	}
	if d.ConfirmTTL <= 0 {
		d.ConfirmTTL = DefaultConfirmTTL
	}
	d.PublicURL = strings.TrimSuffix(d.PublicURL, "/")
	return &Service{db: db, deps: d}
}

// link returns the URL of path under the public URL with ?token=tok.
func (s *Service) link(path, tok string) string {
	return s.deps.PublicURL + path + "?token=" + url.QueryEscape(tok)
}

// Subscribe asks for the newsletter for email. A new address, or one that
// is pending or unsubscribed, becomes pending with a new confirmation token
// (any earlier one stops working), and gets the double opt-in mail after
// the answer; a confirmed address stays as it is and gets nothing. The work
// is the same in every case (one statement), so that neither the answer
// nor its timing tells whether an address is subscribed. It returns a
// validation error for an email that a user could not have (required,
// invalid_email) and a rate-limit error past Limits, from one address or
// for one email.
func (s *Service) Subscribe(ctx context.Context, c userd.Client, email string) error {
	if err := s.deps.Limiter.Hit(ctx, "newsletter:ip:"+c.IP, s.deps.Limits.PerIP); err != nil {
		return err
	}
	email, err := account.CheckEmail(email)
	if err != nil {
		return err
	}
	if err := s.deps.Limiter.Hit(ctx, "newsletter:email:"+email, s.deps.Limits.PerEmail); err != nil {
		return err
	}
	confirm, confirmHash := token.New(ConfirmPrefix)
	unsub, unsubHash := token.New(UnsubscribePrefix)
	// System: a subscription belongs to no user.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		id := userd.NewID(tx.Now)
		// One statement whatever the address's state: a confirmed one is
		// left alone (the WHERE of the update), and returns no row.
		rows, err := sqldb.All(ctx, tx, scan, `INSERT INTO newsletter_subscriptions (id, email, status, confirm_token_hash, confirm_expires_at,
				unsubscribe_token_hash, unsubscribe_token_sealed, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
			ON CONFLICT (email) DO UPDATE SET status = excluded.status, confirm_token_hash = excluded.confirm_token_hash,
				confirm_expires_at = excluded.confirm_expires_at, updated_at = excluded.updated_at
			WHERE newsletter_subscriptions.status <> $9
			RETURNING `+columns,
			id, email, Pending, confirmHash, tx.Now.Add(s.deps.ConfirmTTL), unsubHash, s.deps.Keyring.Seal([]byte(unsub), ad(id, "")), tx.Now, Confirmed)
		if err != nil {
			return fmt.Errorf("subscribe to the newsletter: %w", err)
		}
		if len(rows) == 0 {
			return nil // confirmed already: nothing to send
		}
		sub := rows[0]
		if sub.ID != id { // an earlier row: its own unsubscribe token
			if unsub, err = s.open(sub); err != nil {
				return err
			}
		}
		m, err := s.confirmation(email, confirm, unsub)
		if err != nil {
			return err
		}
		if err := s.deps.Mail(ctx, tx, m); err != nil {
			return fmt.Errorf("newsletter confirmation mail: %w", err)
		}
		return nil
	})
}

// open returns the unsubscribe token of sub in clear.
func (s *Service) open(sub Subscription) (string, error) {
	plain, err := s.deps.Keyring.Open(sub.sealed, ad(sub.ID, ""))
	if err != nil {
		return "", fmt.Errorf("open the unsubscribe token of %s: %w", sub.ID, err)
	}
	return string(plain), nil
}

// withURL returns sub with its unsubscribe URL.
func (s *Service) withURL(sub Subscription) (Subscription, error) {
	tok, err := s.open(sub)
	if err != nil {
		return sub, err
	}
	sub.UnsubscribeURL = s.link(OneClickPath, tok)
	return sub, nil
}

// Headers returns the header fields of one-click unsubscription (RFC 8058)
// for a mail whose unsubscribe URL is unsubscribeURL: every newsletter mail
// carries them.
func Headers(unsubscribeURL string) map[string]string {
	return map[string]string{"List-Unsubscribe": "<" + unsubscribeURL + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
}

// Confirm uses a confirmation token: the pending subscription it was mailed
// for becomes confirmed, and audit.NewsletterConfirmed is recorded (in no
// user's trail). A token works once, until it expires, and only while its
// subscription is pending. It returns ErrInvalidToken otherwise.
func (s *Service) Confirm(ctx context.Context, c userd.Client, tok string) (sub Subscription, err error) {
	hash, ok := token.Parse(ConfirmPrefix, tok)
	if !ok {
		return sub, ErrInvalidToken
	}
	// System: a subscription belongs to no user.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		sub, err = sqldb.One(ctx, tx, ErrInvalidToken, "confirm newsletter subscription", scan, `UPDATE newsletter_subscriptions
			SET status = $1, confirmed_at = $2, updated_at = $2, confirm_token_hash = NULL, confirm_expires_at = NULL
			WHERE confirm_token_hash = $3 AND confirm_expires_at > $2 AND status = $4
			RETURNING `+columns, Confirmed, tx.Now, hash, Pending)
		if err != nil {
			return err
		}
		return record(ctx, tx, userd.Actor{}, c, audit.NewsletterConfirmed, sub.ID)
	})
	return sub, err
}

// Unsubscribe uses a subscription's unsubscribe token: the subscription
// becomes unsubscribed (its confirmation token, if any, stops working) and
// audit.NewsletterUnsubscribed is recorded (in no user's trail). Doing it
// again changes nothing and is no error. It returns ErrInvalidToken for a
// token of no subscription (one an administrator deleted, say).
func (s *Service) Unsubscribe(ctx context.Context, c userd.Client, tok string) error {
	hash, ok := token.Parse(UnsubscribePrefix, tok)
	if !ok {
		return ErrInvalidToken
	}
	// System: a subscription belongs to no user.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `UPDATE newsletter_subscriptions
			SET status = $1, unsubscribed_at = $2, updated_at = $2, confirm_token_hash = NULL, confirm_expires_at = NULL
			WHERE unsubscribe_token_hash = $3 AND status <> $1
			RETURNING id`, Unsubscribed, tx.Now, hash).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) { // unsubscribed already, or no such subscription
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM newsletter_subscriptions WHERE unsubscribe_token_hash = $1`, hash).Scan(&n); err != nil {
				return fmt.Errorf("find newsletter subscription: %w", err)
			}
			if n == 0 {
				return ErrInvalidToken
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("unsubscribe from the newsletter: %w", err)
		}
		return record(ctx, tx, userd.Actor{}, c, audit.NewsletterUnsubscribed, id)
	})
}

// record appends an event about the subscription id to the trail, in no
// user's: a's user or API key as its actor (none for the subscriber).
func record(ctx context.Context, tx *sqldb.Tx, a userd.Actor, c userd.Client, action, id string) error {
	return audit.Record(ctx, tx, audit.Event{ActorUserID: a.UserID, APIKeyID: a.APIKeyID, Action: action, TargetType: "newsletter_subscription",
		TargetID: id, IP: c.IP, UserAgent: c.UserAgent})
}

// validStatus returns a validation error for a status filter that is not
// one of Statuses ("" is any).
func validStatus(status string) error {
	if status != "" && !slices.Contains(Statuses, status) {
		return userd.Invalid([]userd.FieldError{{Field: "status", Code: "invalid_status", Message: "The status is pending, confirmed or unsubscribed."}})
	}
	return nil
}
