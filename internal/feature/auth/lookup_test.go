package auth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestAuthenticateStorm: 30 users' session tokens and access tokens, each
// sent 4 times at once to a service that remembers none of them (cold
// authentications read their sessions in shared batches), mixed with an
// ended session, an unknown token and a suspended user's: every call gets
// its own user, session and grants, or its own refusal.
func TestAuthenticateStorm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := authtest.New(t, db, authtest.Options{}) // no rate limits: 32 sign-ups from one address
		type want struct {
			cred, user, session string
			admin               bool
			err                 error
		}
		var wants []want
		for i := range 30 {
			l := signup(t, s, account.Identity{Email: fmt.Sprintf("u%02d@example.com", i)})
			wants = append(wants, want{l.SessionToken, l.User.ID, l.Session.ID, i == 7, nil}, want{l.AccessToken, l.User.ID, l.Session.ID, i == 7, nil})
		}
		ended := signup(t, s, account.Identity{Email: "ended@example.com"})
		held := signup(t, s, account.Identity{Email: "held@example.com"})
		system(t, db, func(ctx context.Context, tx *sqldb.Tx) error {
			if _, err := rbac.Assign(ctx, tx, wants[14].user, rbac.AdminRole); err != nil { // u07
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, ended.Session.ID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE users SET status = 'suspended' WHERE id = $1`, held.User.ID)
			return err
		})
		wants = append(wants,
			want{ended.SessionToken, "", "", false, auth.ErrUnauthenticated},
			want{ended.AccessToken, "", "", false, auth.ErrUnauthenticated},
			want{"us_" + ended.SessionToken[3:len(ended.SessionToken)-2] + "AA", "", "", false, auth.ErrUnauthenticated},
			want{held.SessionToken, "", "", false, auth.ErrSuspended})
		fresh := authtest.New(t, db, authtest.Options{}) // remembers nothing
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		for round := range 4 {
			for i, w := range wants {
				wg.Go(func() {
					c, err := fresh.Authenticate(ctx, w.cred)
					bad := ""
					switch {
					case w.err != nil && !errors.Is(err, w.err):
						bad = fmt.Sprintf("error %v, want %v", err, w.err)
					case w.err == nil && err != nil:
						bad = fmt.Sprintf("error %v", err)
					case w.err == nil && (c.Actor.UserID != w.user || c.User.ID != w.user || c.Actor.SessionID != w.session):
						bad = fmt.Sprintf("user %s session %s, want %s %s", c.Actor.UserID, c.Actor.SessionID, w.user, w.session)
					case w.err == nil && (c.Actor.Grants.Admin != w.admin || !slices.Contains(c.Actor.Grants.Roles, "END_USER") ||
						w.admin != slices.Contains(c.Actor.Grants.Permissions, "roles:write")):
						bad = fmt.Sprintf("grants %+v, admin %v", c.Actor.Grants, w.admin)
					}
					if bad != "" {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("round %d, credential %d: %s", round, i, bad))
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		for _, f := range failures {
			t.Error(f)
		}
	})
}
