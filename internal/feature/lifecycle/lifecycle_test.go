package lifecycle_test

import (
	"context"
	"errors"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var errStale = userd.Errorf(userd.KindForbidden, "reauthentication_required", "stale")

// TestDeleteSelf: a deletion needs a recent log-in; it removes the user,
// keeps the follow counters of others exact, and leaves one entry that
// belongs to no user.
func TestDeleteSelf(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := sqldb.System(context.Background())
		var ann, bob account.User
		err := db.Tx(ctx, func(tx *sqldb.Tx) (err error) {
			if ann, err = account.Insert(ctx, tx, account.New{Identity: account.Identity{Email: "ann@example.com"}}); err != nil {
				return err
			}
			if bob, err = account.Insert(ctx, tx, account.New{Identity: account.Identity{Email: "bob@example.com"}}); err != nil {
				return err
			}
			_, err = social.Follow(ctx, tx, ann.ID, bob.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		fresh := false
		s := lifecycle.NewService(db, lifecycle.Deps{Recent: func(userd.Actor) error {
			if fresh {
				return nil
			}
			return errStale
		}})
		a := userd.Actor{UserID: ann.ID}
		if err := s.DeleteSelf(context.Background(), a, userd.Client{}); !errors.Is(err, errStale) {
			t.Fatalf("a stale deletion = %v", err)
		}
		fresh = true
		if err := s.DeleteSelf(context.Background(), a, userd.Client{IP: "192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
		var users, entries int
		var followers, followings int64
		db.SQL().QueryRow(`SELECT count(*) FROM users WHERE id = $1`, ann.ID).Scan(&users)
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'user.deleted' AND user_id IS NULL AND target_id = $1`, ann.ID).Scan(&entries)
		err = db.View(ctx, func(tx *sqldb.Tx) (err error) {
			followers, followings, err = social.Stats(ctx, tx, bob.ID)
			return err
		})
		if err != nil || users != 0 || entries != 1 || followers != 0 || followings != 0 {
			t.Fatalf("after: %d users, %d entries, bob's counts %d/%d, %v", users, entries, followers, followings, err)
		}
	})
}
