package newsletter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/newsletter"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// noon is when every test's clock starts.
var noon = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

var keyring, _ = seal.NewKeyring(bytes.Repeat([]byte{9}, seal.KeySize))

// outbox keeps the mails a Service sends.
type outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

// queue keeps m once tx commits, as the mail queue sends it.
func (o *outbox) queue(_ context.Context, tx *sqldb.Tx, m mail.Message) error {
	tx.AfterCommit(func() { o.mu.Lock(); o.sent = append(o.sent, m); o.mu.Unlock() })
	return nil
}

// take returns the mails sent since the last take.
func (o *outbox) take() []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.sent
	o.sent = nil
	return out
}

// tokenIn returns the token of the link to path in m's text.
func tokenIn(t *testing.T, m mail.Message, path string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta("https://news.example"+path) + `\?token=(\S+)`)
	got := re.FindStringSubmatch(m.Text)
	if got == nil {
		t.Fatalf("no link to %s in:\n%s", path, m.Text)
	}
	tok, err := url.QueryUnescape(got[1])
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newService(db *sqldb.DB, o *outbox, limiter *ratelimit.Limiter) *newsletter.Service {
	return newsletter.NewService(db, newsletter.Deps{Keyring: keyring, PublicURL: "https://news.example/", Mail: o.queue, Limiter: limiter})
}

var admin = userd.Actor{Grants: userd.Grants{Permissions: []string{newsletter.ReadPermission, newsletter.WritePermission}}}

// TestDoubleOptIn: a subscription is pending until its mailed token
// confirms it; the token works once and expires; a confirmed address gets
// no second mail; unsubscribing is idempotent and needs a new opt-in to
// come back.
func TestDoubleOptIn(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clock := dbtest.NewClock(db, noon)
		o := &outbox{}
		s := newService(db, o, nil)
		ctx, c := context.Background(), userd.Client{IP: "192.0.2.1"}
		if err := s.Subscribe(ctx, c, "  Ann@Example.COM "); err != nil {
			t.Fatal(err)
		}
		sent := o.take()
		if len(sent) != 1 || sent[0].To != "ann@example.com" || sent[0].Subject != "Confirm your newsletter subscription" {
			t.Fatalf("sent %+v", sent)
		}
		m := sent[0]
		confirm, unsub := tokenIn(t, m, newsletter.ConfirmPage), tokenIn(t, m, newsletter.UnsubscribePage)
		wantHeaders := map[string]string{"List-Unsubscribe": "<https://news.example/v1/newsletter/unsubscribe?token=" + unsub + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
		if fmt.Sprint(m.Headers) != fmt.Sprint(wantHeaders) || !strings.Contains(m.HTML, confirm) {
			t.Fatalf("headers %v; want %v", m.Headers, wantHeaders)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM newsletter_subscriptions WHERE email = 'ann@example.com' AND status = 'pending'
			AND confirm_token_hash = $1 AND unsubscribe_token_hash = $2 AND confirm_expires_at = $3`, token.Hash(confirm), token.Hash(unsub), noon.Add(48*time.Hour)); n != 1 {
			t.Fatal("the row does not hold the tokens' hashes")
		}

		// Asked again while pending: a new token, the old one dead.
		clock.Add(time.Hour)
		if err := s.Subscribe(ctx, c, "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		m = o.take()[0]
		if _, err := s.Confirm(ctx, c, confirm); !errors.Is(err, newsletter.ErrInvalidToken) {
			t.Fatalf("the replaced token = %v", err)
		}
		if tokenIn(t, m, newsletter.UnsubscribePage) != unsub {
			t.Fatal("the unsubscribe token changed")
		}
		confirm = tokenIn(t, m, newsletter.ConfirmPage)

		// Expired after 48 hours.
		clock.Add(newsletter.DefaultConfirmTTL)
		if _, err := s.Confirm(ctx, c, confirm); !errors.Is(err, newsletter.ErrInvalidToken) {
			t.Fatalf("an expired token = %v", err)
		}
		if err := s.Subscribe(ctx, c, "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		confirm = tokenIn(t, o.take()[0], newsletter.ConfirmPage)
		sub, err := s.Confirm(ctx, c, confirm)
		if err != nil || sub.Status != newsletter.Confirmed || sub.ConfirmedAt == nil || !sub.ConfirmedAt.Equal(clock.Now()) {
			t.Fatalf("confirm = %+v, %v", sub, err)
		}
		if _, err := s.Confirm(ctx, c, confirm); !errors.Is(err, newsletter.ErrInvalidToken) {
			t.Fatalf("a used token = %v", err)
		}
		for _, bad := range []string{"", "nope", "udnc_" + strings.Repeat("A", 43), unsub} {
			if _, err := s.Confirm(ctx, c, bad); !errors.Is(err, newsletter.ErrInvalidToken) {
				t.Fatalf("confirm %q = %v", bad, err)
			}
		}

		// Confirmed: asking again sends nothing and changes nothing.
		if err := s.Subscribe(ctx, c, "ANN@example.com"); err != nil {
			t.Fatal(err)
		}
		if sent := o.take(); len(sent) != 0 {
			t.Fatalf("a confirmed address got %d mails", len(sent))
		}
		list, err := s.List(ctx, admin, newsletter.Confirmed, "", 10)
		if err != nil || len(list) != 1 || list[0].ID != sub.ID || list[0].UnsubscribeURL != "https://news.example/v1/newsletter/unsubscribe?token="+unsub {
			t.Fatalf("confirmed list = %+v, %v", list, err)
		}

		// Unsubscribed, twice; then a new opt-in is needed.
		for range 2 {
			if err := s.Unsubscribe(ctx, c, unsub); err != nil {
				t.Fatal(err)
			}
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'newsletter.unsubscribed' AND target_id = $1 AND user_id IS NULL AND ip = '192.0.2.1'`, sub.ID); n != 1 {
			t.Fatalf("%d unsubscription entries", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'newsletter.confirmed' AND target_id = $1`, sub.ID); n != 1 {
			t.Fatalf("%d confirmation entries", n)
		}
		if list, _ := s.List(ctx, admin, newsletter.Unsubscribed, "", 10); len(list) != 1 || list[0].UnsubscribedAt == nil {
			t.Fatalf("unsubscribed list = %+v", list)
		}
		if err := s.Subscribe(ctx, c, "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		m = o.take()[0]
		if list, _ := s.List(ctx, admin, newsletter.Pending, "", 10); len(list) != 1 {
			t.Fatalf("after subscribing again: %+v", list)
		}
		// Unsubscribing kills the pending confirmation.
		if err := s.Unsubscribe(ctx, c, unsub); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Confirm(ctx, c, tokenIn(t, m, newsletter.ConfirmPage)); !errors.Is(err, newsletter.ErrInvalidToken) {
			t.Fatalf("a confirmation after unsubscribing = %v", err)
		}
		if err := s.Unsubscribe(ctx, c, "udnu_"+strings.Repeat("A", 43)); !errors.Is(err, newsletter.ErrInvalidToken) {
			t.Fatalf("an unknown unsubscribe token = %v", err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM newsletter_subscriptions`); n != 1 {
			t.Fatalf("%d rows", n)
		}
	})
}

// TestSubscribeRefuses: an email no user could have is a validation error
// and writes nothing.
func TestSubscribeRefuses(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := &outbox{}
		s := newService(db, o, nil)
		for _, bad := range []string{"", "not an email", "ann@localhost", "ann@192.0.2.1", strings.Repeat("a", 2000) + "@example.com"} {
			err := s.Subscribe(context.Background(), userd.Client{}, bad)
			if e := userd.ErrorOf(err); e == nil || e.Kind != userd.KindInvalid || e.Fields[0].Field != "email" {
				t.Errorf("subscribe %.40q = %v", bad, err)
			}
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM newsletter_subscriptions`); n != 0 || len(o.take()) != 0 {
			t.Fatalf("%d rows", n)
		}
	})
}

// TestConcurrentSubscribes: twenty subscriptions of one address at once,
// in every letter case, make one pending row; the last mailed token
// confirms it.
func TestConcurrentSubscribes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := &outbox{}
		s := newService(db, o, nil)
		const n = 20
		errs := dbtest.AtOnce(n, func(i int) error {
			email := []byte("race@example.com")
			for j := range email {
				if (i>>(j%5))&1 == 1 {
					email[j] = bytes.ToUpper(email[j : j+1])[0]
				}
			}
			return s.Subscribe(context.Background(), userd.Client{}, string(email))
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("subscribe %d: %v", i, err)
			}
		}
		if got := dbtest.Count(t, db, `SELECT count(*) FROM newsletter_subscriptions WHERE email = 'race@example.com' AND status = 'pending'`); got != 1 {
			t.Fatalf("%d rows", got)
		}
		sent := o.take()
		if len(sent) != n {
			t.Fatalf("%d mails", len(sent))
		}
		unsubs := map[string]bool{}
		confirmed := 0
		for _, m := range sent {
			unsubs[tokenIn(t, m, newsletter.UnsubscribePage)] = true
			if _, err := s.Confirm(context.Background(), userd.Client{}, tokenIn(t, m, newsletter.ConfirmPage)); err == nil {
				confirmed++
			}
		}
		if len(unsubs) != 1 || confirmed != 1 {
			t.Fatalf("%d unsubscribe tokens, %d confirmations", len(unsubs), confirmed)
		}
	})
}

// TestSubscribeLimits: past the limit for one email, or from one address,
// a subscription is refused with a rate-limit error.
func TestSubscribeLimits(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := &outbox{}
		s := newsletter.NewService(db, newsletter.Deps{Keyring: keyring, Mail: o.queue, Limiter: ratelimit.New(db, true),
			Limits: newsletter.Limits{PerIP: ratelimit.Rule{Max: 4, Window: time.Hour}, PerEmail: ratelimit.Rule{Max: 2, Window: time.Hour}}})
		try := func(ip, email string) error { return s.Subscribe(context.Background(), userd.Client{IP: ip}, email) }
		if err := errors.Join(try("192.0.2.1", "a@example.com"), try("192.0.2.2", "A@example.com")); err != nil {
			t.Fatal(err)
		}
		if err := try("192.0.2.3", "a@EXAMPLE.com"); userd.ErrorKind(err) != userd.KindRateLimited {
			t.Fatalf("a third for one email = %v", err)
		}
		if err := errors.Join(try("192.0.2.1", "b@example.com"), try("192.0.2.1", "c@example.com"), try("192.0.2.1", "d@example.com")); err != nil {
			t.Fatal(err)
		}
		if err := try("192.0.2.1", "e@example.com"); userd.ErrorKind(err) != userd.KindRateLimited {
			t.Fatalf("a fifth from one address = %v", err)
		}
		if got := len(o.take()); got != 5 {
			t.Fatalf("%d mails", got)
		}
	})
}

// TestAdministration: the list pages by status and needs newsletter:read;
// the export gives every confirmed subscriber in batches and is audited;
// deletion needs newsletter:write, erases the row and kills its tokens.
func TestAdministration(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		dbtest.NewClock(db, noon)
		o := &outbox{}
		s := newService(db, o, nil)
		ctx := context.Background()
		var unsubs []string
		for i := range 5 {
			if err := s.Subscribe(ctx, userd.Client{}, fmt.Sprintf("u%d@example.com", i)); err != nil {
				t.Fatal(err)
			}
			m := o.take()[0]
			unsubs = append(unsubs, tokenIn(t, m, newsletter.UnsubscribePage))
			if i%2 == 0 {
				if _, err := s.Confirm(ctx, userd.Client{}, tokenIn(t, m, newsletter.ConfirmPage)); err != nil {
					t.Fatal(err)
				}
			}
		}
		reader := userd.Actor{UserID: "01900000-0000-7000-8000-0000000000a1", Grants: userd.Grants{Permissions: []string{newsletter.ReadPermission}}}
		if _, err := s.List(ctx, userd.Actor{}, "", "", 10); !errors.Is(err, newsletter.ErrReadForbidden) {
			t.Fatalf("list without the permission = %v", err)
		}
		if _, err := s.List(ctx, reader, "gone", "", 10); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("an unknown status = %v", err)
		}
		first, err := s.List(ctx, reader, "", "", 3)
		if err != nil || len(first) != 3 || first[0].Email != "u4@example.com" {
			t.Fatalf("first page = %+v, %v", first, err)
		}
		rest, err := s.List(ctx, reader, "", first[2].ID, 3)
		if err != nil || len(rest) != 2 || rest[1].Email != "u0@example.com" {
			t.Fatalf("second page = %+v, %v", rest, err)
		}
		var exported []string
		err = s.Export(ctx, reader, userd.Client{IP: "192.0.2.9"}, func(batch []newsletter.Subscription) error {
			for _, sub := range batch {
				exported = append(exported, sub.Email+" "+sub.UnsubscribeURL)
			}
			return nil
		})
		want := []string{"u0@example.com https://news.example/v1/newsletter/unsubscribe?token=" + unsubs[0],
			"u2@example.com https://news.example/v1/newsletter/unsubscribe?token=" + unsubs[2],
			"u4@example.com https://news.example/v1/newsletter/unsubscribe?token=" + unsubs[4]}
		if err != nil || !slices.Equal(exported, want) {
			t.Fatalf("export = %q, %v", exported, err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'newsletter.exported' AND actor_user_id = $1 AND user_id IS NULL`, reader.UserID); n != 1 {
			t.Fatalf("%d export entries", n)
		}
		if err := s.Export(ctx, userd.Actor{}, userd.Client{}, nil); !errors.Is(err, newsletter.ErrReadForbidden) {
			t.Fatalf("export without the permission = %v", err)
		}

		if err := s.Delete(ctx, reader, userd.Client{}, first[0].ID); !errors.Is(err, newsletter.ErrWriteForbidden) {
			t.Fatalf("delete without the permission = %v", err)
		}
		if err := s.Delete(ctx, admin, userd.Client{}, first[0].ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{first[0].ID, "nope"} {
			if err := s.Delete(ctx, admin, userd.Client{}, id); !errors.Is(err, newsletter.ErrNotFound) {
				t.Fatalf("delete %s again = %v", id, err)
			}
		}
		if err := s.Unsubscribe(ctx, userd.Client{}, unsubs[4]); !errors.Is(err, newsletter.ErrInvalidToken) {
			t.Fatalf("the token of an erased subscriber = %v", err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM newsletter_subscriptions WHERE email = 'u4@example.com'`); n != 0 {
			t.Fatal("the erased row stays")
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'newsletter.subscriber_deleted' AND target_id = $1 AND metadata = '{}'`,
			first[0].ID); n != 1 {
			t.Fatalf("%d deletion entries", n)
		}
	})
}

// TestExportBatches: an export longer than a batch comes in batches, each
// subscriber once.
func TestExportBatches(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		now := noon
		ctx := sqldb.System(context.Background())
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			for i := range newsletter.ExportBatch + 1 {
				now = now.Add(time.Millisecond)
				id := userd.NewID(now)
				if _, err := tx.Exec(ctx, `INSERT INTO newsletter_subscriptions (id, email, status, unsubscribe_token_hash, unsubscribe_token_sealed, created_at, updated_at, confirmed_at)
					VALUES ($1, $2, 'confirmed', $3, $4, $5, $5, $5)`, id, fmt.Sprintf("b%d@example.com", i), []byte(id),
					keyring.Seal([]byte("udnu_"+id), seal.AD("newsletter_subscriptions", "unsubscribe_token", id)), now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s := newService(db, &outbox{}, nil)
		var sizes []int
		seen := map[string]bool{}
		err = s.Export(context.Background(), admin, userd.Client{}, func(batch []newsletter.Subscription) error {
			sizes = append(sizes, len(batch))
			for _, sub := range batch {
				seen[sub.Email] = true
			}
			return nil
		})
		if err != nil || !slices.Equal(sizes, []int{newsletter.ExportBatch, 1}) || len(seen) != newsletter.ExportBatch+1 {
			t.Fatalf("batches %v, %d seen, %v", sizes, len(seen), err)
		}
	})
}

// TestNewsletterFollowsTheUser: a user's export holds the subscription of
// their verified email, and deleting them deletes it; an unverified email
// proves nothing, and its subscription stays out of both.
func TestNewsletterFollowsTheUser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := &outbox{}
		s := newService(db, o, nil)
		ctx := context.Background()
		for _, email := range []string{"ann@example.com", "bob@example.com"} {
			if err := s.Subscribe(ctx, userd.Client{}, email); err != nil {
				t.Fatal(err)
			}
		}
		ann, bob := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com")
		if _, err := db.SQL().Exec(`UPDATE users SET email_verified_at = created_at WHERE id = $1`, ann.UserID); err != nil {
			t.Fatal(err)
		}
		sub, err := s.Find(ctx, "ann@example.com")
		if err != nil || sub == nil || sub.Status != newsletter.Pending || sub.UnsubscribeURL != "" {
			t.Fatalf("find = %+v, %v", sub, err)
		}
		if sub, err := s.Find(ctx, "nobody@example.com"); sub != nil || err != nil {
			t.Fatalf("find nobody = %+v, %v", sub, err)
		}
		for _, a := range []userd.Actor{ann, bob} {
			err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return lifecycle.DeleteUser(ctx, tx, a.UserID) })
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := dbtest.Count(t, db, `SELECT count(*) FROM newsletter_subscriptions WHERE email = 'ann@example.com'`); got != 0 {
			t.Fatal("the verified address's subscription stays")
		}
		if got := dbtest.Count(t, db, `SELECT count(*) FROM newsletter_subscriptions WHERE email = 'bob@example.com'`); got != 1 {
			t.Fatal("the unverified address's subscription went")
		}
	})
}
