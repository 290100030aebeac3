package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// clock is a database's clock that a test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func withClock(db *sqldb.DB) *clock {
	c := &clock{now: time.Now()}
	db.SetClock(func() time.Time {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.now
	})
	return c
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// notice is a notification as its user finds it.
type notice struct {
	Type, Title, Description string
	Data                     map[string]string
}

// notices returns a user's notifications, oldest first.
func (b *bench) notices(userID string) []notice {
	b.t.Helper()
	rows, err := b.db.SQL().Query(`SELECT type, title, description, data FROM notifications WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	out := []notice{}
	for rows.Next() {
		var n notice
		var data string
		if err := rows.Scan(&n.Type, &n.Title, &n.Description, &data); err != nil {
			b.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(data), &n.Data); err != nil {
			b.t.Fatalf("notification data %q: %v", data, err)
		}
		out = append(out, n)
	}
	return out
}

// TestAdminEmailChange: an administrator's change of a user's email needs
// the administrator's recent log-in (auth.ErrReauthenticate otherwise, and
// nothing changes), while their other changes do not; a Service without a
// guard lets nobody change an email, not even the system, since it could
// not tell the user. A change is normalised, leaves the new address
// unverified, and is told to the user in the application (once, with the
// administrator's address and user agent) and by mail at the old address
// and the new one; an address that does not change tells nothing, and one
// that another user has is ErrEmailTaken and tells nothing either.
func TestAdminEmailChange(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := withClock(db)
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		ann := b.person("ann", "ann@example.com")
		b.person("bob", "bob@example.com")
		err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return account.MarkEmailVerified(ctx, tx, ann) })
		if err != nil {
			t.Fatal(err)
		}
		// refused changes ann's email and city, and checks that it fails
		// with want (an error, or a userd.Kind), or any error for nil.
		refused := func(name string, s *admin.Service, w admin.Who, email string, want any) {
			t.Helper()
			before := b.world()
			_, err := s.UpdateUser(ctx, w, ann, account.Patch{Email: &email, City: ptr("Paris")})
			ok := err != nil
			switch want := want.(type) {
			case error:
				ok = errors.Is(err, want)
			case userd.Kind:
				ok = userd.ErrorKind(err) == want
			}
			if !ok {
				t.Fatalf("%s: err = %v; want %v", name, err, want)
			}
			if diff := cmp.Diff(before, b.world()); diff != "" {
				t.Fatalf("%s changed the database (-before +after):\n%s", name, diff)
			}
			authtest.Sent(t, db) // mail goes out after the request: wait for it
			if sent := b.mail.take(); len(sent) != 0 {
				t.Fatalf("%s sent mail: %v", name, sent)
			}
		}

		// Six minutes after the administrator's log-in: too late for an
		// email, not for a city.
		clk.advance(6 * time.Minute)
		stale := b.who("adm")
		refused("a stale administrator's change of email", b.s, stale, "eve@example.com", auth.ErrReauthenticate)
		u, err := b.s.UpdateUser(ctx, stale, ann, account.Patch{City: ptr("Lyon")})
		if err != nil || *u.City != "Lyon" || *u.Email != "ann@example.com" || u.EmailVerifiedAt == nil {
			t.Fatalf("a stale administrator's change of city = %+v, %v", u.User, err)
		}

		// Without a guard nobody changes an email.
		unguarded := admin.New(db, authtest.Hasher(), nil)
		b.signIn("adm")
		fresh := b.who("adm")
		refused("an unguarded change of email", unguarded, fresh, "eve@example.com", auth.ErrReauthenticate)
		refused("an unguarded change of email by the system", unguarded, admin.Who{System: true}, "eve@example.com", nil)
		refused("an email another user has", b.s, fresh, "BOB@example.com", account.ErrEmailTaken)
		refused("a bad email", b.s, fresh, "not-an-email", userd.KindInvalid)

		u, err = b.s.UpdateUser(ctx, fresh, ann, account.Patch{Email: ptr("  Ann@New.Example ")})
		if err != nil || *u.Email != "ann@new.example" || u.EmailVerifiedAt != nil || *u.City != "Lyon" {
			t.Fatalf("a fresh administrator's change of email = %+v, %v", u.User, err)
		}
		authtest.Sent(t, db)
		const subject = "Your email address was changed"
		if got, want := b.mail.take(), []string{"ann@example.com: " + subject, "ann@new.example: " + subject}; !cmp.Equal(got, want) {
			t.Fatalf("mail %v; want %v", got, want)
		}
		told := notice{Type: "security.email_changed", Title: subject, Description: auth.NoticeEmailChanged.Text,
			Data: map[string]string{"ip": client.IP, "user_agent": client.UserAgent}}
		if got := b.notices(ann); !cmp.Equal(got, []notice{told}) {
			t.Fatalf("ann's notifications %+v; want one %+v", got, told)
		}

		// The same address in another case changes nothing to tell.
		if _, err := b.s.UpdateUser(ctx, fresh, ann, account.Patch{Email: ptr("ANN@new.example")}); err != nil {
			t.Fatal(err)
		}
		// The system (the command line) needs no log-in, and the user is
		// told all the same.
		if _, err := b.s.UpdateUser(ctx, admin.Who{System: true}, ann, account.Patch{Email: ptr("ann3@example.com")}); err != nil {
			t.Fatal(err)
		}
		authtest.Sent(t, db)
		if got, want := b.mail.take(), []string{"ann3@example.com: " + subject, "ann@new.example: " + subject}; !cmp.Equal(got, want) {
			t.Fatalf("mail %v; want %v", got, want)
		}
		told.Data = map[string]string{"ip": "", "user_agent": ""}
		if got := b.notices(ann); len(got) != 2 || !cmp.Equal(got[1], told) {
			t.Fatalf("ann's notifications %+v; want a second %+v", got, told)
		}
		if got, want := b.trail(b.id["adm"]), []string{"admin.user_updated ann", "admin.user_updated ann", "admin.user_updated ann"}; !cmp.Equal(got, want) {
			t.Fatalf("adm's trail %v; want %v", got, want)
		}
	})
}
