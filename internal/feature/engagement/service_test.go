package engagement_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/platform/memo"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func users(t *testing.T, db *sqldb.DB, n int, prefix string) []userd.Actor {
	out := make([]userd.Actor, n)
	for i := range out {
		out[i] = dbtest.User(t, db, fmt.Sprintf("%s%d@example.com", prefix, i))
	}
	return out
}

// exact checks that the item's counters equal its rows, and that its daily
// counters add up to them.
func exact(t *testing.T, db *sqldb.DB, s *engagement.Service, item string) engagement.Stats {
	t.Helper()
	var up, down, favs, comments int64
	db.SQL().QueryRow(`SELECT count(*) FROM votes WHERE item_id = $1 AND value = 1`, item).Scan(&up)
	db.SQL().QueryRow(`SELECT count(*) FROM votes WHERE item_id = $1 AND value = -1`, item).Scan(&down)
	db.SQL().QueryRow(`SELECT count(*) FROM favorites WHERE item_slug = $1`, item).Scan(&favs)
	db.SQL().QueryRow(`SELECT count(*) FROM comments WHERE item_id = $1 AND deleted_at IS NULL AND hidden IS NULL`, item).Scan(&comments)
	got, err := s.Items(context.Background(), userd.Actor{}, []string{item})
	if err != nil {
		t.Fatal(err)
	}
	st := got[0]
	if st.Upvotes != up || st.Downvotes != down || st.Favorites != favs || st.Comments != comments {
		t.Fatalf("%s: counters %d up, %d down, %d favorites, %d comments; rows %d, %d, %d, %d", item,
			st.Upvotes, st.Downvotes, st.Favorites, st.Comments, up, down, favs, comments)
	}
	var dUp, dDown, dFavs, dComments, dViews int64
	db.SQL().QueryRow(`SELECT COALESCE(SUM(upvotes), 0), COALESCE(SUM(downvotes), 0), COALESCE(SUM(favorites_count), 0),
		COALESCE(SUM(comments_count), 0), COALESCE(SUM(views_count), 0) FROM item_daily_stats WHERE item_slug = $1`, item).Scan(&dUp, &dDown, &dFavs, &dComments, &dViews)
	if dUp != up || dDown != down || dFavs != favs || dComments != comments || dViews != st.Views {
		t.Fatalf("%s: days add up to %d up, %d down, %d favorites, %d comments, %d views; totals %d, %d, %d, %d, %d", item,
			dUp, dDown, dFavs, dComments, dViews, up, down, favs, comments, st.Views)
	}
	return st
}

// remembering returns a Service with d that remembers items' counters, fed
// with invalidations for the test's duration once it listens.
func remembering(t *testing.T, db *sqldb.DB, d engagement.Deps) *engagement.Service {
	t.Helper()
	d.CachedItems = 100
	s := engagement.NewService(db, d)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go memo.Run(ctx, db, s.Memo())
	// It remembers once a change that announces nothing goes unseen.
	if _, err := db.SQL().Exec(`INSERT INTO item_stats (item_slug, shard, upvotes, downvotes, favorites_count, comments_count, views_count, updated_at)
		VALUES ('probe', 0, 1, 0, 0, 0, 0, $1) ON CONFLICT (item_slug, shard) DO NOTHING`, db.Now()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		before, err := s.Items(ctx, userd.Actor{}, []string{"probe"})
		if err != nil {
			t.Fatal(err)
		}
		db.SQL().Exec(`UPDATE item_stats SET upvotes = upvotes + 100 WHERE item_slug = 'probe'`)
		after, err := s.Items(ctx, userd.Actor{}, []string{"probe"})
		db.SQL().Exec(`UPDATE item_stats SET upvotes = upvotes - 100 WHERE item_slug = 'probe'`)
		if err != nil {
			t.Fatal(err)
		}
		if after[0].Upvotes == before[0].Upvotes {
			db.SQL().Exec(`DELETE FROM item_stats WHERE item_slug = 'probe'`)
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("the counters are never remembered")
		}
	}
}

// reading reads items through s until the returned stop is called, so that
// what s remembers is read and dropped all through a storm.
func reading(t *testing.T, s *engagement.Service, items ...string) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.Items(context.Background(), userd.Actor{}, items); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// TestVoteStorm: 200 users vote on one item at once, a third of them
// flipping their vote, a fifth taking it back, every one voting twice,
// while the item is read all along: the counters equal the rows, and so do
// the ones remembered.
func TestVoteStorm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), remembering(t, db, engagement.Deps{})
		voters := users(t, db, 200, "voter")
		stop := reading(t, s, "hot-item", "cold")
		errs := dbtest.AtOnce(len(voters), func(i int) error {
			a := voters[i]
			v := 1
			if i%2 == 0 {
				v = -1
			}
			for range 2 {
				if err := s.Vote(ctx, a, userd.Client{}, "hot-item", v); err != nil {
					return err
				}
			}
			if i%3 == 0 {
				if err := s.Vote(ctx, a, userd.Client{}, "hot-item", -v); err != nil {
					return err
				}
			}
			if i%5 == 0 {
				return s.Unvote(ctx, a, userd.Client{}, "hot-item")
			}
			return s.SetFavorite(ctx, a, userd.Client{}, "hot-item", true)
		})
		stop()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		st := exact(t, db, s, "hot-item")
		if st.Upvotes+st.Downvotes != 160 || st.Favorites != 160 {
			t.Fatalf("stats = %+v; want 160 votes and favorites", st)
		}
		var profiles int
		db.SQL().QueryRow(`SELECT count(*) FROM client_profiles`).Scan(&profiles)
		if profiles != 200 {
			t.Fatalf("%d client profiles; want one per voter", profiles)
		}
		got, err := s.Items(ctx, voters[1], []string{"hot-item", "cold", "hot-item"})
		if err != nil || len(got) != 3 || *got[0].MyVote != 1 || !*got[0].FavoritedByMe || *got[1].MyVote != 0 || got[2].Upvotes != st.Upvotes {
			t.Fatalf("items = %+v, %v", got, err)
		}
	})
}

// TestDeletionInAStorm: users are deleted while they and others vote,
// flip and favorite on two items, read all along: the counters equal the
// rows left, and so do the ones remembered.
func TestDeletionInAStorm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), remembering(t, db, engagement.Deps{})
		voters := users(t, db, 60, "v")
		for i, a := range voters[:20] { // the ones to be deleted have voted already
			if err := s.Vote(ctx, a, userd.Client{}, "a", 1-2*(i%2)); err != nil {
				t.Fatal(err)
			}
			if err := s.SetFavorite(ctx, a, userd.Client{}, "b", true); err != nil {
				t.Fatal(err)
			}
		}
		stop := reading(t, s, "a", "b")
		errs := dbtest.AtOnce(len(voters)+10, func(i int) error {
			if i >= len(voters) { // ten deletions, of users who keep voting meanwhile
				return db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
					return lifecycle.DeleteUser(ctx, tx, voters[i-len(voters)].UserID)
				})
			}
			a := voters[i]
			for k := range 4 {
				var err error
				switch k {
				case 0, 2:
					err = s.Vote(ctx, a, userd.Client{}, "a", 1-2*((i+k)%2))
				case 1:
					err = s.SetFavorite(ctx, a, userd.Client{}, "b", i%2 == 1)
				case 3:
					err = s.Vote(ctx, a, userd.Client{}, "b", 1)
				}
				if errors.Is(err, engagement.ErrUserGone) && i < 10 {
					return nil // deleted meanwhile
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		stop()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		exact(t, db, s, "a")
		exact(t, db, s, "b")
		var profiles int
		db.SQL().QueryRow(`SELECT count(*) FROM client_profiles`).Scan(&profiles)
		if profiles != 50 {
			t.Fatalf("%d client profiles; want 50", profiles)
		}
	})
}

// TestBadInputChangesNothing: bad slugs and vote values are refused before
// anything is written; favorites are idempotent.
func TestBadInputChangesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), remembering(t, db, engagement.Deps{})
		a := dbtest.User(t, db, "a@example.com")
		for _, item := range []string{"", "a b", "a/b", "é", strings.Repeat("x", 201), "a\x00", "a?b", "%41"} {
			if err := s.Vote(ctx, a, userd.Client{}, item, 1); !errors.Is(err, engagement.ErrInvalidItem) {
				t.Errorf("vote on %q = %v", item, err)
			}
			if err := s.SetFavorite(ctx, a, userd.Client{}, item, true); !errors.Is(err, engagement.ErrInvalidItem) {
				t.Errorf("favorite %q = %v", item, err)
			}
			if _, err := s.Items(ctx, a, []string{"ok", item}); !errors.Is(err, engagement.ErrInvalidItem) {
				t.Errorf("read %q = %v", item, err)
			}
		}
		for _, v := range []int{0, 2, -2, 100} {
			if err := s.Vote(ctx, a, userd.Client{}, "ok", v); !errors.Is(err, engagement.ErrInvalidVote) {
				t.Errorf("vote %d = %v", v, err)
			}
		}
		if _, err := s.Items(ctx, a, make([]string, 101)); !errors.Is(err, engagement.ErrTooManyItems) {
			t.Errorf("101 items = %v", err)
		}
		for _, table := range []string{"client_profiles", "votes", "favorites", "item_stats"} {
			var n int
			db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
			if n != 0 {
				t.Errorf("%s has %d rows after bad input", table, n)
			}
		}
		if _, err := s.Profile(ctx, a); !errors.Is(err, engagement.ErrProfileNotFound) {
			t.Fatalf("profile = %v", err)
		}
		for range 3 {
			if err := s.SetFavorite(ctx, a, userd.Client{}, "x:1.0~beta_2-rc", true); err != nil {
				t.Fatal(err)
			}
		}
		if st := exact(t, db, s, "x:1.0~beta_2-rc"); st.Favorites != 1 {
			t.Fatalf("favorites = %d", st.Favorites)
		}
		for range 2 {
			if err := s.SetFavorite(ctx, a, userd.Client{}, "x:1.0~beta_2-rc", false); err != nil {
				t.Fatal(err)
			}
			if err := s.Unvote(ctx, a, userd.Client{}, "never-voted"); err != nil {
				t.Fatal(err)
			}
		}
		if st := exact(t, db, s, "x:1.0~beta_2-rc"); st.Favorites != 0 {
			t.Fatalf("favorites = %d", st.Favorites)
		}
		if _, err := s.Profile(ctx, a); err != nil {
			t.Fatalf("profile after a favorite = %v", err)
		}
	})
}

// TestFavoritesAndProfile: favorites page newest first; a client profile
// is validated, then created or replaced.
func TestFavoritesAndProfile(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), remembering(t, db, engagement.Deps{})
		a, b := dbtest.User(t, db, "a@example.com"), dbtest.User(t, db, "b@example.com")
		for i := range 5 {
			if err := s.SetFavorite(ctx, a, userd.Client{}, fmt.Sprintf("item-%d", i), true); err != nil {
				t.Fatal(err)
			}
		}
		s.SetFavorite(ctx, b, userd.Client{}, "item-0", true)
		var seen []string
		before := ""
		for {
			page, err := s.Favorites(ctx, a, before, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range page {
				seen = append(seen, f.Item)
			}
			if len(page) < 2 {
				break
			}
			before = page[len(page)-1].ID
		}
		if strings.Join(seen, ",") != "item-4,item-3,item-2,item-1,item-0" {
			t.Fatalf("favorites = %v", seen)
		}
		for _, bad := range []engagement.ProfileInput{
			{Status: "banned"}, {Website: "javascript:alert(1)"}, {Website: "ftp://x"}, {Website: "https://"},
			{DisplayName: strings.Repeat("x", 101)}, {Bio: strings.Repeat("x", 2001)}, {City: "a\x00"},
		} {
			if _, err := s.PutProfile(ctx, a, userd.Client{}, bad); userd.ErrorOf(err) == nil || userd.ErrorOf(err).Kind != userd.KindInvalid {
				t.Errorf("put %+v = %v", bad, err)
			}
		}
		p, err := s.PutProfile(ctx, a, userd.Client{}, engagement.ProfileInput{DisplayName: "Ada", Website: "https://ada.example", Country: "UK"})
		if err != nil || p.Status != "active" || p.Plan != "free" || p.DisplayName != "Ada" || p.UserID != a.UserID {
			t.Fatalf("put = %+v, %v", p, err)
		}
		q, err := s.PutProfile(ctx, a, userd.Client{}, engagement.ProfileInput{Status: "inactive", City: "Paris"})
		if err != nil || q.ID != p.ID || q.DisplayName != "" || q.City != "Paris" || q.Status != "inactive" {
			t.Fatalf("replace = %+v, %v", q, err)
		}
		if got, err := s.Profile(ctx, a); err != nil || got != q {
			t.Fatalf("profile = %+v, %v; want %+v", got, err, q)
		}
		var logged int
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE user_id = $1 AND client_id = $2 AND action = 'engagement.client_profile_updated'`,
			a.UserID, p.ID).Scan(&logged)
		if logged != 2 {
			t.Fatalf("%d profile changes logged; want 2", logged)
		}
	})
}

// TestRememberedAcrossProcesses: on PostgreSQL, a vote through one process
// reaches the counters another process remembers.
func TestRememberedAcrossProcesses(t *testing.T) {
	dbs := dbtest.Processes(t, 2)
	mineDB, theirsDB := dbs[0], dbs[1]
	ctx, mine, theirs := context.Background(), remembering(t, mineDB, engagement.Deps{}), engagement.NewService(theirsDB, engagement.Deps{})
	a := dbtest.User(t, theirsDB, "a@example.com")
	if got, err := mine.Items(ctx, userd.Actor{}, []string{"far"}); err != nil || got[0].Upvotes != 0 {
		t.Fatalf("items = %+v, %v", got, err)
	}
	if err := theirs.Vote(ctx, a, userd.Client{}, "far", 1); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got, err := mine.Items(ctx, userd.Actor{}, []string{"far"})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Upvotes == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other process's vote never reached the remembered counters")
		}
	}
}
