package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestSessionCap: a user may hold auth.MaxSessions (100) live sessions; the
// 101st ends the oldest only (with its refresh token), exactly 100 remain,
// and another user's session is untouched. Dead sessions (idle past the
// cut-off) are deleted at the next log-in and hold no place.
func TestSessionCap(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := withClock(db)
		s, _ := newService(t, db)
		first := signup(t, s, account.Identity{Email: "ann@example.com"})
		bob := signup(t, s, account.Identity{Email: "bob@example.com"})
		annID := first.User.ID
		sessions := func() int { return dbtest.Count(t, db, `SELECT count(*) FROM sessions WHERE user_id = $1`, annID) }
		tokens := []string{first.SessionToken}
		for range auth.MaxSessions - 1 {
			l, err := s.SignIn(ctx, annID, client, "test")
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, l.SessionToken)
		}
		if n := sessions(); n != auth.MaxSessions {
			t.Fatalf("sessions at the cap = %d; want %d", n, auth.MaxSessions)
		}
		if _, err := s.Authenticate(ctx, first.SessionToken); err != nil {
			t.Fatalf("the oldest session at the cap = %v; want it alive", err)
		}
		newest, err := s.Login(ctx, "ann@example.com", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		if n := sessions(); n != auth.MaxSessions {
			t.Fatalf("sessions after the 101st = %d; want %d", n, auth.MaxSessions)
		}
		if _, err := s.Authenticate(ctx, first.SessionToken); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("the oldest session after the 101st = %v; want ErrUnauthenticated", err)
		}
		if _, err := s.Refresh(ctx, first.RefreshToken, client); !errors.Is(err, auth.ErrInvalidRefresh) {
			t.Fatalf("the oldest session's refresh token = %v; want ErrInvalidRefresh", err)
		}
		for name, tok := range map[string]string{"the second oldest": tokens[1], "the newest": newest.SessionToken, "bob's": bob.SessionToken} {
			if _, err := s.Authenticate(ctx, tok); err != nil {
				t.Errorf("%s session = %v", name, err)
			}
		}
		clk.advance(8 * 24 * time.Hour) // past the 7-day idle cut-off
		if _, err := s.Login(ctx, "ann@example.com", pw, client); err != nil {
			t.Fatal(err)
		}
		if n := sessions(); n != 1 {
			t.Fatalf("sessions after the others idled out = %d; want 1", n)
		}
	})
}

// TestRequireRecent: a log-in counts as recent for ReauthMaxAge (5 minutes)
// to the microsecond, and an actor that does not say when they signed in
// never does. The changes that need it (enrolling, confirming and
// disabling a second factor) refuse a stale session and change nothing; a
// new log-in may make them.
func TestRequireRecent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := withClock(db)
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		a := actor(t, s, ann.SessionToken)
		if !a.AuthTime.Equal(ann.Session.CreatedAt) {
			t.Fatalf("AuthTime %v; want the session's creation %v", a.AuthTime, ann.Session.CreatedAt)
		}
		if err := s.RequireRecent(a); err != nil {
			t.Fatalf("just signed up = %v", err)
		}
		now := clk.freeze()
		for _, tc := range []struct {
			age    time.Duration
			recent bool
		}{{0, true}, {5 * time.Minute, true}, {5*time.Minute + time.Microsecond, false}, {time.Hour, false}} {
			err := s.RequireRecent(userd.Actor{UserID: a.UserID, AuthTime: now.Add(-tc.age)})
			if tc.recent != (err == nil) || (err != nil && !errors.Is(err, auth.ErrReauthenticate)) {
				t.Errorf("a log-in %v ago = %v; recent %v", tc.age, err, tc.recent)
			}
		}
		if err := s.RequireRecent(userd.Actor{UserID: a.UserID}); !errors.Is(err, auth.ErrReauthenticate) {
			t.Errorf("no time of log-in = %v", err)
		}

		clk.advance(6 * time.Minute)
		stale := actor(t, s, ann.SessionToken)
		if _, err := s.EnrollTOTP(as(stale), stale); !errors.Is(err, auth.ErrReauthenticate) {
			t.Errorf("enrol with a stale log-in = %v", err)
		}
		if _, err := s.ConfirmTOTP(as(stale), stale, "123456", client); !errors.Is(err, auth.ErrReauthenticate) {
			t.Errorf("confirm with a stale log-in = %v", err)
		}
		if err := s.DisableTOTP(as(stale), stale, "123456", "", client); !errors.Is(err, auth.ErrReauthenticate) {
			t.Errorf("disable with a stale log-in = %v", err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM mfa_totp`); n != 0 {
			t.Fatalf("a stale session made %d enrolments", n)
		}
		l, err := s.Login(ctx, "ann@example.com", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		fresh := actor(t, s, l.SessionToken)
		if _, err := s.EnrollTOTP(as(fresh), fresh); err != nil {
			t.Fatalf("enrol after a new log-in = %v", err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM mfa_totp WHERE user_id = $1`, ann.User.ID); n != 1 {
			t.Fatalf("enrolments after a new log-in = %d; want 1", n)
		}
	})
}
