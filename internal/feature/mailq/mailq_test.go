package mailq_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var ring, _ = seal.NewKeyring(bytes.Repeat([]byte{9}, seal.KeySize))

// sender keeps what it sends, and fails while down says so.
type sender struct {
	mu   sync.Mutex
	down map[string]bool // by address
	sent []mail.Message
}

func (s *sender) Send(_ context.Context, m mail.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down[m.To] {
		return errors.New("550 mailbox unavailable")
	}
	s.sent = append(s.sent, m)
	return nil
}

// bench is a mail queue over db with a runner that the test drives, and a
// clock it moves.
type bench struct {
	t      *testing.T
	db     *sqldb.DB
	q      *mailq.Service
	r      *jobs.Runner
	out    *sender
	offset time.Duration
}

func newBench(t *testing.T, db *sqldb.DB) *bench {
	b := &bench{t: t, db: db, out: &sender{down: map[string]bool{}}}
	db.SetClock(func() time.Time { return time.Now().Add(b.offset) })
	b.q = mailq.New(db, mailq.Deps{Keyring: ring, Sender: b.out, Log: quiet})
	b.r = jobs.NewRunner(db, quiet)
	b.q.Register(b.r)
	return b
}

// queue queues m in a transaction of its own, which fails when fail does.
func (b *bench) queue(m mailq.Mail, fail error) error {
	ctx := sqldb.System(context.Background())
	return b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := b.q.Queue(ctx, tx, m); err != nil {
			return err
		}
		return fail
	})
}

// row is what a delivery's row says.
type row struct {
	Status    string
	Attempts  int
	LastError string // "" for NULL
	Sealed    bool
	Sent      bool
}

func (b *bench) row(to string) row {
	b.t.Helper()
	var r row
	var sealed []byte
	var sent *time.Time
	var lastError *string
	err := b.db.SQL().QueryRow(`SELECT status, attempts, last_error, body_sealed, sent_at FROM mail_deliveries WHERE to_address = $1`, to).
		Scan(&r.Status, &r.Attempts, &lastError, &sealed, &sent)
	if lastError != nil {
		r.LastError = *lastError
	}
	if err != nil {
		b.t.Fatalf("row of %s: %v", to, err)
	}
	r.Sealed, r.Sent = sealed != nil, sent != nil
	if bytes.Contains(sealed, []byte("udp_secret")) {
		b.t.Fatalf("the body of %s is stored in clear", to)
	}
	return r
}

func (b *bench) run() int {
	b.t.Helper()
	n, err := b.r.RunDue(context.Background())
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

func message(to string) mail.Message {
	return mail.Message{To: to, Subject: "Reset your password", Text: "Open https://x/reset?token=udp_secret", HTML: "<a>udp_secret</a>",
		Headers: map[string]string{"List-Unsubscribe": "<https://x/u?token=udnu_secret>"}}
}

// TestDeliveryOutcomes: a mail is written only with its transaction, its
// body sealed; it is sent as written, retried after a failure with the
// runner's backoff, and marked sent or, out of attempts, failed, its body
// erased either way; a skipped mail and the mail of a deleted user are
// never sent.
func TestDeliveryOutcomes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		b := newBench(t, db)
		user := dbtest.User(t, db, "owner@example.com")

		if err := b.queue(mailq.Mail{Kind: mailq.ResetPassword, Message: message("rolled@example.com")}, errors.New("refused")); err == nil {
			t.Fatal("the failing transaction committed")
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM mail_deliveries`) + dbtest.Count(t, db, `SELECT count(*) FROM jobs`); n != 0 {
			t.Fatalf("a rolled-back transaction left %d rows", n)
		}

		b.out.down["later@example.com"] = true
		for _, m := range []mailq.Mail{
			{UserID: user.UserID, Kind: mailq.ResetPassword, Message: message("owner@example.com")},
			{Kind: mailq.OrgInvitation, Message: message("later@example.com")},
			{Kind: mailq.ResetPassword, Message: message("nobody@example.com"), Skip: true},
		} {
			if err := b.queue(m, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := b.row("owner@example.com"); !cmp.Equal(got, row{Status: mailq.Queued, Sealed: true}) {
			t.Fatalf("queued row = %+v", got)
		}
		if got := b.row("nobody@example.com"); !cmp.Equal(got, row{Status: mailq.Skipped}) {
			t.Fatalf("skipped row = %+v", got)
		}
		if n := b.run(); n != 3 {
			t.Fatalf("ran %d jobs; want 3", n)
		}
		if !cmp.Equal(b.out.sent, []mail.Message{message("owner@example.com")}) {
			t.Fatalf("sent %+v; want the owner's mail as written", b.out.sent)
		}
		if got := b.row("owner@example.com"); !cmp.Equal(got, row{Status: mailq.Sent, Attempts: 1, Sent: true}) {
			t.Fatalf("sent row = %+v", got)
		}
		if got := b.row("later@example.com"); got != (row{Status: mailq.Queued, Attempts: 1, LastError: "550 mailbox unavailable", Sealed: true}) {
			t.Fatalf("failed once = %+v", got)
		}
		if n := b.run(); n != 0 {
			t.Fatalf("a failed mail was retried before its backoff: %d", n)
		}
		b.offset = 11 * time.Second
		b.out.down["later@example.com"] = false
		if n := b.run(); n != 1 || len(b.out.sent) != 2 {
			t.Fatalf("after the backoff ran %d, sent %d", n, len(b.out.sent))
		}
		if got := b.row("later@example.com"); !cmp.Equal(got, row{Status: mailq.Sent, Attempts: 2, Sent: true}) {
			t.Fatalf("sent on the second attempt = %+v", got)
		}

		// Out of attempts: failed, the body erased.
		b.out.down["never@example.com"] = true
		if err := b.queue(mailq.Mail{Kind: mailq.VerifyEmail, Message: message("never@example.com")}, nil); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			b.run()
			b.offset += 2 * time.Hour
		}
		if got := b.row("never@example.com"); got != (row{Status: mailq.Failed, Attempts: 10, LastError: "550 mailbox unavailable"}) {
			t.Fatalf("out of attempts = %+v", got)
		}

		// The mail of a user deleted before it left goes with them.
		if err := b.queue(mailq.Mail{UserID: user.UserID, Kind: mailq.SecurityNotice, Message: message("owner@example.com")}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().Exec(`DELETE FROM users WHERE id = $1`, user.UserID); err != nil {
			t.Fatal(err)
		}
		if n := b.run(); n != 1 || len(b.out.sent) != 2 {
			t.Fatalf("the deleted user's mail: ran %d, sent %d; want 1 job, nothing sent", n, len(b.out.sent))
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM mail_deliveries WHERE to_address = 'owner@example.com'`); n != 0 {
			t.Fatalf("%d rows of the deleted user's mail", n)
		}
	})
}

// TestListAndExpire: the administration's list is for mail:read, newest
// first in pages, filtered by status, address and kind; the clean-up
// deletes finished deliveries after Retention and keeps queued ones.
func TestListAndExpire(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		b := newBench(t, db)
		b.out.down["b@example.com"] = true
		for _, m := range []mailq.Mail{
			{Kind: mailq.VerifyEmail, Message: message("a@example.com")},
			{Kind: mailq.OrgInvitation, Message: message("b@example.com")},
			{Kind: mailq.VerifyEmail, Message: message("c@example.com")},
		} {
			if err := b.queue(m, nil); err != nil {
				t.Fatal(err)
			}
		}
		b.run()
		ctx := context.Background()
		if _, err := b.q.List(ctx, userd.Actor{UserID: "x"}, mailq.Filter{}, "", 10); !errors.Is(err, mailq.ErrReadForbidden) {
			t.Fatalf("list without mail:read = %v", err)
		}
		reader := userd.Actor{Grants: userd.Grants{Permissions: []string{mailq.ReadPermission}}}
		if _, err := b.q.List(ctx, reader, mailq.Filter{Status: "lost"}, "", 10); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("an unknown status = %v", err)
		}
		to := func(f mailq.Filter, before string, limit int) []string {
			t.Helper()
			list, err := b.q.List(ctx, reader, f, before, limit)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, d := range list {
				out = append(out, d.To)
			}
			return out
		}
		for _, tc := range []struct {
			f    mailq.Filter
			want []string
		}{
			{mailq.Filter{}, []string{"c@example.com", "b@example.com", "a@example.com"}},
			{mailq.Filter{Status: mailq.Sent}, []string{"c@example.com", "a@example.com"}},
			{mailq.Filter{Status: mailq.Queued}, []string{"b@example.com"}},
			{mailq.Filter{To: "a@example.com"}, []string{"a@example.com"}},
			{mailq.Filter{Kind: mailq.VerifyEmail, Status: mailq.Sent}, []string{"c@example.com", "a@example.com"}},
			{mailq.Filter{Kind: mailq.OrgInvitation, Status: mailq.Sent}, []string{}},
		} {
			if got := to(tc.f, "", 10); !cmp.Equal(got, tc.want) {
				t.Errorf("list %+v = %v; want %v", tc.f, got, tc.want)
			}
		}
		first, _ := b.q.List(ctx, reader, mailq.Filter{}, "", 1)
		if got := to(mailq.Filter{}, first[0].ID, 10); !cmp.Equal(got, []string{"b@example.com", "a@example.com"}) {
			t.Fatalf("the page after c = %v", got)
		}

		expire := func(at time.Duration) int64 {
			var n int64
			err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
				n, err = mailq.Expire(ctx, tx, tx.Now.Add(at))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := expire(mailq.Retention - time.Hour); n != 0 {
			t.Fatalf("expired %d before the retention", n)
		}
		if n := expire(mailq.Retention + time.Hour); n != 2 {
			t.Fatalf("expired %d after the retention; want the 2 sent", n)
		}
		if got := to(mailq.Filter{}, "", 10); !cmp.Equal(got, []string{"b@example.com"}) {
			t.Fatalf("left %v; want the queued mail", got)
		}
	})
}
