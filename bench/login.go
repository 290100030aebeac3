package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/internal/platform/password"
)

// M1 measures log-in's memory as a server meets a burst after a quiet spell:
// the server idles for loginIdle, so that the memory of earlier hashes has
// been given back, and log-ins then run for loginLength, whatever -duration
// says (performance.md's W3 and M1 are of 40 seconds).
const (
	loginIdle   = 4 * time.Second
	loginLength = 40 * time.Second
)

// loginConns is -login-conns: the connection counts that W3 runs at, each
// after its own idle spell; empty for -conns alone.
var loginConns []int

// parseConns reads -login-conns: whole numbers from 1, separated by commas.
func parseConns(v string) error {
	loginConns = nil
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("want connection counts such as 8,64,256")
		}
		loginConns = append(loginConns, n)
	}
	return nil
}

// hashLimit measures the hash limit (hashCost) and prints it: cores × one
// core's hashes a second, and the ceiling of every core hashing at once.
func hashLimit() (limit, ceiling float64, err error) {
	hash, ceiling, err := hashCost()
	if err != nil {
		return 0, 0, err
	}
	p := password.OWASP
	fmt.Fprintf(os.Stderr, "  argon2id (%d KiB, t=%d, p=%d): %s a hash on one core; %d cores at once: %.0f/s (%.2f of %d × one core)\n",
		p.Memory, p.Time, p.Threads, hash.Round(time.Millisecond/10), runtime.NumCPU(), ceiling, ceiling*hash.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	return float64(runtime.NumCPU()) / hash.Seconds(), ceiling, nil
}

// loginRows measures W3 (POST /v1/auth/login over the seeded users for
// loginLength) against the hash limit, and the server's peak RSS under it
// (M1), at each of -login-conns (conns when none), and returns W3's rows
// and M1's, and the hash limit and ceiling (hashLimit) as the mean of their
// measures before and after each run: the machine's speed drifts over a
// run of 40 seconds. Each run meets a server started for it that then idles
// for loginIdle: M1 is log-in's peak, not that of the workloads measured
// before it. A row's workload names its connections when they are not
// conns.
func loginRows(ctx context.Context, tg *target, users, conns int) (w3, m1 []row, limit, ceiling float64, err error) {
	counts := loginConns
	if len(counts) == 0 {
		counts = []int{conns}
	}
	var limits, ceilings []float64
	measureHash := func() error {
		l, c, err := hashLimit()
		limits, ceilings = append(limits, l), append(ceilings, c)
		return err
	}
	if err := measureHash(); err != nil {
		return nil, nil, 0, 0, err
	}
	last2 := func(xs []float64) float64 { return mean(xs[len(xs)-2:]) }
	for _, c := range counts {
		suffix := ""
		if c != conns {
			suffix = fmt.Sprintf(", %d conns", c)
		}
		if err := tg.restart(); err != nil {
			return nil, nil, 0, 0, err
		}
		time.Sleep(loginIdle)
		resetPeak(tg.pid)
		r := tg.measure(ctx, "W3 POST /v1/auth/login"+suffix, c, loginLength, loginRequest(tg.base, tg.runID, users))
		rss := peakRSS(tg.pid)
		if err := measureHash(); err != nil {
			return nil, nil, 0, 0, err
		}
		lim, ceil := last2(limits), last2(ceilings)
		w3 = append(w3, row{Workload: "W3 POST /v1/auth/login" + suffix, Engine: tg.engine, result: r, Ratio: r.RPS / lim,
			RatioOf: fmt.Sprintf("hash %.0f/s; %.2f of %.0f/s at once", lim, r.RPS/ceil, ceil),
			Target:  "≥0.95", Holds: r.RPS >= 0.95*lim && r.Errors == 0, PeakRSSMB: rss})
		m1 = append(m1, row{Workload: "M1 peak RSS under W3" + suffix, Engine: tg.engine, Ratio: rss / 80, RatioOf: "80 MB",
			Target: "≤80MB", Holds: rss <= 80, PeakRSSMB: rss})
	}
	return w3, m1, mean(limits), mean(ceilings), nil
}

// mean returns the mean of xs, which is not empty.
func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// loginRequest is W3's request: the i-th logs in the seeded user u(i mod
// users) of the run through base.
func loginRequest(base, runID string, users int) request {
	return post(base, "/v1/auth/login", func(i int64) string {
		return fmt.Sprintf(`{"identifier":"u%d-%s@bench.test","password":%q}`, i%int64(users), runID, benchPassword)
	})
}

// loginWorkloads measures only W3 and M1 under it on a fresh database of the
// engine (go run ./bench -only login).
func loginWorkloads(ctx context.Context, engine, bin, tmp, dbURL string, users int, _ time.Duration, conns int) ([]row, error) {
	tg, err := startTarget(ctx, engine, bin, tmp, dbURL, users)
	if err != nil {
		return nil, err
	}
	defer tg.stop()
	w3, m1, _, _, err := loginRows(ctx, tg, users, conns)
	return append(w3, m1...), err
}
