package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/platform/sqldb"
)

// hotItem is the item of the vote storm.
const hotItem = "bench-hot-item"

// engagementWorkloads runs issue 16's: W10, every voter votes on one hot
// item at once (a third down, the rest up), then each flips their vote,
// and the item's counters must equal its vote rows after each; W11, GET
// /v1/items?slugs= of 50 items, set against the floor.
func engagementWorkloads(ctx context.Context, tg *target, db *sqldb.DB, ids []string, conns int, d time.Duration, floor result) ([]row, error) {
	voters := ids[3:min(len(ids), 10_003)]
	var tokens []string
	vote := func(flip bool) request {
		return func(i int64) (*http.Request, error) {
			v := 1
			if (i%3 == 0) != flip {
				v = -1
			}
			req, err := http.NewRequest("PUT", tg.base+"/v1/items/"+hotItem+"/vote", bytes.NewReader(fmt.Appendf(nil, `{"value":%d}`, v)))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tokens[i])
			}
			return req, err
		}
	}
	// Each storm has sessions of its own, opened just before it: an older
	// session's first request in a minute also writes its last_seen_at,
	// which is not what W10 measures. A storm's length is not known ahead:
	// its profile, under -pprof, covers its second and third seconds.
	profiled := func(name string, mk request) (result, error) {
		var err error
		if tokens, err = auth.New(auth.Deps{DB: db}, auth.Config{}).OpenMany(ctx, voters); err != nil {
			return result{}, err
		}
		defer tg.profile(name, 4*time.Second)()
		return tg.metered(func() result { return loadN(ctx, 64, int64(len(tokens)), mk) }), nil
	}
	if err := otherProfiles(ctx, db, ids[min(len(ids), 10_003):min(len(ids), 30_003)]); err != nil {
		return nil, err
	}
	resetPeak(tg.pid)
	storm, err := profiled("W10 vote storm", vote(false))
	if err != nil {
		return nil, err
	}
	exactStorm, err := countersExact(ctx, tg, db, "W10 vote storm", storm)
	if err != nil {
		return nil, err
	}
	flips, err := profiled("W10 vote flips", vote(true))
	if err != nil {
		return nil, err
	}
	exactFlips, err := countersExact(ctx, tg, db, "W10 vote flips", flips)
	if err != nil {
		return nil, err
	}
	slugs := make([]string, 50)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("bench-item-%02d", i)
	}
	items := tg.measure(ctx, "W11 GET /v1/items (50)", conns, d, get(tg.base, "/v1/items?slugs="+strings.Join(slugs, ","), ""))
	rss := peakRSS(tg.pid)
	return []row{
		{Workload: fmt.Sprintf("W10 vote storm (%d)", len(tokens)), Engine: db.Engine(), result: storm, Ratio: storm.RPS / 2000, RatioOf: "2000/s",
			Target: "≥2000/s, exact", Holds: storm.RPS >= 2000 && exactStorm && storm.Errors == 0, PeakRSSMB: rss},
		{Workload: fmt.Sprintf("W10 vote flips (%d)", len(tokens)), Engine: db.Engine(), result: flips, Ratio: flips.RPS / 2000, RatioOf: "2000/s",
			Target: "≥2000/s, exact", Holds: flips.RPS >= 2000 && exactFlips && flips.Errors == 0, PeakRSSMB: rss},
		{Workload: "W11 GET /v1/items of 50", Engine: db.Engine(), result: items, Ratio: items.RPS / floor.RPS, RatioOf: "floor",
			Target: "≥0.5", Holds: items.RPS >= 0.5*floor.RPS && items.Errors == 0, PeakRSSMB: rss},
	}, nil
}

// countersExact reports whether the hot item's counters, as the API
// answers them, equal its vote rows.
func countersExact(ctx context.Context, tg *target, db *sqldb.DB, name string, r result) (bool, error) {
	res, err := http.DefaultClient.Do(mustRequest(ctx, "GET", tg.base+"/v1/items/"+hotItem, "", ""))
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	var item struct {
		Upvotes   int64 `json:"upvotes"`
		Downvotes int64 `json:"downvotes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&item); err != nil {
		return false, fmt.Errorf("%s: the item: %w", name, err)
	}
	var up, down int64
	err = db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN value < 0 THEN 1 ELSE 0 END), 0)
			FROM votes WHERE item_id = $1`, hotItem).Scan(&up, &down)
	})
	if err != nil {
		return false, err
	}
	fmt.Fprintf(os.Stderr, "  %-24s %s; counters %d up %d down, rows %d up %d down\n", name, r, item.Upvotes, item.Downvotes, up, down)
	return item.Upvotes == up && item.Downvotes == down && up+down == r.Requests-r.Errors, nil
}

// otherProfiles gives users who do not vote in W10 a client profile each,
// as a running service's earlier engagement has: the storm's voters make
// theirs, but not in a table that is new.
func otherProfiles(ctx context.Context, db *sqldb.DB, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			for _, id := range ids[:n] {
				if _, err := engagement.ClaimProfile(ctx, tx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("client profiles: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}
