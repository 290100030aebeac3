package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/testkit/proxies"
)

// setup is one arrangement that -only cluster measures: how many userd
// processes serve, whether HAProxy balances them and whether they reach
// PostgreSQL through PgBouncer.
type setup struct {
	name     string
	procs    int
	balancer bool
	pooler   bool
}

// setups are -only cluster's arrangements, the first the one the others
// are compared with.
var setups = []setup{
	{name: "1 proc direct", procs: 1},
	{name: "1 proc, HAProxy", procs: 1, balancer: true},
	{name: "2 procs, HAProxy", procs: 2, balancer: true},
	{name: "3 procs, HAProxy", procs: 3, balancer: true},
	{name: "3 procs, HAProxy, PgBouncer", procs: 3, balancer: true, pooler: true},
}

// poolSize is the server connections PgBouncer keeps to PostgreSQL under
// -only cluster, as cmd/userd's PgBouncer test has them: two a core of
// the machine's two, where the processes alone open up to 32 each.
const poolSize = 4

// clusterWorkloads measures W1 (GET /v1/me over many sessions), log-in
// (W3's requests for d) and W5's follow storm through each of setups, on
// one seeded PostgreSQL database (go run ./bench -only cluster). Each row
// gives its requests a second as a ratio to the same workload on one
// process without a balancer, and the processor time a request cost each
// hop: the userd processes together, HAProxy, PgBouncer and PostgreSQL.
func clusterWorkloads(ctx context.Context, engine, bin, tmp, dbURL string, users int, d time.Duration, conns int) ([]row, error) {
	if engine != "postgres" {
		fmt.Fprintf(os.Stderr, "%s: -only cluster measures PostgreSQL only\n", engine)
		return nil, nil
	}
	if users < 20 {
		return nil, fmt.Errorf("-only cluster needs 20 users or more")
	}
	tg, err := startTarget(ctx, engine, bin, tmp, dbURL, users)
	if err != nil {
		return nil, err
	}
	defer tg.stop()
	db, err := tg.open(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	_, sessions, _, err := tg.callers(ctx, min(users, 1000), 0)
	if err != nil {
		return nil, err
	}
	// Every storm has its own star, ids[1+i], and the same followers,
	// ids[10:], none of them a star.
	ids, err := userIDs(ctx, db, tg.runID, 0, 10+10_000)
	if err != nil {
		return nil, err
	}
	tokens, err := auth.New(auth.Deps{DB: db}, auth.Config{}).OpenMany(ctx, ids[10:])
	if err != nil {
		return nil, fmt.Errorf("storm sessions: %w", err)
	}
	fmt.Fprintf(os.Stderr, "%s: seeded %d users; measuring %d setups\n", engine, users, len(setups))
	var rows []row
	for i, s := range setups {
		fmt.Fprintf(os.Stderr, " %s\n", s.name)
		got, err := measureSetup(tg, bin, tmp, i, s, func(front string, bases []string, h hops) []row {
			// Unmeasured: every process serves each session once, so that
			// all start W1 with warm caches and connection pools.
			for _, b := range bases {
				loadN(ctx, conns, int64(len(sessions)), getEach(b, "/v1/me", sessions))
			}
			w1 := h.metered(func() result { return load(ctx, conns, d, getEach(front, "/v1/me", sessions)) })
			w3 := h.metered(func() result { return load(ctx, conns, d, loginRequest(front, tg.runID, users)) })
			var exact bool
			w5 := h.metered(func() result {
				r, ok, stormErr := followStorm(ctx, db, front, ids[1+i], tokens)
				if stormErr != nil {
					fmt.Fprintln(os.Stderr, "bench:", stormErr)
				}
				exact = ok && stormErr == nil
				return r
			})
			w1Row := row{Workload: "W1 GET /v1/me session, " + s.name, Target: "-", Holds: w1.Errors == 0, result: w1}
			if s.balancer {
				w1Row.Target = "≥0.8 of direct"
			}
			return []row{w1Row,
				{Workload: "W3 POST /v1/auth/login, " + s.name, Target: "-", Holds: w3.Errors == 0, result: w3},
				{Workload: fmt.Sprintf("W5 follow storm (%d), %s", len(tokens), s.name), Target: "-", Holds: w5.Errors == 0 && exact, result: w5},
			}
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		for _, r := range got {
			fmt.Fprintf(os.Stderr, "  %-24s %s\n", r.Workload, r.result)
		}
		rows = append(rows, got...)
	}
	// Each workload's rows are compared with its first, on one process
	// without a balancer.
	perSetup := len(rows) / len(setups)
	for i := range rows {
		r, direct := &rows[i], rows[i%perSetup]
		r.Engine, r.Ratio, r.RatioOf = engine, r.RPS/direct.RPS, setups[0].name
		if r.Target != "-" {
			r.Holds = r.Holds && r.Ratio >= 0.8
		}
	}
	return rows, nil
}

// hops are the processes that a request of a setup passes through, by
// process id: userd's, and HAProxy's, PgBouncer's and PostgreSQL's when
// there (0 when not, or not started by the harness).
type hops struct {
	servers                 []int
	balancer, pooler, dbPID int
}

// times returns the processor time that each hop has used so far: the
// userd processes together, HAProxy, PgBouncer (and runuser, its parent)
// and PostgreSQL with its connections.
func (h hops) times() (servers, balancer, pooler, db time.Duration) {
	for _, pid := range h.servers {
		own, _ := procTimes(pid)
		servers += own
	}
	if h.balancer > 0 {
		balancer, _ = procTimes(h.balancer)
	}
	if h.pooler > 0 {
		pooler = treeTime(h.pooler)
	}
	if h.dbPID > 0 {
		db = treeTime(h.dbPID)
	}
	return servers, balancer, pooler, db
}

// metered runs a workload and adds to its result the processor time that
// each hop spent on a request.
func (h hops) metered(run func() result) result {
	s0, b0, p0, d0 := h.times()
	r := run()
	s1, b1, p1, d1 := h.times()
	if n := time.Duration(r.Requests); n > 0 {
		r.ServerCPU, r.BalancerCPU, r.PoolerCPU, r.DBCPU = (s1-s0)/n, (b1-b0)/n, (p1-p0)/n, (d1-d0)/n
	}
	return r
}

// measureSetup starts setup s on the target's database (the target's own
// process serves the setups without PgBouncer; the others are started, and
// PgBouncer and HAProxy when s has them), runs measure through its front
// address (and bases, the processes' own) and stops what it started. i
// numbers the setup's logs.
func measureSetup(tg *target, bin, tmp string, i int, s setup, measure func(front string, bases []string, h hops) []row) ([]row, error) {
	var cleanups []func()
	defer func() {
		for j := len(cleanups) - 1; j >= 0; j-- {
			cleanups[j]()
		}
	}()
	h := hops{dbPID: tg.dbPID}
	args := slices.Concat(tg.serveArgs, []string{"--database-url", tg.dbURL})
	var bases []string
	if s.pooler {
		pooled, pid, stop, err := startPgbouncer(tmp, tg.dbURL)
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, stop)
		h.pooler = pid
		args = slices.Concat(tg.serveArgs, []string{"--database-url", pooled, "--listen-database-url", tg.dbURL, "--database-pooler", "pgbouncer"})
	} else {
		bases, h.servers = append(bases, tg.base), append(h.servers, tg.pid)
	}
	for j := len(bases); j < s.procs; j++ {
		srv, err := startServer(bin, tmp, fmt.Sprintf("cluster-%d-%d", i, j), args, "")
		if err != nil {
			return nil, err
		}
		cleanups = append(cleanups, srv.stop)
		bases, h.servers = append(bases, srv.base), append(h.servers, srv.pid)
	}
	front := bases[0]
	if s.balancer {
		var stop func()
		var err error
		if front, h.balancer, stop, err = startHAProxy(tmp, i, bases); err != nil {
			return nil, err
		}
		cleanups = append(cleanups, stop)
	}
	return measure(front, bases, h), nil
}

// startHAProxy runs Debian's haproxy in front of the servers at bases,
// round robin, checking each one's /readyz as README's example does, with
// its configuration in tmp (i numbers it), and returns its address, its
// process id and a stop.
func startHAProxy(tmp string, i int, bases []string) (front string, pid int, stop func(), err error) {
	bin, err := proxies.Find("haproxy")
	if err != nil {
		return "", 0, nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return "", 0, nil, err
	}
	conf := proxies.HAProxy(addr, bases, time.Second)
	name := filepath.Join(tmp, fmt.Sprintf("haproxy-%d", i))
	if err := os.WriteFile(name+".cfg", []byte(conf), 0o600); err != nil {
		return "", 0, nil, fmt.Errorf("haproxy configuration: %w", err)
	}
	log, err := os.Create(name + ".log")
	if err != nil {
		return "", 0, nil, fmt.Errorf("haproxy log: %w", err)
	}
	cmd := exec.Command(bin, "-f", name+".cfg", "-db")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return "", 0, nil, fmt.Errorf("start haproxy: %w", err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait(); log.Close() }
	front = "http://" + addr
	if err := waitReady(front); err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("haproxy: %w (see %s.log)", err, name)
	}
	return front, cmd.Process.Pid, stop, nil
}

// startPgbouncer runs PgBouncer in transaction mode in front of the
// database at direct, on a free loopback port, with its configuration in
// tmp/pgbouncer, and returns the URL that reaches the database through it,
// the process id of what it started (PgBouncer, or runuser as its parent)
// and a stop. As root it runs as the postgres user (PgBouncer refuses
// root), who is then let through tmp to read its configuration.
func startPgbouncer(tmp, direct string) (pooled string, pid int, stop func(), err error) {
	dir := filepath.Join(tmp, "pgbouncer")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, nil, err
	}
	if os.Geteuid() == 0 {
		if err := os.Chmod(tmp, 0o711); err != nil {
			return "", 0, nil, err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return "", 0, nil, err
	}
	return proxies.StartPgBouncer(dir, direct, addr, poolSize)
}
