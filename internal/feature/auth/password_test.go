package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestChangePasswordLimit: 30 concurrent wrong current passwords get
// exactly LoginFailures.Max checked (a KindInvalid error naming
// current_password) and the rest refused by the limit; then the right
// current password is refused too and the password stays as it was. The
// log-in count is another: the user still signs in.
func TestChangePasswordLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		a := actor(t, s, ann.SessionToken)
		rule := auth.DefaultLimits.LoginFailures
		const n = 30
		errs := dbtest.AtOnce(n, func(int) error {
			return s.ChangePassword(as(a), a, "a wrong guess", "a better passphrase", client)
		})
		wrong, refused := 0, 0
		for i, err := range errs {
			e := userd.ErrorOf(err)
			switch {
			case userd.ErrorKind(err) == userd.KindInvalid && e != nil && len(e.Fields) == 1 && e.Fields[0].Field == "current_password":
				wrong++
			case limited(err, rule.Window):
				refused++
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		}
		if wrong != rule.Max || refused != n-rule.Max {
			t.Fatalf("%d wrong passwords checked, %d refused; want %d and %d", wrong, refused, rule.Max, n-rule.Max)
		}
		if err := s.ChangePassword(as(a), a, pw, "a better passphrase", client); !limited(err, rule.Window) {
			t.Fatalf("the right password past the limit = %v; want a rate-limit error", err)
		}
		if _, err := s.Login(ctx, "ann@example.com", "a better passphrase", client); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("the refused new password = %v; want ErrInvalidCredentials", err)
		}
		if _, err := s.Login(ctx, "ann@example.com", pw, client); err != nil {
			t.Fatalf("the old password = %v", err)
		}
	})
}

// TestChangePasswordEndsOtherSessions: a change of password keeps the
// session that made it, ends every other, and tells the owner in the
// application and by mail; a wrong current password changes and tells
// nothing.
func TestChangePasswordEndsOtherSessions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, box := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		box.next(t) // the verification mail
		other, err := s.Login(ctx, "ann@example.com", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		a := actor(t, s, ann.SessionToken)
		notices := func() int {
			return dbtest.Count(t, db, `SELECT count(*) FROM notifications WHERE user_id = $1 AND type = $2`, ann.User.ID, auth.NoticePasswordChanged.Type)
		}
		if err := s.ChangePassword(as(a), a, "nope nope nope", "a better passphrase", client); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("a wrong current password = %v", err)
		}
		if _, err := s.Authenticate(ctx, other.SessionToken); err != nil || notices() != 0 {
			t.Fatalf("after a refused change: the other session %v, %d notices", err, notices())
		}
		if err := s.ChangePassword(as(a), a, pw, "a better passphrase", client); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, other.SessionToken); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("the other session after the change = %v; want it ended", err)
		}
		if _, err := s.Authenticate(ctx, ann.SessionToken); err != nil {
			t.Fatalf("the session that changed it = %v", err)
		}
		authtest.Sent(t, db) // the mail has gone
		if k, mails := notices(), len(box.got); k != 1 || mails != 1 {
			t.Fatalf("%d notices and %d mails; want 1 and 1", k, mails)
		}
		if m := box.next(t); m.To != "ann@example.com" || m.Subject != auth.NoticePasswordChanged.Title {
			t.Fatalf("mail %q to %q", m.Subject, m.To)
		}
		if _, err := s.Login(ctx, "ann@example.com", pw, client); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("the old password = %v", err)
		}
		if _, err := s.Login(ctx, "ann@example.com", "a better passphrase", client); err != nil {
			t.Fatalf("the new password = %v", err)
		}
	})
}
