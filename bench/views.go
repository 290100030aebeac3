package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
)

const (
	// viewItems and viewers are how many items W12 views and how many
	// anonymous viewers view them: the i-th view is of item i mod viewItems
	// by viewer i mod viewers, so views repeat (and count nothing) after
	// the first viewers.
	viewItems = 1000
	viewers   = 50_000
	// viewConns is W12's concurrency: many readers' pages at once.
	viewConns = 128
)

// viewWorkloads runs issue 16's W12: anonymous views of many items by many
// viewers at high concurrency, through POST /v1/items/{item}/views, set
// against 5,000 views a second; after it, every item's views_count, as GET
// /v1/items answers it, must equal its item_views rows, and those the
// distinct views sent.
func viewWorkloads(ctx context.Context, tg *target, db *sqldb.DB, d time.Duration) ([]row, error) {
	resetPeak(tg.pid)
	r := tg.measure(ctx, "W12 view ingestion", viewConns, d, func(i int64) (*http.Request, error) {
		req, err := http.NewRequest("POST", fmt.Sprintf("%s/v1/items/bench-view-%d/views", tg.base, i%viewItems),
			strings.NewReader(fmt.Sprintf(`{"anonymous_id":"viewer-%d"}`, i%viewers)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
	rss := peakRSS(tg.pid)
	exact, err := viewsExact(ctx, tg, db, r)
	if err != nil {
		return nil, fmt.Errorf("W12: %w", err)
	}
	return []row{{Workload: fmt.Sprintf("W12 view ingestion (%d conns)", viewConns), Engine: db.Engine(), result: r, Ratio: r.RPS / 5000, RatioOf: "5000/s",
		Target: "≥5000/s, exact", Holds: r.RPS >= 5000 && exact && r.Errors == 0, PeakRSSMB: rss}}, nil
}

// viewsExact reports whether each viewed item's views_count, as the API
// answers it, equals its item_views rows, and whether, when every view was
// answered 204, the rows are the distinct views sent.
func viewsExact(ctx context.Context, tg *target, db *sqldb.DB, r result) (bool, error) {
	counted := map[string]int64{}
	for from := 0; from < viewItems; from += 100 {
		slugs := make([]string, 0, 100)
		for i := from; i < min(from+100, viewItems); i++ {
			slugs = append(slugs, fmt.Sprint("bench-view-", i))
		}
		req, err := get(tg.base, "/v1/items?slugs="+strings.Join(slugs, ","), "")(0)
		if err != nil {
			return false, err
		}
		res, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			return false, err
		}
		var page struct {
			Items []struct {
				Item       string `json:"item"`
				ViewsCount int64  `json:"views_count"`
			} `json:"items"`
		}
		err = jsonDecode(res, &page)
		res.Body.Close()
		if err != nil {
			return false, fmt.Errorf("the items: %w", err)
		}
		for _, it := range page.Items {
			counted[it.Item] = it.ViewsCount
		}
	}
	rows := map[string]int64{}
	err := db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		got, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (c struct {
			item string
			n    int64
		}, err error) {
			return c, row.Scan(&c.item, &c.n)
		}, `SELECT item_id, count(*) FROM item_views WHERE item_id LIKE 'bench-view-%' GROUP BY item_id`)
		for _, c := range got {
			rows[c.item] = c.n
		}
		return err
	})
	if err != nil {
		return false, err
	}
	var total, sum int64
	exact := true
	for item, n := range counted {
		total, sum = total+rows[item], sum+n
		exact = exact && n == rows[item]
	}
	distinct := min(r.Requests, viewers)
	fmt.Fprintf(os.Stderr, "  %-24s views_count sum %d, rows %d, distinct views sent %d, every item exact: %v\n", "W12 after", sum, total, distinct, exact)
	return exact && len(counted) == viewItems && (r.Errors > 0 || total == distinct), nil
}
