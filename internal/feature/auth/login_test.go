package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestLoginLimitPerAccount: 60 concurrent wrong passwords at one account,
// through its email, username and phone number in any case and spacing,
// share one count: exactly LoginFailures.Max of them are checked (and
// audited as failed), the other 50 are refused by the limit, which is
// audited once. Then even the right password is refused, with a
// Retry-After within the window; another account is untouched; once the
// window has passed, the right password opens a session.
func TestLoginLimitPerAccount(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := withClock(db)
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com", Username: "ann_k", PhoneNumber: "+14155550100"})
		signup(t, s, account.Identity{Email: "bob@example.com"})
		rule := auth.DefaultLimits.LoginFailures
		idents := []string{"ann@example.com", "ANN_K", "+14155550100", " Ann@Example.com "}
		const n = 60
		errs := dbtest.AtOnce(n, func(i int) error {
			_, err := s.Login(ctx, idents[i%len(idents)], "wrong password!", client)
			return err
		})
		wrong, refused := 0, 0
		for i, err := range errs {
			switch {
			case errors.Is(err, auth.ErrInvalidCredentials):
				wrong++
			case limited(err, rule.Window):
				refused++
			default:
				t.Errorf("guess %d (%q): %v", i, idents[i%len(idents)], err)
			}
		}
		if wrong != rule.Max || refused != n-rule.Max {
			t.Fatalf("%d wrong passwords checked, %d refused; want %d and %d", wrong, refused, rule.Max, n-rule.Max)
		}
		if _, err := s.Login(ctx, "ann_k", pw, client); !limited(err, rule.Window) {
			t.Fatalf("the right password past the limit = %v; want a rate-limit error", err)
		}
		failed := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1 AND user_id = $2`, audit.LoginFailed, ann.User.ID)
		reached := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1 AND target_id = $2`, audit.RateLimited, ann.User.ID)
		if failed != rule.Max || reached != 1 {
			t.Fatalf("audited %d failed log-ins and %d limits reached; want %d and 1", failed, reached, rule.Max)
		}
		if l, err := s.Login(ctx, "bob@example.com", pw, client); err != nil || account.Deref(l.User.Email) != "bob@example.com" {
			t.Fatalf("another account's log-in = %+v, %v", l.User, err)
		}
		clk.advance(rule.Window + time.Second)
		if l, err := s.Login(ctx, "+14155550100", pw, client); err != nil || l.User.ID != ann.User.ID || l.SessionToken == "" {
			t.Fatalf("the right password after the window = %+v, %v", l.User, err)
		}
	})
}

// TestLoginLimitUnknownIdentifier: an identifier that names nobody has a
// count of its own, by its normalised form: LoginFailures.Max attempts get
// ErrInvalidCredentials, the next (in another case, with spaces) is
// refused, and the refusal is audited once, for no user. Another unknown
// identifier and a real account are not held back.
func TestLoginLimitUnknownIdentifier(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newService(t, db)
		signup(t, s, account.Identity{Email: "ann@example.com"})
		rule := auth.DefaultLimits.LoginFailures
		for i := range rule.Max {
			if _, err := s.Login(ctx, "ghost@example.com", "wrong password!", client); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("attempt %d = %v", i+1, err)
			}
		}
		for range 2 {
			if _, err := s.Login(ctx, " GHOST@example.com ", "wrong password!", client); !limited(err, rule.Window) {
				t.Fatalf("past the limit = %v; want a rate-limit error", err)
			}
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1 AND user_id IS NULL`, audit.RateLimited); n != 1 {
			t.Fatalf("limits reached audited %d times; want 1", n)
		}
		if _, err := s.Login(ctx, "ghost2@example.com", "wrong password!", client); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("another unknown identifier = %v", err)
		}
		if _, err := s.Login(ctx, "ann@example.com", pw, client); err != nil {
			t.Fatalf("a real account's log-in = %v", err)
		}
	})
}
