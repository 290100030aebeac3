// Package mailq is userd's mail queue. It owns mail_deliveries: every mail
// userd sends is written there, its body sealed, with a job of the queue
// (jobs) that delivers it, in the transaction that decides to send it. The
// mail therefore leaves if and only if that transaction commits, and a
// process that dies right after its answer loses none: whichever process
// runs the queue next delivers it.
//
// Delivery is at least once: a process that dies after the SMTP server
// accepted a mail and before the row says so sends it again once the
// job's lease (Lease) has expired.
package mailq

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// JobKind is the kind of the jobs that deliver mail.
const JobKind = "mail.deliver"

// ReadPermission lists the deliveries (never their bodies).
const ReadPermission = "mail:read"

// Bounds of a delivery. A mail's job is run by a runner of its own (see
// Register) whose lease is Lease: a process killed while it holds a mail's
// lease delays that mail by at most Lease, against jobs.DefaultLease for
// other work. One attempt, the SMTP conversation, is cut at SendTimeout,
// well within the lease, so that a live process never loses its lease to
// another while it sends.
const (
	Lease       = time.Minute
	SendTimeout = 30 * time.Second
)

// Retention is how long a finished delivery (sent, failed, skipped) is
// kept for the administration.
const Retention = 30 * 24 * time.Hour

// Kinds of mail.
const (
	VerifyEmail       = "verify_email"
	ResetPassword     = "reset_password"
	SecurityNotice    = "security_notice"
	OrgInvitation     = "org_invitation"
	NewsletterConfirm = "newsletter_confirm"
)

// Statuses of a delivery.
const (
	Queued  = "queued"  // waiting for its first or next attempt
	Sent    = "sent"    // the SMTP server took it
	Failed  = "failed"  // the last attempt failed
	Skipped = "skipped" // written and never sent (see Mail.Skip)
)

// Statuses are the statuses a delivery may have, for a list's filter.
var Statuses = []string{Queued, Sent, Failed, Skipped}

// Errors that Service's methods return.
var (
	ErrReadForbidden = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+ReadPermission+".")
)

// Mail is a mail to queue.
type Mail struct {
	// UserID is the user the mail is for, "" when it is for an address
	// (an invitation, a newsletter's confirmation).
	UserID string
	// Kind is one of the kinds above.
	Kind string
	mail.Message
	// Skip writes the mail as any other and never sends it (status
	// skipped): for a mail that an address without an account would have
	// had, so that the answer does the same work whether it has one.
	Skip bool
}

// Delivery is a queued or finished mail as the administration sees it:
// never its body.
type Delivery struct {
	ID        string
	UserID    *string
	To        string
	Kind      string
	Subject   string
	Status    string
	Attempts  int
	LastError *string
	CreatedAt time.Time
	SentAt    *time.Time
}

// Deps are what a Service works with.
type Deps struct {
	// Keyring seals the bodies.
	Keyring *seal.Keyring
	// Sender delivers the mail.
	Sender mail.Sender
	// Log receives the failed attempts.
	Log *slog.Logger
}

// Service queues and delivers mail.
type Service struct {
	db   *sqldb.DB
	deps Deps
	wake func() // nudges the mail's runner once a transaction commits
}

// New returns a Service over db.
func New(db *sqldb.DB, d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{db: db, deps: d, wake: func() {}}
}

// Register makes r deliver the queued mail, and the mail that a
// transaction queues wake r once it commits, so that it leaves at once
// rather than at r's next poll. r should be a runner of its own with Lease
// (see Lease), so that no other work delays the mail.
func (s *Service) Register(r *jobs.Runner) {
	r.Handle(JobKind, s.deliver)
	s.wake = r.Wake
}

// body is what of a mail is sealed: what carries its tokens.
type body struct {
	Text    string            `json:"text"`
	HTML    string            `json:"html,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// payload is a delivery job's.
type payload struct {
	ID string `json:"delivery_id"`
}

// ad binds a sealed body to its row.
func ad(id, _ string) []byte { return seal.AD("mail_deliveries", "body", id) }

// Sealed is the column of sealed bodies, for a key rotation.
var Sealed = sqldb.SealedColumn{Table: "mail_deliveries", Column: "body_sealed", IDColumn: "id", AD: ad}

// Queue writes m in tx, with the job that delivers it once tx commits.
func (s *Service) Queue(ctx context.Context, tx *sqldb.Tx, m Mail) error {
	id := userd.NewID(tx.Now)
	b, err := json.Marshal(body{Text: m.Text, HTML: m.HTML, Headers: m.Headers})
	if err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	sealed, status := s.deps.Keyring.Seal(b, ad(id, "")), Queued
	if m.Skip { // sealed all the same, and dropped: the same work either way
		sealed, status = nil, Skipped
	}
	if _, err := tx.Exec(ctx, `INSERT INTO mail_deliveries (id, user_id, to_address, kind, subject, body_sealed, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, sqldb.Nullable(m.UserID), m.To, m.Kind, m.Subject, sealed, status, tx.Now); err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	if err := jobs.Enqueue(ctx, tx, JobKind, "mail:"+id, payload{ID: id}, tx.Now); err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	tx.AfterCommit(s.wake)
	return nil
}

// Queuer returns a function that queues a mail of one kind for an address
// (no user), for the features that mail addresses: organization's
// invitations, newsletter's confirmations.
func (s *Service) Queuer(kind string) func(ctx context.Context, tx *sqldb.Tx, m mail.Message) error {
	return func(ctx context.Context, tx *sqldb.Tx, m mail.Message) error {
		return s.Queue(ctx, tx, Mail{Kind: kind, Message: m})
	}
}

// errGone is a delivery that is not there any more: its user was deleted.
var errGone = errors.New("mail delivery gone")

// deliver is the job of one delivery: it opens the body, sends the mail
// within SendTimeout and records the outcome. A failed attempt returns its
// error, so that the runner retries with its backoff; the last one marks
// the delivery failed. The body is erased once the mail is sent or has
// failed for good.
func (s *Service) deliver(ctx context.Context, j jobs.Job) (time.Time, error) {
	var p payload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return time.Time{}, fmt.Errorf("mail job payload: %w", err)
	}
	var d Delivery
	var sealed []byte
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var err error
		d, err = sqldb.One(ctx, tx, errGone, "read mail delivery", func(row sqldb.Scanner) (Delivery, error) {
			return scanWith(row, &sealed)
		}, `SELECT `+columns+`, body_sealed FROM mail_deliveries WHERE id = $1`, p.ID)
		return err
	})
	if errors.Is(err, errGone) || (err == nil && d.Status != Queued) {
		return time.Time{}, nil // deleted with its user, skipped, or finished already
	}
	if err != nil {
		return time.Time{}, err
	}
	var b body
	plain, err := s.deps.Keyring.Open(sealed, ad(d.ID, ""))
	if err == nil {
		err = json.Unmarshal(plain, &b)
	}
	if err != nil {
		// No attempt can open it (a master key left out of the keyring).
		err = fmt.Errorf("open mail body: %w", err)
		return time.Time{}, errors.Join(err, s.finish(ctx, d.ID, Failed, j.Attempts, err))
	}
	sctx, cancel := context.WithTimeout(ctx, SendTimeout)
	err = s.deps.Sender.Send(sctx, mail.Message{To: d.To, Subject: d.Subject, Text: b.Text, HTML: b.HTML, Headers: b.Headers})
	cancel()
	if err == nil {
		return time.Time{}, s.finish(ctx, d.ID, Sent, j.Attempts, nil)
	}
	s.deps.Log.Warn("send mail", "delivery", d.ID, "kind", d.Kind, "attempt", j.Attempts, "err", err)
	status := Queued
	if j.Final() {
		status = Failed
	}
	return time.Time{}, errors.Join(err, s.finish(ctx, d.ID, status, j.Attempts, err))
}

// finish records an attempt's outcome: the delivery's status, attempts and
// error; the body is erased unless another attempt will need it.
func (s *Service) finish(ctx context.Context, id, status string, attempts int, failure error) error {
	var lastError any
	if failure != nil {
		msg := failure.Error()
		if len(msg) > 1000 {
			msg = msg[:1000]
		}
		lastError = msg
	}
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var sentAt any
		if status == Sent {
			sentAt = tx.Now
		}
		_, err := tx.Exec(ctx, `UPDATE mail_deliveries SET status = $1, attempts = $2, last_error = $3, sent_at = $4,
			body_sealed = CASE WHEN $1 = 'queued' THEN body_sealed END WHERE id = $5 AND status = 'queued'`,
			status, attempts, lastError, sentAt, id)
		if err != nil {
			return fmt.Errorf("record mail delivery: %w", err)
		}
		return nil
	})
}

const columns = `id, user_id, to_address, kind, subject, status, attempts, last_error, created_at, sent_at`

func scanWith(row sqldb.Scanner, extra ...any) (Delivery, error) {
	var d Delivery
	var sent sql.NullTime
	err := row.Scan(append([]any{&d.ID, &d.UserID, &d.To, &d.Kind, &d.Subject, &d.Status, &d.Attempts, &d.LastError, &d.CreatedAt, &sent}, extra...)...)
	d.SentAt, d.CreatedAt = sqldb.TimeOf(sent), d.CreatedAt.UTC()
	return d, err
}

func scan(row sqldb.Scanner) (Delivery, error) { return scanWith(row) }

// Filter narrows a list of deliveries; an empty field does not.
type Filter struct {
	Status string // one of Statuses
	To     string // the exact address
	Kind   string
}

// List returns up to limit deliveries, newest first, after the one with id
// before ("" for the first page), that match f. It returns ErrReadForbidden
// and a validation error for an unknown status.
func (s *Service) List(ctx context.Context, a userd.Actor, f Filter, before string, limit int) ([]Delivery, error) {
	if !a.Grants.Has(ReadPermission) {
		return nil, ErrReadForbidden
	}
	if f.Status != "" && !slices.Contains(Statuses, f.Status) {
		return nil, userd.Invalid([]userd.FieldError{{Field: "status", Code: "invalid_status", Message: "The status is queued, sent, failed or skipped."}})
	}
	where, args := `id < $1`, []any{sqldb.Before(before), limit}
	for _, c := range []struct{ column, value string }{{"status", f.Status}, {"to_address", f.To}, {"kind", f.Kind}} {
		if c.value != "" {
			args = append(args, c.value)
			where += fmt.Sprintf(" AND %s = $%d", c.column, len(args))
		}
	}
	var out []Delivery
	// System: the administration reads every user's mail.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		out, err = sqldb.All(ctx, tx, scan, `SELECT `+columns+` FROM mail_deliveries WHERE `+where+` ORDER BY id DESC LIMIT $2`, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list mail deliveries: %w", err)
	}
	return out, nil
}

// Expire deletes the deliveries that finished (sent, failed, skipped) and
// were queued more than Retention ago.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM mail_deliveries WHERE status <> 'queued' AND created_at < $1`, now.Add(-Retention))
}
