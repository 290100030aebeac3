package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// enableTOTP enrols and confirms a second factor for the actor and returns
// a function that makes a code at the database's time, and the recovery
// codes.
func enableTOTP(t *testing.T, s *auth.Service, clk *clock, tok string) (code func() string, recovery []string) {
	t.Helper()
	a := actor(t, s, tok)
	e, err := s.EnrollTOTP(as(a), a)
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	code = func() string { c, _ := totp.GenerateCode(e.Secret, clk.now()); return c }
	if recovery, err = s.ConfirmTOTP(as(a), a, code(), client); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	clk.advance(30 * time.Second) // the confirming code is spent
	return code, recovery
}

// challenge logs in with the right password of a user with a second factor
// and returns the challenge.
func challenge(t *testing.T, s *auth.Service, identifier, password string) string {
	t.Helper()
	_, err := s.Login(context.Background(), identifier, password, client)
	var req *auth.MFARequired
	if !errors.As(err, &req) || req.Token == "" {
		t.Fatalf("password log-in = %v; want MFARequired", err)
	}
	return req.Token
}

// TestMFALimitAcrossChallenges: new password log-ins give no new guesses at
// the second factor. 20 concurrent wrong codes over four challenges (five
// attempts each) get exactly MFAFailures.Max (10) checked, each audited as
// a failed log-in, and 10 refused by the limit, audited once. Then the
// right code, a recovery code and disabling the factor are refused too,
// the factor stays on and no session opens; once the window has passed,
// the right code signs in.
func TestMFALimitAcrossChallenges(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := withClock(db)
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		code, recovery := enableTOTP(t, s, clk, ann.SessionToken)
		chs := []string{challenge(t, s, "ann@example.com", pw), challenge(t, s, "ann@example.com", pw), challenge(t, s, "ann@example.com", pw), challenge(t, s, "ann@example.com", pw)}
		rule := auth.DefaultLimits.MFAFailures
		const n = 20
		errs := dbtest.AtOnce(n, func(i int) error {
			_, err := s.VerifyMFA(ctx, chs[i%len(chs)], "000000", "", client)
			return err
		})
		wrong, refused := 0, 0
		for i, err := range errs {
			switch {
			case errors.Is(err, mfa.ErrInvalidCode):
				wrong++
			case limited(err, rule.Window):
				refused++
			default:
				t.Errorf("code %d: %v", i, err)
			}
		}
		if wrong != rule.Max || refused != n-rule.Max {
			t.Fatalf("%d wrong codes checked, %d refused; want %d and %d", wrong, refused, rule.Max, n-rule.Max)
		}
		failed := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1 AND user_id = $2`, audit.LoginFailed, ann.User.ID)
		reached := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1 AND target_id = $2`, audit.RateLimited, ann.User.ID)
		if failed != rule.Max || reached != 1 {
			t.Fatalf("audited %d failed second factors and %d limits reached; want %d and 1", failed, reached, rule.Max)
		}
		if _, err := s.VerifyMFA(ctx, challenge(t, s, "ann@example.com", pw), code(), "", client); !limited(err, rule.Window) {
			t.Fatalf("the right code past the limit = %v; want a rate-limit error", err)
		}
		if _, err := s.VerifyMFA(ctx, challenge(t, s, "ann@example.com", pw), "", recovery[0], client); !limited(err, rule.Window) {
			t.Fatalf("a recovery code past the limit = %v; want a rate-limit error", err)
		}
		a := actor(t, s, ann.SessionToken)
		if err := s.DisableTOTP(as(a), a, code(), "", client); !limited(err, rule.Window) {
			t.Fatalf("disabling past the limit = %v; want a rate-limit error", err)
		}
		if on := dbtest.Count(t, db, `SELECT count(*) FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL`, ann.User.ID); on != 1 {
			t.Fatal("the second factor was disabled past the limit")
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM sessions WHERE user_id = $1`, ann.User.ID); k != 1 {
			t.Fatalf("sessions = %d; want the sign-up's only", k)
		}
		clk.advance(rule.Window + time.Second)
		l, err := s.VerifyMFA(ctx, challenge(t, s, "ann@example.com", pw), code(), "", client)
		if err != nil || l.User.ID != ann.User.ID || l.SessionToken == "" {
			t.Fatalf("the right code after the window = %+v, %v", l.User, err)
		}
	})
}
