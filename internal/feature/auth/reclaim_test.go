package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// metadata returns the metadata of the one audit entry of an action for a
// user.
func metadata(t *testing.T, db *sqldb.DB, action, userID string) map[string]any {
	t.Helper()
	var raw string
	if err := db.SQL().QueryRow(`SELECT metadata FROM activity_logs WHERE action = $1 AND user_id = $2`, action, userID).Scan(&raw); err != nil {
		t.Fatalf("the %s entry: %v", action, err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("the %s entry's metadata %q: %v", action, raw, err)
	}
	return m
}

// resetMail asks for a reset link and returns its token.
func resetMail(t *testing.T, s *auth.Service, box *outbox, email string) string {
	t.Helper()
	if err := s.ForgotPassword(context.Background(), email, client); err != nil {
		t.Fatal(err)
	}
	m := box.next(t)
	if m.To != email || m.Subject != "Reset your password" {
		t.Fatalf("mail %q to %q; want the reset link", m.Subject, m.To)
	}
	return tokenOf(t, m)
}

// TestResetReclaimsUnverifiedAccount: a reset link that reaches an address
// nobody had proven gives the account to the address's owner: both of the
// squatter's sessions end, with their refresh tokens, their second factor
// and recovery codes go, and the trail records the reclaim with what it
// removed. The owner then signs in with the new password alone, the email
// verified.
func TestResetReclaimsUnverifiedAccount(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := withClock(db)
		s, box := newService(t, db)
		squatter := signup(t, s, account.Identity{Email: "dave@example.com"})
		id := squatter.User.ID
		box.next(t) // the verification mail, which the squatter cannot read
		enableTOTP(t, s, clk, squatter.SessionToken)
		box.next(t) // the notice of the second factor
		second, err := s.SignIn(ctx, id, client, "test")
		if err != nil {
			t.Fatal(err)
		}
		tok := resetMail(t, s, box, "dave@example.com")
		if err := s.ResetPassword(ctx, tok, "daves own secret", client); err != nil {
			t.Fatalf("reset = %v", err)
		}
		for _, l := range []auth.Login{squatter, second} {
			if _, err := s.Authenticate(ctx, l.SessionToken); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("a squatter's session after the reset = %v; want it ended", err)
			}
			if _, err := s.Refresh(ctx, l.RefreshToken, client); !errors.Is(err, auth.ErrInvalidRefresh) {
				t.Fatalf("a squatter's refresh token after the reset = %v", err)
			}
		}
		for _, table := range []string{"sessions", "refresh_tokens", "mfa_totp", "mfa_recovery_codes"} {
			if k := dbtest.Count(t, db, `SELECT count(*) FROM `+table+` WHERE user_id = $1`, id); k != 0 {
				t.Errorf("%s of the user after the reset = %d; want 0", table, k)
			}
		}
		meta := metadata(t, db, audit.AccountReclaimed, id)
		if meta["by"] != "password_reset" || meta["sessions_revoked"] != float64(2) || meta["passkeys_removed"] != float64(0) {
			t.Fatalf("the reclaim's entry: %v", meta)
		}
		if _, err := s.Login(ctx, "dave@example.com", pw, client); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("the squatter's password = %v", err)
		}
		l, err := s.Login(ctx, "dave@example.com", "daves own secret", client)
		if err != nil {
			t.Fatalf("the owner's log-in = %v; want a session without a second factor", err)
		}
		if l.User.ID != id || l.User.EmailVerifiedAt == nil {
			t.Fatalf("the owner's account: %+v", l.User)
		}
	})
}

// TestResetKeepsVerifiedAccount: a reset of an account whose email was
// proven reclaims nothing: it ends the sessions, as every reset does, but
// the second factor stays and still guards the log-in, and no reclaim is
// audited.
func TestResetKeepsVerifiedAccount(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := withClock(db)
		s, box := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		if err := s.VerifyEmail(ctx, tokenOf(t, box.next(t)), client); err != nil {
			t.Fatal(err)
		}
		enableTOTP(t, s, clk, ann.SessionToken)
		box.next(t) // the notice of the second factor
		tok := resetMail(t, s, box, "ann@example.com")
		if err := s.ResetPassword(ctx, tok, "a brand new secret", client); err != nil {
			t.Fatalf("reset = %v", err)
		}
		if _, err := s.Authenticate(ctx, ann.SessionToken); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("the session after a reset = %v; want it ended", err)
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM mfa_totp WHERE user_id = $1`, ann.User.ID); k != 1 {
			t.Fatalf("second factors after the reset = %d; want 1", k)
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = $1`, audit.AccountReclaimed); k != 0 {
			t.Fatalf("%d reclaims audited; want none", k)
		}
		challenge(t, s, "ann@example.com", "a brand new secret")
	})
}

// TestReclaim: Reclaim, in its caller's transaction, takes the password
// and the external subject, ends the sessions, removes the second factor,
// calls the unlinker once, marks the email verified, and says what it
// removed.
func TestReclaim(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := withClock(db)
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		enableTOTP(t, s, clk, ann.SessionToken)
		for range 2 {
			if _, err := s.SignIn(ctx, ann.User.ID, client, "test"); err != nil {
				t.Fatal(err)
			}
		}
		bob := signup(t, s, account.Identity{Email: "bob@example.com"})
		unlinked := 0
		var meta map[string]any
		uctx := sqldb.AsUser(ctx, ann.User.ID)
		err := db.Tx(uctx, func(tx *sqldb.Tx) (err error) {
			meta, err = auth.Reclaim(uctx, tx, ann.User.ID, func(_ context.Context, _ *sqldb.Tx, userID string) (int64, error) {
				if userID == ann.User.ID {
					unlinked++
				}
				return 2, nil
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if unlinked != 1 || meta["sessions_revoked"] != int64(3) || meta["provider_links_removed"] != int64(2) || meta["passkeys_removed"] != int64(0) {
			t.Fatalf("unlinked %d times; meta %v", unlinked, meta)
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM sessions WHERE user_id = $1`, ann.User.ID); k != 0 {
			t.Fatalf("sessions = %d; want 0", k)
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM mfa_totp WHERE user_id = $1`, ann.User.ID); k != 0 {
			t.Fatalf("second factors = %d; want 0", k)
		}
		if k := dbtest.Count(t, db, `SELECT count(*) FROM users WHERE id = $1 AND password_hash IS NULL AND auth_user_id IS NULL AND email_verified_at IS NOT NULL`, ann.User.ID); k != 1 {
			t.Fatal("the user keeps a password or a subject, or their email is not verified")
		}
		if _, err := s.Login(ctx, "ann@example.com", pw, client); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("the old password = %v", err)
		}
		if _, err := s.Authenticate(ctx, bob.SessionToken); err != nil {
			t.Fatalf("another user's session = %v", err)
		}
	})
}
