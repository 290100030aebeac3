package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
)

// benchRecords is how many records of one user W13's page filters.
const benchRecords = 1_000_000

// benchCollection is W13's collection: a number, indexed, and a
// note.
const benchCollection = `{"owner": "user", "indexes": [["n"]], "schema": {"type": "object",
	"properties": {"n": {"type": "integer"}, "note": {"type": "string", "maxLength": 200}}, "required": ["n"]}}`

// send makes a request with a JSON body and a bearer token.
func send(method, url, bearer, body string) (*http.Request, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return req, err
}

// collectionWorkloads runs issue 20's workloads on a fresh database of the
// engine (go run ./bench -only collections):
//
//	write floor  PUT /v1/me/dashboard-layout round 64 users: a signed-in
//	             write of one small row, the cheapest userd has
//	W13          POST /v1/me/collections/bench_notes/records round the
//	             same users; target ≥ 0.5 of the write floor
//	W13 page     a page of 20 of one user's 1M records, filtered and sorted
//	             on the indexed field from a random value
//	             (?where=n:gte:K&sort=n); target p99 ≤ 10 ms
func collectionWorkloads(ctx context.Context, engine, bin, tmp, dbURL string, users int, d time.Duration, conns int) ([]row, error) {
	tg, err := startTarget(ctx, engine, bin, tmp, dbURL, users)
	if err != nil {
		return nil, err
	}
	defer tg.stop()
	ids, sessions, _, err := tg.callers(ctx, min(users, 64), 0)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(must(send("PUT", tg.base+"/v1/admin/collections/bench_notes", tg.session, benchCollection)))
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("declare bench_notes: %s", res.Status)
	}
	floor := tg.measure(ctx, "write floor PUT layout", conns, d, func(i int64) (*http.Request, error) {
		return send("PUT", tg.base+"/v1/me/dashboard-layout", sessions[i%int64(len(sessions))], `{"desktop":[{"w":`+strconv.FormatInt(i, 10)+`}]}`)
	})
	resetPeak(tg.pid)
	w13 := tg.measure(ctx, "W13 POST record", conns, d, func(i int64) (*http.Request, error) {
		return send("POST", tg.base+"/v1/me/collections/bench_notes/records", sessions[i%int64(len(sessions))],
			`{"data":{"n":`+strconv.FormatInt(-i, 10)+`,"note":"bench"}}`)
	})
	writeRSS := peakRSS(tg.pid)
	if err := seedRecords(ctx, tg, ids[0]); err != nil {
		return nil, err
	}
	resetPeak(tg.pid)
	page := tg.measure(ctx, "W13 filtered page (1M)", conns, d, func(int64) (*http.Request, error) {
		k := rand.IntN(benchRecords)
		return get(tg.base, "/v1/me/collections/bench_notes/records?where=n:gte:"+strconv.Itoa(k)+"&sort=n&limit=20", tg.session)(0)
	})
	return []row{
		{Workload: "write floor PUT layout", Engine: engine, result: floor, Ratio: 1, RatioOf: "write floor", Target: "-", Holds: floor.Errors == 0, PeakRSSMB: writeRSS},
		{Workload: "W13 POST record", Engine: engine, result: w13, Ratio: w13.RPS / floor.RPS, RatioOf: "write floor",
			Target: "≥0.5", Holds: w13.RPS >= 0.5*floor.RPS && w13.Errors == 0, PeakRSSMB: writeRSS},
		{Workload: "W13 filtered page (1M)", Engine: engine, result: page, Ratio: 1, RatioOf: "-",
			Target: "p99≤10ms", Holds: page.P99 <= 10*time.Millisecond && page.Errors == 0, PeakRSSMB: peakRSS(tg.pid)},
	}, nil
}

// must returns a request, or panics: for requests built from our own
// constants.
func must(req *http.Request, err error) *http.Request {
	if err != nil {
		panic(err)
	}
	return req
}

// seedRecords writes benchRecords records of bench_notes for the user in
// bulk, as an import would ({"n": 1…1M}), then has the planner read the
// table's statistics.
func seedRecords(ctx context.Context, tg *target, userID string) error {
	db, err := tg.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	q := `INSERT INTO collection_records (id, collection, user_id, data, version, created_at, updated_at)
		SELECT gen_random_uuid(), 'bench_notes', $1, jsonb_build_object('n', i, 'note', 'seeded'), 1, $3, $3 FROM generate_series(1, $2::int) i`
	if tg.engine == "sqlite" {
		q = `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $2)
		INSERT INTO collection_records (id, collection, user_id, data, version, created_at, updated_at)
		SELECT printf('%08x-0000-4000-8000-%012x', i, i), 'bench_notes', $1, json_object('n', i, 'note', 'seeded'), 1, $3, $3 FROM s`
	}
	// System: a bulk load, as the harness's own.
	err = db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, q, userID, benchRecords, tx.Now)
		return err
	})
	if err != nil {
		return fmt.Errorf("seed records: %w", err)
	}
	if _, err := db.SQL().ExecContext(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	fmt.Fprintf(os.Stderr, "  seeded %d records of one user in %s\n", benchRecords, time.Since(start).Round(time.Second))
	return nil
}
