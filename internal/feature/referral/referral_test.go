package referral_test

import (
	"context"
	"errors"
	"strings"
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

// TestReferralsOutliveTheReferred: a referred user's deletion keeps their
// referral row, nulled, so the count stays (seed 000 tracks every
// successful referral); pages go through every row, newest first, without
// repeats; the referrer's deletion takes their rows.
func TestReferralsOutliveTheReferred(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), referral.NewService(db)
		ann := newUser(t, db, "ann", "")
		if _, err := s.Choose(ctx, ann, "ann-invites", 10); err != nil {
			t.Fatal(err)
		}
		var referred []userd.Actor
		for _, name := range []string{"carol", "dave", "erin", "frank", "gina"} {
			referred = append(referred, newUser(t, db, name, "ann-invites"))
		}
		gone := referred[1] // dave
		if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return account.Delete(ctx, tx, gone.UserID) }); err != nil {
			t.Fatal(err)
		}
		o, err := s.Mine(ctx, ann, 10)
		if err != nil || o.ReferredCount != 5 || len(o.Recent) != 5 {
			t.Fatalf("after a referred user's deletion = %+v, %v", o, err)
		}
		var names []string
		before := ""
		for page := 0; ; page++ {
			list, err := s.Referred(ctx, ann, before, 2)
			if err != nil || page > 3 {
				t.Fatalf("page %d: %v", page, err)
			}
			for _, x := range list {
				switch {
				case x.UserID == "" && x.Username == nil:
					names = append(names, "(deleted)")
				case x.Username != nil && x.UserID != "":
					names = append(names, *x.Username)
				default:
					t.Fatalf("referred %+v", x)
				}
			}
			if len(list) < 2 {
				break
			}
			before = list[len(list)-1].ID
		}
		if got := strings.Join(names, " "); got != "gina frank erin (deleted) carol" {
			t.Fatalf("pages = %s", got)
		}
		if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return account.Delete(ctx, tx, ann.UserID) }); err != nil {
			t.Fatal(err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM referred_users`); n != 0 {
			t.Fatalf("%d rows left after the referrer's deletion", n)
		}
	})
}
