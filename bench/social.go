package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/platform/sqldb"
)

// loadN sends exactly n requests over conns connections and measures them.
func loadN(ctx context.Context, conns int, n int64, mk request) result {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var seq, errs atomic.Int64
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range conns {
		wg.Go(func() {
			for {
				i := seq.Add(1) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				req, _ := mk(i)
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				res.Body.Close()
				lat[c] = append(lat[c], time.Since(t0))
				if res.StatusCode >= 300 {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := result{Requests: int64(len(all)), Errors: errs.Load(), RPS: float64(len(all)) / time.Since(start).Seconds()}
	if len(all) > 0 {
		r.P50, r.P99 = all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

// column returns the first column of every row of a query.
func column(ctx context.Context, db *sqldb.DB, query string, args ...any) (out []string, err error) {
	err = db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		out, err = sqldb.All(ctx, tx, func(row sqldb.Scanner) (s string, err error) { return s, row.Scan(&s) }, query, args...)
		return err
	})
	return out, err
}

// userIDs returns the ids of the seeded users u<from>…u<to-1>.
func userIDs(ctx context.Context, db *sqldb.DB, runID string, from, to int) ([]string, error) {
	ids, err := column(ctx, db, `SELECT id FROM users WHERE email LIKE $1 ORDER BY id`, "%-"+runID+"@bench.test")
	if err != nil {
		return nil, err
	}
	return ids[from:min(to, len(ids))], nil
}

// followStorm is W5's storm: the holder of each session token follows star
// once through base, 64 at once. It prints the result and returns it, and
// whether star's follower counter and follow rows both equal the follows
// answered 2xx.
func followStorm(ctx context.Context, db *sqldb.DB, base, star string, tokens []string) (result, bool, error) {
	w5 := loadN(ctx, 64, int64(len(tokens)), func(i int64) (*http.Request, error) {
		req, err := http.NewRequest("PUT", base+"/v1/users/"+star+"/follow", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[i])
		return req, err
	})
	var followers, realFollowers int64
	err := db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		if followers, _, err = social.Stats(ctx, tx, star); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM user_follows WHERE following_id = $1`, star).Scan(&realFollowers)
	})
	if err != nil {
		return w5, false, fmt.Errorf("W5 counts: %w", err)
	}
	fmt.Fprintf(os.Stderr, "  %-24s %s; counter %d, follows %d\n", "W5 follow storm", w5, followers, realFollowers)
	return w5, followers == realFollowers && followers == int64(len(tokens))-w5.Errors, nil
}

// socialWorkloads runs W5 (a follow storm of distinct users on one user, 64
// at once) and W6 (the first and a 90%-deep page of the followers of a user
// whom every other user follows).
func socialWorkloads(ctx context.Context, tg *target, db *sqldb.DB, users, conns int, d time.Duration, floor result) ([]row, error) {
	ids, err := userIDs(ctx, db, tg.runID, 0, users)
	if err != nil {
		return nil, err
	}
	star, hub, fans := ids[1], ids[2], ids[3:]
	storm := fans[:min(len(fans), 10_000)]
	resetPeak(tg.pid)
	tokens, err := auth.New(auth.Deps{DB: db}, auth.Config{}).OpenMany(ctx, storm)
	if err != nil {
		return nil, err
	}
	w5, exact, err := followStorm(ctx, db, tg.base, star, tokens)
	if err != nil {
		return nil, err
	}

	for i := 0; i < len(ids); i += 1000 {
		batch := slices.DeleteFunc(slices.Clone(ids[i:min(len(ids), i+1000)]), func(id string) bool { return id == hub })
		if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return social.FollowMany(ctx, tx, hub, batch) }); err != nil {
			return nil, err
		}
	}
	if err := settle(ctx, db); err != nil {
		return nil, err
	}
	// The first page, hot as a popular user's is; then pages near the top
	// and 90% deep, each request with another cursor, so that most are
	// read from the database.
	followIDs, err := column(ctx, db, `SELECT id FROM user_follows WHERE following_id = $1 ORDER BY id DESC`, hub)
	if err != nil {
		return nil, err
	}
	cursors := func(at float64) request {
		from := int(at * float64(len(followIDs)))
		span := followIDs[from:min(len(followIDs), from+max(1, len(followIDs)/10))]
		return func(i int64) (*http.Request, error) {
			c := base64.RawURLEncoding.EncodeToString([]byte(span[i%int64(len(span))]))
			return http.NewRequest("GET", tg.base+"/v1/users/"+hub+"/followers?cursor="+c, nil)
		}
	}
	first := tg.measure(ctx, "W6 first page", conns, d, get(tg.base, "/v1/users/"+hub+"/followers", ""))
	top := tg.measure(ctx, "W6 pages near the top", conns, d, cursors(0))
	deepPages := tg.measure(ctx, "W6 pages 90% deep", conns, d, cursors(0.9))
	ratio := float64(deepPages.P99) / float64(top.P99)
	rss := peakRSS(tg.pid)
	w8, err := deleteWorkload(ctx, tg, db, ids, hub)
	if err != nil {
		return nil, err
	}
	rows := []row{
		{Workload: fmt.Sprintf("W5 follow storm (%d)", len(storm)), Engine: db.Engine(), result: w5, Ratio: w5.RPS / 2000, RatioOf: "2000/s",
			Target: "≥2000/s, exact", Holds: w5.RPS >= 2000 && exact && w5.Errors == 0},
		{Workload: fmt.Sprintf("W6 followers p1 (%d)", len(followIDs)), Engine: db.Engine(), result: first, Ratio: first.RPS / floor.RPS, RatioOf: "floor",
			Target: "p99≤5ms", Holds: first.P99 <= 5*time.Millisecond},
		{Workload: "W6 top 10%, new cursors", Engine: db.Engine(), result: top, Ratio: top.RPS / floor.RPS, RatioOf: "floor",
			Target: "p99≤5ms", Holds: top.P99 <= 5*time.Millisecond},
		{Workload: "W6 90% deep, new cursors", Engine: db.Engine(), result: deepPages, Ratio: ratio, RatioOf: "top p99",
			Target: "p99≤5ms, ≤1.5", Holds: deepPages.P99 <= 5*time.Millisecond && ratio <= 1.5},
	}
	for i := range rows {
		rows[i].PeakRSSMB = rss
	}
	return append(rows, w8), nil
}
