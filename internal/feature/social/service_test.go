package social_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestFollowStorm: 12 users follow one user twice each and unfollow, all at
// once: the counters equal the follows that exist, the lists page through
// them newest first, and a self-follow is refused.
func TestFollowStorm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), social.NewService(db)
		star := dbtest.User(t, db, "star@example.com")
		fans := make([]userd.Actor, 12)
		for i := range fans {
			fans[i] = dbtest.User(t, db, fmt.Sprintf("fan%d@example.com", i))
		}
		var wg sync.WaitGroup
		for i, f := range fans {
			for range 2 {
				wg.Go(func() {
					if err := s.SetFollow(ctx, f, star.UserID, true); err != nil {
						t.Error(err)
					}
				})
			}
			if i%3 == 0 { // every third fan also unfollows, after following
				wg.Go(func() {
					if err := s.SetFollow(ctx, f, star.UserID, true); err != nil {
						t.Error(err)
					}
					if err := s.SetFollow(ctx, f, star.UserID, false); err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()
		var follows int64
		db.SQL().QueryRow(`SELECT count(*) FROM user_follows WHERE following_id = $1`, star.UserID).Scan(&follows)
		p, err := s.Profile(ctx, fans[1], star.UserID)
		if err != nil || p.Followers != follows || p.FollowedByViewer == nil || !*p.FollowedByViewer {
			t.Fatalf("profile = %+v, %v; %d follows exist", p, err, follows)
		}
		if anon, _ := s.Profile(ctx, userd.Actor{}, star.UserID); anon.FollowedByViewer != nil {
			t.Fatal("an anonymous viewer was told whom they follow")
		}
		var seen int64
		before := ""
		for {
			page, err := s.Page(ctx, social.Followers, star.UserID, before, 5)
			if err != nil {
				t.Fatal(err)
			}
			seen += int64(len(page))
			if len(page) < 5 {
				break
			}
			before = page[len(page)-1].FollowID
		}
		if seen != follows {
			t.Fatalf("the list pages through %d of %d follows", seen, follows)
		}
		if err := s.SetFollow(ctx, star, star.UserID, true); !errors.Is(err, social.ErrSelfFollow) {
			t.Fatalf("a self-follow = %v", err)
		}
		if id, err := s.Resolve(ctx, star.UserID); err != nil || id != star.UserID {
			t.Fatalf("resolve = %q, %v", id, err)
		}
	})
}

// TestFollowBatchErrors: follows of a user who does not exist, made at once
// with 40 users' follows and unfollows of another, fail alone: every other
// change is made, and the counters equal the follows that exist.
func TestFollowBatchErrors(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), social.NewService(db)
		star := dbtest.User(t, db, "star@example.com")
		fans := make([]userd.Actor, 40)
		for i := range fans {
			fans[i] = dbtest.User(t, db, fmt.Sprintf("fan%d@example.com", i))
		}
		for _, f := range fans[:10] { // ten follow already; they unfollow in the storm
			if err := s.SetFollow(ctx, f, star.UserID, true); err != nil {
				t.Fatal(err)
			}
		}
		const ghost = "01a23600-0000-7000-8000-00000000dead"
		var wg sync.WaitGroup
		errs := make([]error, len(fans))
		ghostErrs := make([]error, 5)
		for i, f := range fans {
			wg.Go(func() { errs[i] = s.SetFollow(ctx, f, star.UserID, i >= 10) })
		}
		for i := range ghostErrs {
			wg.Go(func() { ghostErrs[i] = s.SetFollow(ctx, fans[i], ghost, true) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("fan %d: %v", i, err)
			}
		}
		for i, err := range ghostErrs {
			if !errors.Is(err, social.ErrUserNotFound) {
				t.Errorf("follow of a missing user %d = %v", i, err)
			}
		}
		var follows int64
		db.SQL().QueryRow(`SELECT count(*) FROM user_follows WHERE following_id = $1`, star.UserID).Scan(&follows)
		p, err := s.Profile(ctx, userd.Actor{}, star.UserID)
		if err != nil || follows != 30 || p.Followers != 30 {
			t.Fatalf("%d follows, profile %+v, %v; want 30", follows, p, err)
		}
		for i, f := range []userd.Actor{fans[0], fans[10]} {
			fp, err := s.Profile(ctx, userd.Actor{}, f.UserID)
			if want := int64(i); err != nil || fp.Followings != want {
				t.Fatalf("fan %d follows %d (%v), want %d", i*10, fp.Followings, err, want)
			}
		}
	})
}
