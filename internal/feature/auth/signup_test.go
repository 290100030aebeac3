package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestSignupConcurrentSameEmail: 24 concurrent sign-ups of one email in
// three cases make exactly one user; the other 23 get
// account.ErrEmailTaken and leave nothing behind: one user, one session,
// one refresh token, one verification token, one audited sign-up and one
// verification mail.
func TestSignupConcurrentSameEmail(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, box := newService(t, db)
		const n = 24
		errs := dbtest.AtOnce(n, func(i int) error {
			email := "race@example.com"
			if i%2 == 1 {
				email = "RACE@Example.com"
			}
			if i%3 == 0 {
				email = "Race@EXAMPLE.com"
			}
			_, err := s.Signup(ctx, auth.Signup{Identity: account.Identity{Email: email}, Password: pw}, client)
			return err
		})
		created, taken := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case errors.Is(err, account.ErrEmailTaken):
				taken++
			default:
				t.Errorf("sign-up %d: %v", i, err)
			}
		}
		if created != 1 || taken != n-1 {
			t.Fatalf("created %d, taken %d; want 1 and %d", created, taken, n-1)
		}
		for table, want := range map[string]int{"users": 1, "sessions": 1, "refresh_tokens": 1, "verification_tokens": 1} {
			if k := dbtest.Count(t, db, `SELECT count(*) FROM `+table); k != want {
				t.Errorf("%s = %d; want %d", table, k, want)
			}
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM users WHERE email = 'race@example.com'`); k != 1 {
			t.Errorf("users with the email in lower case = %d; want 1", k)
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1`, audit.Signup); k != 1 {
			t.Errorf("sign-ups audited = %d; want 1", k)
		}
		authtest.Sent(t, db)
		if k := len(box.got); k != 1 {
			t.Fatalf("%d mails sent; want 1", k)
		}
		if m := box.next(t); m.To != "race@example.com" || m.Subject != "Confirm your email address" {
			t.Fatalf("mail %q to %q", m.Subject, m.To)
		}
	})
}
