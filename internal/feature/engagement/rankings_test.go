package engagement_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// counted adds d to an item's counters as on day: to its all-time
// counters and to what the day added, as the package's own changes do.
func counted(t *testing.T, db *sqldb.DB, item, day string, d engagement.Delta) {
	t.Helper()
	_, err := db.SQL().Exec(`INSERT INTO item_stats (item_slug, shard, upvotes, downvotes, favorites_count, comments_count, views_count, updated_at)
		VALUES ($1, 0, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (item_slug, shard) DO UPDATE SET upvotes = item_stats.upvotes + excluded.upvotes,
			downvotes = item_stats.downvotes + excluded.downvotes, favorites_count = item_stats.favorites_count + excluded.favorites_count,
			comments_count = item_stats.comments_count + excluded.comments_count, views_count = item_stats.views_count + excluded.views_count`,
		item, d.Up, d.Down, d.Favorites, d.Comments, d.Views, db.Now())
	if err == nil {
		_, err = db.SQL().Exec(`INSERT INTO item_daily_stats (item_slug, day, shard, upvotes, downvotes, favorites_count, comments_count, views_count)
			VALUES ($1, $2, 0, $3, $4, $5, $6, $7)
			ON CONFLICT (item_slug, day, shard) DO UPDATE SET upvotes = item_daily_stats.upvotes + excluded.upvotes,
				downvotes = item_daily_stats.downvotes + excluded.downvotes, favorites_count = item_daily_stats.favorites_count + excluded.favorites_count,
				comments_count = item_daily_stats.comments_count + excluded.comments_count, views_count = item_daily_stats.views_count + excluded.views_count`, item, day, d.Up, d.Down, d.Favorites, d.Comments, d.Views)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func refresh(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	n, err := engagement.RefreshRankings(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ranked returns a ranking as "item:value item:value …", checking that
// ranks run 1, 2, ….
func ranked(t *testing.T, s *engagement.Service, by, period string, limit int) string {
	t.Helper()
	r, err := s.Ranking(context.Background(), by, period, limit)
	if err != nil {
		t.Fatalf("%s %s: %v", by, period, err)
	}
	var out []string
	for i, it := range r.Items {
		if it.Rank != i+1 {
			t.Fatalf("%s %s: rank %d at %d", by, period, it.Rank, i+1)
		}
		out = append(out, fmt.Sprintf("%s:%g", it.Item, it.Value))
	}
	return strings.Join(out, " ")
}

// TestRankings: each ranking over each period ranks items by what the
// period added to their counters (a vote changed within it counts against
// the period's score), with ties by slug and items of value 0 or below
// left out; rankings change only when refreshed, a refresh replaces them
// whole, and a process sees it within RankingsCacheFor.
func TestRankings(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := dbtest.NewClock(db, june)
		s := remembering(t, db, engagement.Deps{})
		u := users(t, db, 4, "ranker")
		vote := func(a userd.Actor, item string, v int) {
			t.Helper()
			if err := s.Vote(ctx, a, userd.Client{}, item, v); err != nil {
				t.Fatal(err)
			}
		}
		if r, err := s.Ranking(ctx, "score", "all", 20); err != nil || r.ComputedAt != nil || len(r.Items) != 0 {
			t.Fatalf("before any refresh: %+v, %v", r, err)
		}

		// Three weeks ago, c gets three upvotes.
		clock.Set(time.Date(2026, 5, 20, 9, 0, 0, 0, time.UTC))
		for _, a := range u[:3] {
			vote(a, "c", 1)
		}
		// Today (June 10th), one of them turns down, a gets two upvotes and a
		// favorite, e one upvote.
		now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
		clock.Set(now)
		vote(u[0], "c", -1)
		vote(u[1], "a", 1)
		vote(u[2], "a", 1)
		vote(u[3], "e", 1)
		if err := s.SetFavorite(ctx, u[0], userd.Client{}, "a", true); err != nil {
			t.Fatal(err)
		}
		counted(t, db, "a", "2026-06-10", engagement.Delta{Views: 5, Comments: 1})
		counted(t, db, "b", "2026-06-05", engagement.Delta{Views: 9, Favorites: 2})
		counted(t, db, "c", "2026-05-20", engagement.Delta{Views: 20, Comments: 4})
		counted(t, db, "d", "2026-01-01", engagement.Delta{Views: 50, Favorites: 1, Up: 3})

		if n := refresh(t, db); n != 38 {
			t.Errorf("refresh wrote %d rows, want 38", n)
		}
		for _, c := range []struct{ by, period, want string }{
			{"score", "day", "a:2 e:1"}, // c: -1 up, +1 down today
			{"score", "week", "a:2 e:1"},
			{"score", "month", "a:2 c:1 e:1"},
			{"score", "all", "d:3 a:2 c:1 e:1"},
			{"views", "day", "a:5"},
			{"views", "week", "b:9 a:5"},
			{"views", "month", "c:20 b:9 a:5"},
			{"views", "all", "d:50 c:20 b:9 a:5"},
			{"favorites", "day", "a:1"},
			{"favorites", "week", "b:2 a:1"},
			{"favorites", "month", "b:2 a:1"},
			{"favorites", "all", "b:2 a:1 d:1"},
			{"comments", "day", "a:1"},
			{"comments", "week", "a:1"},
			{"comments", "month", "c:4 a:1"},
			{"comments", "all", "c:4 a:1"},
		} {
			if got := ranked(t, s, c.by, c.period, 20); got != c.want {
				t.Errorf("%s over %s = %q, want %q", c.by, c.period, got, c.want)
			}
		}
		// Trending: a's today (2 - 0 + 2·1 + 3·1 + 5/10), e's today, b's
		// five days ago ((2·2 + 9/10) halved every 2 days); c's today is
		// below zero and its upvotes older than the window; d's too old.
		r, err := s.Ranking(ctx, "trending", "all", 20)
		if err != nil {
			t.Fatal(err)
		}
		want := []engagement.Ranked{{Rank: 1, Item: "a", Value: 7.5}, {Rank: 2, Item: "e", Value: 1}, {Rank: 3, Item: "b", Value: 4.9 * math.Pow(0.5, 2.5)}}
		if len(r.Items) != len(want) {
			t.Fatalf("trending = %+v, want %+v", r.Items, want)
		}
		for i, w := range want {
			if g := r.Items[i]; g.Rank != w.Rank || g.Item != w.Item || math.Abs(g.Value-w.Value) > 1e-9 {
				t.Errorf("trending #%d = %+v, want %+v", i+1, g, w)
			}
		}
		if r.By != "trending" || r.Period != "all" || r.ComputedAt == nil || !r.ComputedAt.Equal(now) {
			t.Errorf("trending: %s %s computed at %v, want at %v", r.By, r.Period, r.ComputedAt, now)
		}
		if got := ranked(t, s, "views", "all", 2); got != "d:50 c:20" {
			t.Errorf("views of all, limit 2 = %q", got)
		}

		// Rankings move only when refreshed: e's vote taken back and a new
		// day leave them as they were until then.
		if err := s.Unvote(ctx, u[3], userd.Client{}, "e"); err != nil {
			t.Fatal(err)
		}
		clock.Set(now.Add(24 * time.Hour))
		if got := ranked(t, s, "score", "all", 20); got != "d:3 a:2 c:1 e:1" {
			t.Errorf("score of all before the refresh = %q", got)
		}
		refresh(t, db)
		// What a process read stays in its memory for RankingsCacheFor.
		if got := ranked(t, s, "score", "all", 20); got != "d:3 a:2 c:1 e:1" {
			t.Errorf("score of all right after the refresh = %q", got)
		}
		clock.Set(now.Add(24*time.Hour + engagement.RankingsCacheFor))
		for _, c := range []struct{ by, period, want string }{
			{"score", "all", "d:3 a:2 c:1"},
			{"score", "day", ""}, // nothing yet on the 11th
			{"views", "day", ""},
			{"views", "week", "b:9 a:5"},
		} {
			if got := ranked(t, s, c.by, c.period, 20); got != c.want {
				t.Errorf("after a day: %s over %s = %q, want %q", c.by, c.period, got, c.want)
			}
		}
		// An empty ranking still says when the rankings were computed.
		r, err = s.Ranking(ctx, "views", "day", 20)
		if err != nil || len(r.Items) != 0 || r.ComputedAt == nil || !r.ComputedAt.Equal(now.Add(24*time.Hour)) {
			t.Errorf("views of the day = %+v, %v", r, err)
		}
	})
}

// TestRankingsKeepTheTop: a ranking keeps RankingSize items, ties broken
// by slug; trending puts today's activity above the same activity of days
// before, by half every TrendingHalfLife days.
func TestRankingsKeepTheTop(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clock := dbtest.NewClock(db, june)
		s := remembering(t, db, engagement.Deps{})
		today := engagement.Day(clock.Now())
		for i := range engagement.RankingSize + 1 {
			counted(t, db, fmt.Sprintf("i%03d", engagement.RankingSize-i), today, engagement.Delta{Views: 1})
		}
		counted(t, db, "old", engagement.Day(clock.Now().AddDate(0, 0, -3)), engagement.Delta{Up: 4})
		counted(t, db, "new", today, engagement.Delta{Up: 4})
		refresh(t, db)
		got := ranked(t, s, "views", "all", 100)
		var want []string
		for i := range engagement.RankingSize {
			want = append(want, fmt.Sprintf("i%03d:1", i))
		}
		if got != strings.Join(want, " ") {
			t.Errorf("views of all = %q, want i000 to i099", got)
		}
		if got, want := ranked(t, s, "trending", "all", 3), fmt.Sprintf("new:4 old:%g i000:0.1", 4*math.Pow(0.5, 1.5)); got != want {
			t.Errorf("trending = %q, want %q", got, want)
		}
	})
}

// TestRankingErrors: unknown rankings and periods, and trending over a
// period, are refused.
func TestRankingErrors(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := remembering(t, db, engagement.Deps{})
		for _, c := range []struct {
			by, period string
			want       error
		}{
			{"hot", "all", engagement.ErrInvalidRanking},
			{"score", "year", engagement.ErrInvalidPeriod},
			{"trending", "week", engagement.ErrTrendingPeriod},
		} {
			if _, err := s.Ranking(context.Background(), c.by, c.period, 20); !errors.Is(err, c.want) {
				t.Errorf("%s over %s: %v, want %v", c.by, c.period, err, c.want)
			}
		}
	})
}
