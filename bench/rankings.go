package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/platform/sqldb"
)

// rankedItems is the rankings' data set: items with counters.
const rankedItems = 100_000

// rankingRefreshes is how many refreshes are timed.
const rankingRefreshes = 3

// rankingsWorkload seeds rankedItems items' counters in bulk, over two
// shards of item_stats and three days of the last 30 in item_daily_stats
// each (one of them today for a third of the items),
// times engagement.RefreshRankings on them, then measures GET
// /v1/rankings, round every ranking and period, against p99 ≤ 20 ms. The
// server's own job may refresh the rankings meanwhile, as it would.
func rankingsWorkload(ctx context.Context, tg *target, db *sqldb.DB, conns int, d time.Duration) ([]row, error) {
	start := time.Now()
	if err := seedCounters(ctx, db); err != nil {
		return nil, fmt.Errorf("seed counters: %w", err)
	}
	fmt.Fprintf(os.Stderr, "  seeded the counters of %d items in %s\n", rankedItems, time.Since(start).Round(time.Millisecond))
	took := make([]time.Duration, rankingRefreshes)
	var n int
	for i := range took {
		t0 := time.Now()
		var err error
		if n, err = engagement.RefreshRankings(ctx, db); err != nil {
			return nil, fmt.Errorf("refresh rankings: %w", err)
		}
		took[i] = time.Since(t0)
	}
	slices.Sort(took)
	refresh := result{Requests: rankingRefreshes, P50: took[len(took)/2], P99: took[len(took)-1], RPS: float64(rankingRefreshes) / sum(took).Seconds()}
	fmt.Fprintf(os.Stderr, "  %-24s %d rows; %s\n", "rankings refresh", n, refresh)
	var queries []string
	for _, by := range engagement.Bys {
		for _, p := range engagement.Periods {
			if by != engagement.ByTrending || p == "all" {
				queries = append(queries, fmt.Sprintf("/v1/rankings?by=%s&period=%s&limit=100", by, p))
			}
		}
	}
	reads := tg.measure(ctx, "GET /v1/rankings", conns, d, func(i int64) (req *http.Request, err error) {
		return get(tg.base, queries[i%int64(len(queries))], "")(i)
	})
	rss := peakRSS(tg.pid)
	limit := engagement.RefreshEvery / 10
	return []row{
		{Workload: "rankings refresh (100k items)", Engine: db.Engine(), result: refresh, Ratio: refresh.P99.Seconds() / limit.Seconds(),
			RatioOf: limit.String(), Target: "max ≤" + limit.String(), Holds: refresh.P99 <= limit, PeakRSSMB: rss},
		{Workload: "GET /v1/rankings of 100 (100k items)", Engine: db.Engine(), result: reads, Ratio: reads.P99.Seconds() / 0.020, RatioOf: "20 ms",
			Target: "p99≤20ms", Holds: reads.P99 <= 20*time.Millisecond && reads.Errors == 0, PeakRSSMB: rss},
	}, nil
}

func sum(ds []time.Duration) (t time.Duration) {
	for _, d := range ds {
		t += d
	}
	return t
}

// seedCounters writes the counters of rankedItems items straight into
// item_stats and item_daily_stats (their all-time counters the sums of
// their days), a thousand items a transaction, and brings the planner's
// statistics of both up to date.
func seedCounters(ctx context.Context, db *sqldb.DB) error {
	rnd := rand.New(rand.NewPCG(16, 8))
	now := db.Now()
	// A few items get most of the activity, as on a real site.
	count := func(scale float64) int64 { return int64(scale / (0.02 + rnd.Float64())) }
	var stats, daily [][]any // rows
	for i := range rankedItems {
		item := fmt.Sprintf("bench-ranked-%06d", i)
		var all [2][5]int64 // by shard: up, down, favorites, comments, views
		ages := rnd.Perm(30)[:3]
		if i%3 == 0 && !slices.Contains(ages, 0) {
			ages[0] = 0
		}
		for day, age := range ages {
			c := [5]int64{count(3), count(1), count(1), count(0.5), count(20)}
			shard := day % 2
			for k := range c {
				all[shard][k] += c[k]
			}
			daily = append(daily, []any{item, engagement.Day(now.AddDate(0, 0, -age)), shard, c[0], c[1], c[2], c[3], c[4]})
		}
		for shard, c := range all {
			stats = append(stats, []any{item, shard, c[0], c[1], c[2], c[3], c[4], now})
		}
	}
	err := insertRows(ctx, db, `INSERT INTO item_stats (item_slug, shard, upvotes, downvotes, favorites_count, comments_count, views_count, updated_at) VALUES `, stats)
	if err == nil {
		err = insertRows(ctx, db, `INSERT INTO item_daily_stats (item_slug, day, shard, upvotes, downvotes, favorites_count, comments_count, views_count) VALUES `, daily)
	}
	if err != nil {
		return err
	}
	for _, table := range []string{"item_stats", "item_daily_stats"} {
		if _, err := db.SQL().ExecContext(ctx, "ANALYZE "+table); err != nil {
			return fmt.Errorf("analyze %s: %w", table, err)
		}
	}
	return nil
}

// insertRows inserts rows by a statement that ends in VALUES, a hundred
// rows a statement (the SQLite driver binds a statement's parameters in
// time quadratic in their number) and a hundred statements a transaction.
func insertRows(ctx context.Context, db *sqldb.DB, insert string, rows [][]any) error {
	const perStatement, perTx = 100, 100
	for tx := range slices.Chunk(rows, perStatement*perTx) {
		err := db.Tx(sqldb.System(ctx), func(t *sqldb.Tx) error {
			for chunk := range slices.Chunk(tx, perStatement) {
				tuples := make([]string, len(chunk))
				var args []any
				for i, r := range chunk {
					tuples[i] = "(" + values(len(args), len(r)) + ")"
					args = append(args, r...)
				}
				if _, err := t.Exec(ctx, insert+strings.Join(tuples, ", "), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// values returns "$from+1, …, $from+n".
func values(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", from+i+1)
	}
	return strings.Join(ps, ", ")
}
