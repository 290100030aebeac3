package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// request makes the i-th request of a workload.
type request func(i int64) (*http.Request, error)

// result is what one workload run measured.
type result struct {
	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors"`
	RPS      float64       `json:"rps"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	// ServerCPU and DBCPU are the processor time that the server and its
	// database (PostgreSQL started by the harness; SQLite's is the
	// server's) spent on each request (see metered).
	ServerCPU time.Duration `json:"server_cpu_per_request_ns,omitempty"`
	DBCPU     time.Duration `json:"db_cpu_per_request_ns,omitempty"`
	// BalancerCPU and PoolerCPU are the processor time that HAProxy and
	// PgBouncer, when the request went through them, spent on each
	// request (-only cluster; ServerCPU is then that of every process).
	BalancerCPU time.Duration `json:"balancer_cpu_per_request_ns,omitempty"`
	PoolerCPU   time.Duration `json:"pooler_cpu_per_request_ns,omitempty"`
}

// load runs a closed loop of conns connections for d, each sending the next
// request as soon as the previous answer is read, and records every
// latency (no sampling, so percentiles are exact). A non-2xx answer counts
// as an error.
func load(ctx context.Context, conns int, d time.Duration, mk request) result {
	return summarize(loadAll(ctx, conns, d, mk))
}

// runs is what load measured: every latency, sorted, the errors and the
// time it took. Runs of one workload add up (see add).
type runs struct {
	lat     []time.Duration
	errors  int64
	elapsed time.Duration
}

// add returns the runs of r and o together.
func (r runs) add(o runs) runs {
	lat := slices.Concat(r.lat, o.lat)
	slices.Sort(lat)
	return runs{lat: lat, errors: r.errors + o.errors, elapsed: r.elapsed + o.elapsed}
}

// summarize returns the result of runs: requests a second over their time
// together, and the percentiles of all their latencies.
func summarize(r runs) result {
	all := r.lat
	res := result{Requests: int64(len(all)), Errors: r.errors, RPS: float64(len(all)) / r.elapsed.Seconds()}
	if len(all) > 0 {
		res.P50 = all[len(all)*50/100]
		res.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return res
}

// loadAll is load's closed loop, returning every latency.
func loadAll(ctx context.Context, conns int, d time.Duration, mk request) runs {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var seq, errs atomic.Int64
	lat := make([][]time.Duration, conns)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range conns {
		wg.Go(func() {
			mine := make([]time.Duration, 0, 1<<14)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, err := mk(seq.Add(1))
				if err != nil {
					errs.Add(1)
					continue
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mine = append(mine, time.Since(t0))
				if res.StatusCode >= 300 {
					errs.Add(1)
				}
			}
			lat[c] = mine
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	return runs{lat: all, errors: errs.Load(), elapsed: elapsed}
}

func get(base, path, bearer string) request {
	return func(int64) (*http.Request, error) {
		req, err := http.NewRequest("GET", base+path, nil)
		if err == nil && bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return req, err
	}
}

// getEach sends the i-th request with the i-th bearer, round the list.
func getEach(base, path string, bearers []string) request {
	return func(i int64) (*http.Request, error) {
		return get(base, path, bearers[i%int64(len(bearers))])(i)
	}
}

func post(base, path string, body func(i int64) string) request {
	return func(i int64) (*http.Request, error) {
		req, err := http.NewRequest("POST", base+path, bytes.NewReader([]byte(body(i))))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}
}

func (r result) String() string {
	s := fmt.Sprintf("%.0f req/s, p50 %s, p99 %s, %d errors", r.RPS, r.P50, r.P99, r.Errors)
	if r.ServerCPU > 0 || r.DBCPU > 0 {
		s += fmt.Sprintf(", cpu/req server %s + db %s", r.ServerCPU.Round(time.Microsecond), r.DBCPU.Round(time.Microsecond))
	}
	if r.BalancerCPU > 0 || r.PoolerCPU > 0 {
		s += fmt.Sprintf(" + balancer %s + pooler %s", r.BalancerCPU.Round(time.Microsecond), r.PoolerCPU.Round(time.Microsecond))
	}
	return s
}

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
