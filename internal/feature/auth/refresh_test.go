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

// grace is auth.Config's default RefreshGrace, which newService keeps.
const grace = 10 * time.Second

// TestRefreshConcurrentSameSuccessor: eight concurrent refreshes of one
// token all succeed with one and the same successor (racing tabs are not
// logged out), and only one successor is stored; that successor then
// rotates like any token, and nothing counts as reuse.
func TestRefreshConcurrentSameSuccessor(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		r0 := ann.RefreshToken
		const n = 8
		got := make([]auth.Tokens, n)
		errs := dbtest.AtOnce(n, func(i int) (err error) {
			got[i], err = s.Refresh(ctx, r0, client)
			return err
		})
		succ := got[0].RefreshToken
		for i := range n {
			if errs[i] != nil || got[i].RefreshToken != succ || got[i].AccessToken == "" || got[i].ExpiresIn != 15*time.Minute {
				t.Fatalf("refresh %d = %+v, %v; want the successor %q", i, got[i], errs[i], succ)
			}
		}
		if succ == "" || succ == r0 {
			t.Fatalf("successor %q of %q", succ, r0)
		}
		tokens := func() int {
			return dbtest.Count(t, db, `SELECT count(*) FROM refresh_tokens WHERE session_id = $1`, ann.Session.ID)
		}
		if k := tokens(); k != 2 {
			t.Fatalf("refresh tokens = %d; want 2 (the spent one and one successor)", k)
		}
		next, err := s.Refresh(ctx, succ, client)
		if err != nil || next.RefreshToken == "" || next.RefreshToken == succ || next.RefreshToken == r0 {
			t.Fatalf("refresh of the shared successor = %+v, %v", next, err)
		}
		if k := tokens(); k != 3 {
			t.Fatalf("refresh tokens = %d; want 3", k)
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1`, audit.RefreshReuse); k != 0 {
			t.Fatalf("%d reuses audited; want none", k)
		}
		if _, err := s.Authenticate(ctx, ann.SessionToken); err != nil {
			t.Fatalf("the session after the refreshes = %v", err)
		}
	})
}

// TestRefreshReuseRevokesFamily: a spent token presented again within the
// grace window (to the microsecond) gets its same successor; one
// microsecond later it is reuse, and so is a token two generations old
// even within the window. Reuse ends that session with all its refresh
// tokens, and is audited once per session; the user's other session lives
// on.
func TestRefreshReuseRevokesFamily(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := withClock(db)
		clk.freeze()
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		other, err := s.SignIn(ctx, ann.User.ID, client, "test")
		if err != nil {
			t.Fatal(err)
		}
		refresh := func(tok string) string {
			t.Helper()
			next, err := s.Refresh(ctx, tok, client)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			return next.RefreshToken
		}
		reused := func(name string, l auth.Login, toks ...string) {
			t.Helper()
			for _, tok := range toks {
				if _, err := s.Refresh(ctx, tok, client); !errors.Is(err, auth.ErrInvalidRefresh) {
					t.Fatalf("%s: refresh after reuse = %v; want ErrInvalidRefresh", name, err)
				}
			}
			if _, err := s.Authenticate(ctx, l.SessionToken); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("%s: the session after reuse = %v; want it ended", name, err)
			}
			if k := dbtest.Count(t, db, `SELECT count(*) FROM refresh_tokens WHERE session_id = $1`, l.Session.ID); k != 0 {
				t.Fatalf("%s: %d refresh tokens left of the session", name, k)
			}
			if k := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1 AND target_id = $2`, audit.RefreshReuse, l.Session.ID); k != 1 {
				t.Fatalf("%s: reuse audited %d times; want 1", name, k)
			}
		}

		// Past the grace window.
		r0 := ann.RefreshToken
		r1 := refresh(r0)
		clk.advance(grace)
		if again := refresh(r0); again != r1 {
			t.Fatalf("a retry at the end of the grace window got %q; want the successor %q", again, r1)
		}
		clk.advance(time.Microsecond)
		if _, err := s.Refresh(ctx, r0, client); !errors.Is(err, auth.ErrInvalidRefresh) {
			t.Fatalf("a retry past the grace window = %v; want ErrInvalidRefresh", err)
		}
		reused("past the grace window", ann, r1, r0)

		// Two generations old, within the window.
		third, err := s.SignIn(ctx, ann.User.ID, client, "test")
		if err != nil {
			t.Fatal(err)
		}
		q0 := third.RefreshToken
		q2 := refresh(refresh(q0))
		if _, err := s.Refresh(ctx, q0, client); !errors.Is(err, auth.ErrInvalidRefresh) {
			t.Fatalf("a token two generations old = %v; want ErrInvalidRefresh", err)
		}
		reused("two generations old", third, q2)

		if _, err := s.Authenticate(ctx, other.SessionToken); err != nil {
			t.Fatalf("the user's other session = %v; want it alive", err)
		}
		if _, err := s.Refresh(ctx, other.RefreshToken, client); err != nil {
			t.Fatalf("the other session's refresh = %v", err)
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1`, audit.RefreshReuse); k != 2 {
			t.Fatalf("reuses audited %d times; want 2", k)
		}
	})
}
