package referral_test

import (
	"context"
	"errors"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/referral"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// newUser makes a user, referred through slug when it is not empty.
func newUser(t *testing.T, db *sqldb.DB, username, slug string) userd.Actor {
	t.Helper()
	ctx := sqldb.System(context.Background())
	var u account.User
	err := db.Tx(ctx, func(tx *sqldb.Tx) (err error) {
		if u, err = account.Insert(ctx, tx, account.New{Identity: account.Identity{Username: username}}); err != nil || slug == "" {
			return err
		}
		return referral.Record(ctx, tx, slug, u.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	return userd.Actor{UserID: u.ID}
}

// TestMineAndChoose: a referral is made on first use and stays the same;
// a chosen slug replaces it, a taken or bad one changes nothing; users who
// sign up through it are counted and listed newest first, up to recent.
func TestMineAndChoose(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), referral.NewService(db)
		ann, bob := newUser(t, db, "ann", ""), newUser(t, db, "bob", "")
		first, err := s.Mine(ctx, ann, 10)
		if err != nil || len(first.Slug) < 3 || first.ReferredCount != 0 || len(first.Recent) != 0 {
			t.Fatalf("first = %+v, %v", first, err)
		}
		if again, _ := s.Mine(ctx, ann, 10); again.Slug != first.Slug {
			t.Fatalf("the slug moved from %q to %q", first.Slug, again.Slug)
		}
		if o, err := s.Choose(ctx, ann, "Ann-Invites", 10); err != nil || o.Slug != "ann-invites" {
			t.Fatalf("choose = %+v, %v", o, err)
		}
		if _, err := s.Choose(ctx, bob, "ann-invites", 10); !errors.Is(err, referral.ErrSlugTaken) {
			t.Fatalf("a taken slug = %v", err)
		}
		for _, bad := range []string{"ab", "admin", "no spaces", "-dash"} {
			if _, err := s.Choose(ctx, bob, bad, 10); userd.ErrorKind(err) != userd.KindInvalid {
				t.Errorf("slug %q = %v; want KindInvalid", bad, err)
			}
		}
		newUser(t, db, "carol", "ann-invites")
		newUser(t, db, "dave", "ANN-INVITES")
		o, err := s.Mine(ctx, ann, 1)
		if err != nil || o.ReferredCount != 2 || len(o.Recent) != 1 || *o.Recent[0].Username != "dave" {
			t.Fatalf("after two sign-ups = %+v, %v", o, err)
		}
	})
}
