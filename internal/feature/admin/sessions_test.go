package admin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestEndSessions: an administrator reads a user's sessions, ends one (its
// token is refused at once, the other still works) and then all of them;
// another user's session or an unknown user is not found; each end is in
// the trail under the administrator. The user's factors read as none.
func TestEndSessions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newCast(t, db)
		first := b.token["plain"]
		b.signIn("plain")
		second, plain := b.token["plain"], b.id["plain"]
		list, err := b.s.Sessions(ctx, plain, "", 10)
		if err != nil || len(list) != 2 || list[0].UserID != plain {
			t.Fatalf("sessions = %+v, %v", list, err)
		}
		if page, err := b.s.Sessions(ctx, plain, list[0].ID, 10); err != nil || len(page) != 1 || page[0].ID != list[1].ID {
			t.Fatalf("the next page = %+v, %v", page, err)
		}
		if _, err := b.s.Sessions(ctx, "00000000-0000-7000-8000-000000000000", "", 10); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("an unknown user's sessions: %v", err)
		}
		uw := b.who("uw")
		bossSession := b.who("boss").Actor.SessionID
		for name, sid := range map[string]string{"another user's": bossSession, "malformed": "nope"} {
			if _, err := b.s.EndSessions(ctx, uw, plain, sid); !errors.Is(err, auth.ErrSessionNotFound) {
				t.Errorf("end %s session: %v", name, err)
			}
		}
		if _, err := b.s.EndSessions(ctx, uw, "00000000-0000-7000-8000-000000000000", ""); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("end an unknown user's sessions: %v", err)
		}
		if n, err := b.s.EndSessions(ctx, uw, plain, list[0].ID); err != nil || n != 1 {
			t.Fatalf("end one = %d, %v", n, err)
		}
		if _, err := b.auth.Authenticate(ctx, second); err == nil {
			t.Fatal("the ended session still authenticates")
		}
		if _, err := b.auth.Authenticate(ctx, first); err != nil {
			t.Fatalf("the other session: %v", err)
		}
		if n, err := b.s.EndSessions(ctx, uw, plain, ""); err != nil || n != 1 {
			t.Fatalf("end all = %d, %v", n, err)
		}
		if _, err := b.auth.Authenticate(ctx, first); err == nil {
			t.Fatal("a session outlived end all")
		}
		var trail int
		err = db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM activity_logs WHERE action = 'admin.sessions_ended' AND user_id = $1 AND target_id = $2`,
				b.id["uw"], plain).Scan(&trail)
		})
		if err != nil || trail != 2 {
			t.Fatalf("trail = %d, %v", trail, err)
		}
		f, err := b.s.Factors(ctx, plain)
		if err != nil || f.Enabled || f.RecoveryLeft != 0 || len(f.Passkeys) != 0 {
			t.Fatalf("factors = %+v, %v", f, err)
		}
	})
}
