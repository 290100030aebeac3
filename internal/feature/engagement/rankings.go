package engagement

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Rankings are computed, not summed per request: RefreshRankings, run by a
// job every RefreshEvery, ranks items from the counters and replaces the
// rows of item_rankings in one transaction; Ranking reads one ranking's
// rows, which a process then answers from memory for RankingsCacheFor.
// Counters (Items) are exact at every commit; rankings are as fresh as
// their last refresh (computed_at), seen within RankingsCacheFor.
//
// What each ranking ranks by:
//   - score: upvotes − downvotes; views; favorites; comments.
//   - over the period "all", the item's all-time counters (item_stats);
//     over "day" (today, UTC), "week" (the last 7 UTC days, today
//     included) and "month" (the last 30), what those days added to them
//     (item_daily_stats): a vote changed from up to down within the period
//     counts −1 up and +1 down in it, a favorite made before the period and
//     ended within it counts −1.
//   - trending: Σ over the last TrendingDays UTC days (today's age 0) of
//     (upvotes − downvotes + 2·favorites + 3·comments + views/10) ·
//     0.5^(age/TrendingHalfLife), what each day added; it has no period
//     other than "all".
//
// A ranking holds the RankingSize items of highest value, of those whose
// value is above zero, ties broken by slug ascending.
const (
	RankingSize      = 100
	RefreshEvery     = time.Minute
	RankingsCacheFor = 5 * time.Second
	TrendingDays     = 14
	TrendingHalfLife = 2 // days
)

// Ranking names: what a ranking ranks items by.
const (
	ByScore     = "score"
	ByViews     = "views"
	ByFavorites = "favorites"
	ByComments  = "comments"
	ByTrending  = "trending"
)

// Bys are the rankings; Periods their periods.
var (
	Bys     = []string{ByScore, ByViews, ByFavorites, ByComments, ByTrending}
	Periods = []string{"day", "week", "month", "all"}
)

// periodDays is how many UTC days each period but "all" spans, today
// included.
var periodDays = map[string]int{"day": 1, "week": 7, "month": 30}

// Errors that Ranking returns.
var (
	ErrInvalidRanking = &userd.Error{Kind: userd.KindInvalid, Code: "validation_failed", Message: "No such ranking.",
		Fields: []userd.FieldError{{Field: "by", Code: "invalid_ranking", Message: "by is score, views, favorites, comments or trending."}}}
	ErrInvalidPeriod = &userd.Error{Kind: userd.KindInvalid, Code: "validation_failed", Message: "No such period.",
		Fields: []userd.FieldError{{Field: "period", Code: "invalid_period", Message: "period is day, week, month or all."}}}
	ErrTrendingPeriod = &userd.Error{Kind: userd.KindInvalid, Code: "validation_failed", Message: "trending has no period.",
		Fields: []userd.FieldError{{Field: "period", Code: "not_applicable",
			Message: fmt.Sprintf("trending decays over the last %d days: its period is all.", TrendingDays)}}}
)

// Ranked is an item's place in a ranking.
type Ranked struct {
	Rank  int // 1 first
	Item  string
	Value float64
}

// Ranking is a ranking as last computed.
type Ranking struct {
	By, Period string
	// ComputedAt is when the rankings were computed; nil when no refresh
	// has ranked any item yet.
	ComputedAt *time.Time
	Items      []Ranked
}

// Ranking returns the first limit items (1 to RankingSize; RankingSize
// otherwise) of the ranking by over period, as last computed, read at most
// RankingsCacheFor ago (by the database's clock). It returns
// ErrInvalidRanking, ErrInvalidPeriod and ErrTrendingPeriod.
func (s *Service) Ranking(ctx context.Context, by, period string, limit int) (Ranking, error) {
	out := Ranking{By: by, Period: period}
	switch {
	case !slices.Contains(Bys, by):
		return out, ErrInvalidRanking
	case !slices.Contains(Periods, period):
		return out, ErrInvalidPeriod
	case by == ByTrending && period != "all":
		return out, ErrTrendingPeriod
	}
	if limit <= 0 || limit > RankingSize {
		limit = RankingSize
	}
	cache := s.ranked
	key := by + " " + period
	cache.mu.Lock()
	c, ok := cache.at[key]
	cache.mu.Unlock()
	if !ok || s.db.Now().Sub(c.read) >= RankingsCacheFor {
		var err error
		if c, err = s.readRanking(ctx, by, period); err != nil {
			return out, err
		}
		cache.mu.Lock()
		cache.at[key] = c
		cache.mu.Unlock()
	}
	out = c.Ranking
	out.Items = out.Items[:min(limit, len(out.Items))]
	return out, nil
}

// rankingCache is what a Service remembers of the rankings, by ranking
// and period.
type rankingCache struct {
	mu sync.Mutex
	at map[string]cachedRanking
}

// cachedRanking is a ranking whole, read at read.
type cachedRanking struct {
	Ranking
	read time.Time
}

// readRanking reads a ranking whole from item_rankings.
func (s *Service) readRanking(ctx context.Context, by, period string) (cachedRanking, error) {
	out := cachedRanking{Ranking: Ranking{By: by, Period: period}}
	// System: rankings are public sums of every user's rows.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		out.read = tx.Now
		var at time.Time
		items, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (r Ranked, err error) {
			return r, row.Scan(&r.Rank, &r.Item, &r.Value, &at)
		}, `SELECT position, item_slug, value, computed_at FROM item_rankings WHERE ranking = $1 AND period = $2 ORDER BY position`, by, period)
		if err != nil {
			return fmt.Errorf("read ranking: %w", err)
		}
		out.Items = items
		if len(items) == 0 { // this one is empty: when were the others computed?
			err = tx.QueryRow(ctx, `SELECT computed_at FROM item_rankings LIMIT 1`).Scan(&at)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read rankings' time: %w", err)
			}
		}
		at = at.UTC()
		out.ComputedAt = &at
		return nil
	})
	return out, err
}

// rankedRow is a row of item_rankings.
type rankedRow struct {
	ranking, period string
	Ranked
}

// counters are what the rankings but trending rank by, as sums of the
// counter columns.
var counters = []struct{ ranking, sum string }{
	{ByScore, "upvotes - downvotes"}, {ByViews, "views_count"}, {ByFavorites, "favorites_count"}, {ByComments, "comments_count"},
}

// top selects, from a table t (a CTE of item_slug and one column per
// ranking and period, named ranking_period), the RankingSize items of
// highest value above zero of each of rankings over each of periods, as
// rows of (ranking, period, slug, value, position).
func top(rankings, periods []string) string {
	var parts []string
	for _, r := range rankings {
		for _, p := range periods {
			parts = append(parts, fmt.Sprintf(`SELECT '%[1]s', '%[2]s', item_slug, value, ROW_NUMBER() OVER (ORDER BY value DESC, item_slug)
				FROM (SELECT item_slug, %[1]s_%[2]s AS value FROM t WHERE %[1]s_%[2]s > 0 ORDER BY %[1]s_%[2]s DESC, item_slug LIMIT %[3]d) top_%[1]s_%[2]s`,
				r, p, RankingSize))
		}
	}
	return strings.Join(parts, "\nUNION ALL ")
}

// allTime and windowed are the two queries that compute every ranking:
// allTime from item_stats; windowed from the rows of item_daily_stats of
// the last 30 days, in one pass, with $1 today, $2 yesterday, …,
// $TrendingDays the first day of trending's window (the week's first day
// among them) and $(TrendingDays+1) the first of the month's. Each row
// is compared with as few days as may be (SQLite compares a DATE column
// with a parameter as numbers first): the month's sums take every row,
// trending's weight first leaves out the days before its window. Its day
// sums are counted in tenths (views/10) and divided once.
var allTime, windowed = func() (string, string) {
	names := []string{ByScore, ByViews, ByFavorites, ByComments}
	var all, win strings.Builder
	for _, c := range counters {
		fmt.Fprintf(&all, ", SUM(%s) AS %s_all", c.sum, c.ranking)
		for _, p := range []string{"day", "week"} {
			fmt.Fprintf(&win, ", SUM(CASE WHEN day >= $%d THEN %s ELSE 0 END) AS %s_%s", periodDays[p], c.sum, c.ranking, p)
		}
		fmt.Fprintf(&win, ", SUM(%s) AS %s_month", c.sum, c.ranking)
	}
	fmt.Fprintf(&win, `, SUM(CAST(10 * (upvotes - downvotes + 2 * favorites_count + 3 * comments_count) + views_count AS DOUBLE PRECISION)
		* CASE WHEN day < $%d THEN 0`, TrendingDays)
	for age := range TrendingDays {
		fmt.Fprintf(&win, " WHEN day = $%d THEN %.17g", age+1, math.Pow(0.5, float64(age)/TrendingHalfLife))
	}
	win.WriteString(" ELSE 0 END) / 10 AS trending_all")
	return `WITH t AS (SELECT item_slug` + all.String() + ` FROM item_stats GROUP BY item_slug)
			` + top(names, []string{"all"}),
		fmt.Sprintf(`WITH t AS (SELECT item_slug%s FROM item_daily_stats WHERE day >= $%d GROUP BY item_slug)
			`, win.String(), TrendingDays+1) + top(names, []string{"day", "week", "month"}) + "\nUNION ALL " + top([]string{ByTrending}, []string{"all"})
}()

// rankAll computes every ranking at the transaction's clock.
func rankAll(ctx context.Context, tx *sqldb.Tx) ([]rankedRow, error) {
	scan := func(row sqldb.Scanner) (r rankedRow, err error) {
		return r, row.Scan(&r.ranking, &r.period, &r.Item, &r.Value, &r.Rank)
	}
	all, err := sqldb.All(ctx, tx, scan, allTime)
	if err != nil {
		return nil, fmt.Errorf("rank items over all time: %w", err)
	}
	days := make([]any, TrendingDays, TrendingDays+1)
	for age := range days {
		days[age] = Day(tx.Now.AddDate(0, 0, -age))
	}
	days = append(days, Day(tx.Now.AddDate(0, 0, 1-periodDays["month"])))
	win, err := sqldb.All(ctx, tx, scan, windowed, days...)
	if err != nil {
		return nil, fmt.Errorf("rank items over days: %w", err)
	}
	return append(all, win...), nil
}

// RefreshRankings computes every ranking from the counters, in a read-only
// transaction (on SQLite, votes go on meanwhile), and replaces the rows of
// item_rankings with them in one short transaction; readers see the old
// rankings or the new ones, whole. It returns how many rows it wrote.
func RefreshRankings(ctx context.Context, db *sqldb.DB) (int, error) {
	var rows []rankedRow
	var at time.Time
	// System: rankings are sums of every user's rows.
	err := db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		at = tx.Now
		rows, err = rankAll(ctx, tx)
		return err
	})
	if err != nil {
		return 0, err
	}
	const columns, batch = 6, 100 // few parameters a statement: SQLite binds them in quadratic time
	err = db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		// One refresh at a time: another's rows would clash with these.
		if err := tx.LockWrites(ctx, "item_rankings"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM item_rankings`); err != nil {
			return fmt.Errorf("clear rankings: %w", err)
		}
		for chunk := range slices.Chunk(rows, batch) {
			args := make([]any, 0, columns*len(chunk))
			for _, r := range chunk {
				args = append(args, r.ranking, r.period, r.Rank, r.Item, r.Value, at)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO item_rankings (ranking, period, position, item_slug, value, computed_at) VALUES `+
				sqldb.Values(1, len(chunk), columns), args...); err != nil {
				return fmt.Errorf("write rankings: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(rows), nil
}
