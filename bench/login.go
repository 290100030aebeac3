package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/userd/userd/internal/platform/password"
)

// M1 measures log-in's memory as a server meets a burst after a quiet spell:
// the server idles for loginIdle, so that the memory of earlier hashes has
// been given back, and log-ins then run for at least loginLength.
const (
	loginIdle   = 4 * time.Second
	loginLength = 40 * time.Second
)

// hashLimit measures the hash limit in the conditions the log-ins meet and
// prints it: cores × one core's hashes a second, and the ceiling of every
// core hashing at once.
func hashLimit() (limit, ceiling float64) {
	hash, ceiling := hashCost()
	p := password.OWASP
	fmt.Fprintf(os.Stderr, "  argon2id (%d KiB, t=%d, p=%d): %s a hash on one core; %d cores at once: %.0f/s (%.2f of %d × one core)\n",
		p.Memory, p.Time, p.Threads, hash.Round(time.Millisecond/10), runtime.NumCPU(), ceiling, ceiling*hash.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	return float64(runtime.NumCPU()) / hash.Seconds(), ceiling
}

// loginRows measures W3 (POST /v1/auth/login over the seeded users, for the
// longer of d and loginLength after loginIdle) against the hash limit, and
// the server's peak RSS under it, and returns W3's row and M1's.
func loginRows(ctx context.Context, tg *target, users, conns int, d time.Duration, limit, ceiling float64) (w3, m1 row) {
	time.Sleep(loginIdle)
	resetPeak(tg.pid)
	r := tg.measure(ctx, "W3 POST /v1/auth/login", conns, max(d, loginLength), post(tg.base, "/v1/auth/login", func(i int64) string {
		return fmt.Sprintf(`{"identifier":"u%d-%s@bench.test","password":%q}`, i%int64(users), tg.runID, benchPassword)
	}))
	rss := peakRSS(tg.pid)
	return row{Workload: "W3 POST /v1/auth/login", Engine: tg.engine, result: r, Ratio: r.RPS / limit, RatioOf: fmt.Sprintf("hash %.0f/s; %.2f of %.0f/s at once", limit, r.RPS/ceiling, ceiling),
			Target: "≥0.95", Holds: r.RPS >= 0.95*limit && r.Errors == 0, PeakRSSMB: rss},
		row{Workload: "M1 peak RSS under W3", Engine: tg.engine, Ratio: rss / 80, RatioOf: "80 MB", Target: "≤80MB", Holds: rss <= 80, PeakRSSMB: rss}
}

// loginWorkloads measures only W3 and M1 under it on a fresh database of the
// engine (go run ./bench -only login).
func loginWorkloads(ctx context.Context, engine, bin, tmp, dbURL string, users int, d time.Duration, conns int) ([]row, error) {
	tg, err := startTarget(ctx, engine, bin, tmp, dbURL, users)
	if err != nil {
		return nil, err
	}
	defer tg.stop()
	limit, ceiling := hashLimit()
	w3, m1 := loginRows(ctx, tg, users, conns, d, limit, ceiling)
	return []row{w3, m1}, nil
}
