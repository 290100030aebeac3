package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/postgres"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/sqlite"
	"github.com/userd/userd/internal/testkit/dbtest"
)

const benchPassword = "bench password 1234"

// unsafeFastPG is -unsafe-fast-postgres: the PostgreSQL clusters that the
// harness starts run without fsync, synchronous_commit and
// full_page_writes, and every row of theirs is labelled so (engineLabel).
var unsafeFastPG bool

// pgDurability returns the durability settings of a PostgreSQL cluster that
// the harness starts: as users run it (the test clusters' fsync=off and its
// kin undone), or all off under -unsafe-fast-postgres.
func pgDurability() []string {
	if unsafeFastPG {
		return []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}
	}
	return []string{"fsync=on", "synchronous_commit=on", "full_page_writes=on"}
}

// unsafeFastLabel is the engine column of a row measured on a PostgreSQL
// that the harness started under -unsafe-fast-postgres.
const unsafeFastLabel = "postgres (unsafe-fast)"

// labelEngine names the engine of rows measured on a PostgreSQL cluster that
// the harness started under -unsafe-fast-postgres as unsafeFastLabel, in the
// table and the JSON alike: a run without durability proves nothing about a
// user's server. A PostgreSQL given by -database-url keeps its name.
func labelEngine(rows []row, dbURL string) {
	if !unsafeFastPG || dbURL != "" {
		return
	}
	for i := range rows {
		if rows[i].Engine == "postgres" {
			rows[i].Engine = unsafeFastLabel
		}
	}
}

// hashCost measures one argon2id hash at the server's default parameters on
// one core, and how many hashes a second every core hashing at once
// manages: the ceiling that log-in and sign-up can reach on the machine,
// below cores × one core's rate when the cores share memory bandwidth. It
// measures in a fresh process of the harness (-hash-probe), as a
// microbenchmark of argon2id would: the harness's own heap, large after
// seeding, would make each hash fault its memory in and collect more, and
// understate the limit.
func hashCost() (time.Duration, float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, fmt.Errorf("hash probe: %w", err)
	}
	out, err := exec.Command(self, "-hash-probe").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("hash probe: %w", err)
	}
	var p hashProbe
	if err := json.Unmarshal(out, &p); err != nil {
		return 0, 0, fmt.Errorf("hash probe: %w", err)
	}
	return time.Duration(p.OneNS), p.Ceiling, nil
}

// hashProbe is what -hash-probe prints: one core's time for a hash and the
// hashes a second of every core at once, each the median of
// hashProbeRounds.
type hashProbe struct {
	OneNS   int64   `json:"one_ns"`
	Ceiling float64 `json:"ceiling"`
}

// hashProbeRounds and hashProbeRound: -hash-probe times rounds of a few
// hashes a core and keeps the median round, which a noisy neighbour's
// burst does not move.
const (
	hashProbeRounds = 5
	hashProbeRound  = 6
)

// probeHash is -hash-probe: it measures hashCost's figures in this process
// and prints them as JSON.
func probeHash() error {
	h := password.New(password.OWASP, 0)
	ctx := context.Background()
	h.Hash(ctx, benchPassword) // warm up
	round := func() {
		for range hashProbeRound {
			h.Hash(ctx, benchPassword)
		}
	}
	cores := runtime.NumCPU()
	ones, ceilings := make([]float64, hashProbeRounds), make([]float64, hashProbeRounds)
	for i := range hashProbeRounds {
		start := time.Now()
		round()
		ones[i] = float64(time.Since(start)) / hashProbeRound
		var wg sync.WaitGroup
		start = time.Now()
		for range cores {
			wg.Go(round)
		}
		wg.Wait()
		ceilings[i] = float64(hashProbeRound*cores) / time.Since(start).Seconds()
	}
	return json.NewEncoder(os.Stdout).Encode(hashProbe{OneNS: int64(median(ones)), Ceiling: median(ceilings)})
}

// median returns the median of xs, which is not empty; it sorts xs.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// target is a seeded database with userd running on it, and a signed-in
// user's credentials.
type target struct {
	engine        string
	debug         string // the server's --debug-addr, with -pprof
	base, session string
	pid           int
	dbPID         int // the PostgreSQL server the harness started; 0 for none
	runID         string
	dbURL         string // PostgreSQL only
	sqlitePath    string // SQLite only
	// serveArgs are the server's arguments but its database's and
	// addresses': the same for every process on the database.
	serveArgs []string
	srv       *server // the userd process serving base
	// restart stops the userd process, if any, and starts another with the
	// same arguments on the same address (a new pid): a server that has
	// served nothing yet.
	restart func() error
	stop    func()
}

// open connects to the target's database, as the harness's own client.
func (t *target) open(ctx context.Context) (*sqldb.DB, error) {
	if t.dbURL != "" {
		return postgres.Open(ctx, t.dbURL)
	}
	return sqlite.Open(ctx, t.sqlitePath)
}

// startTarget prepares a database of the engine, seeds it and starts userd
// on it.
func startTarget(ctx context.Context, engine, bin, tmp, dbURL string, users int) (*target, error) {
	t := &target{engine: engine, runID: strconv.FormatInt(time.Now().UnixNano(), 36)}
	var cleanups []func()
	t.stop = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	var args []string
	if profiles != "" {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		t.debug = addr
		args = append(args, "--debug-addr", addr)
	}
	var db *sqldb.DB
	var err error
	switch {
	case engine == "sqlite":
		dir := filepath.Join(tmp, "sqlite")
		os.MkdirAll(dir, 0o700)
		t.sqlitePath = filepath.Join(dir, "userd.db")
		db, err = sqlite.Open(ctx, t.sqlitePath)
		t.serveArgs = []string{"serve", "--rate-limits", "off", "--data-dir", dir}
	case engine == "postgres" && dbURL != "":
		t.dbURL = dbURL
	case engine == "postgres":
		var c *dbtest.PGCluster
		// A 1M-user data set is 1 GB on disk: the cluster keeps half of it
		// in its buffers, as a server sized for it would.
		settings := append([]string{"shared_buffers=512MB"}, pgDurability()...)
		if statements {
			settings = append(settings, "shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track_planning=on")
		}
		if c, err = dbtest.StartPG(settings...); err != nil {
			return nil, err
		}
		cleanups = append(cleanups, func() { c.Stop() })
		if t.dbPID, err = c.PID(); err != nil {
			t.stop()
			return nil, err
		}
		if err = c.CreateDatabase("bench", false); err != nil {
			t.stop()
			return nil, err
		}
		t.dbURL = c.URL("bench")
	default:
		return nil, fmt.Errorf("unknown engine")
	}
	if t.dbURL != "" {
		db, err = postgres.Open(ctx, t.dbURL)
		t.serveArgs = []string{"serve", "--rate-limits", "off", "--data-dir", filepath.Join(tmp, "pgdata")}
		args = append(args, "--database-url", t.dbURL)
	}
	if err != nil {
		t.stop()
		return nil, err
	}
	err = seed(ctx, db, users, t.runID)
	if err == nil {
		err = settle(ctx, db)
	}
	db.Close()
	if err != nil {
		t.stop()
		return nil, err
	}
	t.restart = func() error {
		addr := ""
		if t.srv != nil {
			t.srv.stop()
			addr = strings.TrimPrefix(t.srv.base, "http://")
		}
		srv, err := startServer(bin, tmp, engine, slices.Concat(t.serveArgs, args), addr)
		if err != nil {
			t.srv = nil
			return err
		}
		t.srv, t.base, t.pid = srv, srv.base, srv.pid
		return nil
	}
	cleanups = append(cleanups, func() {
		if t.srv != nil {
			t.srv.stop()
		}
	})
	if err := t.restart(); err != nil {
		t.stop()
		return nil, err
	}
	if t.session, _, err = signIn(t.base, "u0-"+t.runID+"@bench.test"); err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
}

// runEngine measures every workload on engine, or only the floor and the
// items' workloads (W10–W12 and rankings) when itemsOnly.
func runEngine(ctx context.Context, engine, bin, tmp, dbURL string, users int, d time.Duration, conns int, itemsOnly bool) ([]row, error) {
	tg, err := startTarget(ctx, engine, bin, tmp, dbURL, users)
	if err != nil {
		return nil, err
	}
	defer tg.stop()
	base, session, runID := tg.base, tg.session, tg.runID
	fmt.Fprintf(os.Stderr, "%s: seeded %d users; measuring\n", engine, users)
	measure := func(name string, mk request) result { return tg.measure(ctx, name, conns, d, mk) }
	ids, sessions, jwts, err := tg.callers(ctx, min(users, 1000), min(users, 64))
	if err != nil {
		return nil, err
	}
	floor := measure("floor GET /healthz", get(base, "/healthz", ""))
	floorRow := row{Workload: "floor GET /healthz", Engine: engine, result: floor, Ratio: 1, RatioOf: "floor", Target: "-", Holds: true}
	if itemsOnly {
		sdb, err := tg.open(ctx)
		if err != nil {
			return nil, err
		}
		defer sdb.Close()
		rows, err := itemWorkloads(ctx, tg, sdb, users, conns, d, floor)
		return append([]row{floorRow}, rows...), err
	}
	// Each peak below is of its own workloads: the high-water mark is reset
	// before them.
	resetPeak(tg.pid)
	w1 := measure("W1 GET /v1/me session", getEach(base, "/v1/me", sessions))
	w2 := measure("W2 GET /v1/me JWT", getEach(base, "/v1/me", jwts))
	w1p50 := load(ctx, 1, d, get(base, "/v1/me", session))
	fmt.Fprintf(os.Stderr, "  %-24s %s\n", "W1 at 1 connection", w1p50)
	readRSS := peakRSS(tg.pid)
	keyRows, err := apiKeyWorkload(ctx, tg, ids, conns, d, floor)
	if err != nil {
		return nil, fmt.Errorf("W9: %w", err)
	}
	w3, m1Login, limit, ceiling, err := loginRows(ctx, tg, users, conns)
	if err != nil {
		return nil, fmt.Errorf("W3: %w", err)
	}
	resetPeak(tg.pid)
	w4 := measure("W4 POST /v1/auth/signup", post(base, "/v1/auth/signup", func(i int64) string {
		return fmt.Sprintf(`{"email":"s%d-%s@bench.test","password":%q}`, i, runID, benchPassword)
	}))
	signupRSS := peakRSS(tg.pid)
	resetPeak(tg.pid)
	w7a := measure("W7 unread count", get(base, "/v1/me/notifications/unread-count", session))
	w7b := measure("W7 first page", get(base, "/v1/me/notifications", session))
	fan, err := fanOut(ctx, base, session, sessions, ids, 1000)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "  %-24s %s\n", "SSE fan-out to 1000", fan)
	listRSS := peakRSS(tg.pid)
	sdb, err := tg.open(ctx)
	if err != nil {
		return nil, err
	}
	engagementRows, err := itemWorkloads(ctx, tg, sdb, users, conns, d, floor)
	if err != nil {
		sdb.Close()
		return nil, err
	}
	socialRows, err := socialWorkloads(ctx, tg, sdb, users, conns, d, floor)
	sdb.Close()
	if err != nil {
		return nil, err
	}
	socialRows = append(socialRows, engagementRows...)

	ms := func(t time.Duration) string { return fmt.Sprintf("%.2f ms", float64(t)/float64(time.Millisecond)) }
	floorRow.PeakRSSMB = readRSS
	rows := []row{
		floorRow,
		{Workload: "W1 GET /v1/me (session)", Engine: engine, result: w1, Ratio: w1.RPS / floor.RPS, RatioOf: "floor",
			Target: "≥0.6, p99≤5ms", Holds: w1.RPS >= 0.6*floor.RPS && w1.P99 <= 5*time.Millisecond && w1.Errors == 0, PeakRSSMB: readRSS},
		{Workload: "W1 at 1 conn (p50)", Engine: engine, result: w1p50, Ratio: w1p50.RPS / floor.RPS, RatioOf: "floor",
			Target: "p50≤0.3ms (" + ms(w1p50.P50) + ")", Holds: w1p50.P50 <= 300*time.Microsecond, PeakRSSMB: readRSS},
		{Workload: "W2 GET /v1/me (JWT)", Engine: engine, result: w2, Ratio: w2.RPS / floor.RPS, RatioOf: "floor",
			Target: "≥0.6", Holds: w2.RPS >= 0.6*floor.RPS && w2.Errors == 0, PeakRSSMB: readRSS},
		keyRows[0], keyRows[1],
	}
	rows = append(rows, w3...)
	rows = append(rows, []row{
		{Workload: "W7 unread count (100k)", Engine: engine, result: w7a, Ratio: w7a.RPS / floor.RPS, RatioOf: "floor",
			Target: "p99≤5ms", Holds: w7a.P99 <= 5*time.Millisecond && w7a.Errors == 0, PeakRSSMB: listRSS},
		{Workload: "W7 first page (100k)", Engine: engine, result: w7b, Ratio: w7b.RPS / floor.RPS, RatioOf: "floor",
			Target: "p99≤5ms", Holds: w7b.P99 <= 5*time.Millisecond && w7b.Errors == 0, PeakRSSMB: listRSS},
		{Workload: "SSE fan-out, 1000 streams", Engine: engine, result: fan, Ratio: 1, RatioOf: "-",
			Target: "all delivered", Holds: fan.Errors == 0, PeakRSSMB: listRSS},
		{Workload: "W4 POST /v1/auth/signup", Engine: engine, result: w4, Ratio: w4.RPS / limit, RatioOf: fmt.Sprintf("hash %.0f/s; %.2f of %.0f/s at once", limit, w4.RPS/ceiling, ceiling),
			Target: "≥0.9", Holds: w4.RPS >= 0.9*limit && w4.Errors == 0, PeakRSSMB: signupRSS},
		{Workload: "M1 peak RSS under W1, W2", Engine: engine, Ratio: readRSS / 64, RatioOf: "64 MB", Target: "≤64MB", Holds: readRSS <= 64, PeakRSSMB: readRSS},
	}...)
	rows = append(rows, m1Login...)
	return append(rows, socialRows...), nil
}

// seed inserts users u0…u(n-1) through the bulk path, all with one
// argon2id hash of benchPassword at the server's parameters.
func seed(ctx context.Context, db *sqldb.DB, n int, runID string) error {
	if _, err := db.MigrateUp(ctx); err != nil {
		return err
	}
	hash, err := password.New(password.OWASP, 1).Hash(ctx, benchPassword)
	if err != nil {
		return err
	}
	const batch = 1000
	start := time.Now()
	for i := 0; i < n; i += batch {
		news := make([]account.New, 0, batch)
		for j := i; j < min(n, i+batch); j++ {
			news = append(news, account.New{Identity: account.Identity{Email: fmt.Sprintf("u%d-%s@bench.test", j, runID)}, PasswordHash: hash})
		}
		if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return account.InsertBatch(ctx, tx, news) }); err != nil {
			return err
		}
	}
	// u0 is the heavy user: an administrator with notificationsPerUser
	// notifications, half of them read.
	err = db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := rbac.AssignDefaultToRoleless(ctx, tx); err != nil {
			return err
		}
		u0, _, err := account.FindForLogin(ctx, tx, fmt.Sprintf("u0-%s@bench.test", runID))
		if err != nil {
			return err
		}
		_, err = rbac.Assign(ctx, tx, u0.ID, rbac.AdminRole)
		return err
	})
	if err != nil {
		return err
	}
	var u0 string
	err = db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		u, _, err := account.FindForLogin(ctx, tx, fmt.Sprintf("u0-%s@bench.test", runID))
		u0 = u.ID
		return err
	})
	if err != nil {
		return err
	}
	if err := seedNotifications(ctx, db, u0); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: seeded %d users and %d notifications in %s\n", db.Engine(), n, notificationsPerUser, time.Since(start).Round(time.Millisecond))
	return nil
}

// notificationsPerUser is W7's data set: one user with 100k notifications.
const notificationsPerUser = 100_000

// seedNotifications gives a user notificationsPerUser notifications, half
// of them read, through the bulk path.
func seedNotifications(ctx context.Context, db *sqldb.DB, u0 string) error {
	const batch = 1000
	for i := 0; i < notificationsPerUser; i += batch {
		ns := make([]notify.New, batch)
		for j := range ns {
			ns[j] = notify.New{Type: "bench.event", Title: fmt.Sprintf("event %d", i+j), Description: "A notification of the W7 data set."}
		}
		err := db.Tx(sqldb.AsUser(ctx, u0), func(tx *sqldb.Tx) error {
			if err := notify.InsertBatch(ctx, tx, u0, ns); err != nil {
				return err
			}
			if i%(2*batch) == 0 { // half of them read
				return nil
			}
			_, err := notify.MarkAllRead(ctx, tx, u0)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func signIn(base, email string) (session, jwt string, err error) {
	res, err := http.Post(base+"/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"identifier":%q,"password":%q}`, email, benchPassword)))
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	var body struct {
		Session struct {
			Token string `json:"token"`
		} `json:"session"`
		AccessToken string `json:"access_token"`
	}
	if err := jsonDecode(res, &body); err != nil || res.StatusCode != 200 {
		return "", "", fmt.Errorf("sign in: %d %v", res.StatusCode, err)
	}
	return body.Session.Token, body.AccessToken, nil
}

// callers returns the ids of n seeded users and their session tokens
// (opened through the bulk path), and access JWTs of m of them (signed in
// over HTTP), for W1 and W2: many callers, as a deployment has, not one.
func (t *target) callers(ctx context.Context, n, m int) (ids, sessions, jwts []string, err error) {
	db, err := t.open(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	defer db.Close()
	ids = make([]string, n)
	err = db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		for i := range ids {
			email := fmt.Sprintf("u%d-%s@bench.test", i, t.runID)
			if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, email).Scan(&ids[i]); err != nil {
				return fmt.Errorf("%s: %w", email, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if sessions, err = auth.New(auth.Deps{DB: db}, auth.Config{}).OpenMany(ctx, ids); err != nil {
		return nil, nil, nil, err
	}
	for i := range m {
		_, jwt, err := signIn(t.base, fmt.Sprintf("u%d-%s@bench.test", i, t.runID))
		if err != nil {
			return nil, nil, nil, err
		}
		jwts = append(jwts, jwt)
	}
	return ids, sessions, jwts, nil
}

// server is a userd process that the harness started.
type server struct {
	base string // http://address
	pid  int
	stop func() // interrupts it and waits for it to exit
}

// startServer starts userd with args on addr (a free loopback address when
// ""), its output added to tmp/name.log, and waits until it is ready.
func startServer(bin, tmp, name string, args []string, addr string) (*server, error) {
	var err error
	if addr == "" {
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	log, err := os.OpenFile(filepath.Join(tmp, name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	cmd := exec.Command(bin, append(slices.Clip(args), "--addr", addr)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start userd: %w", err)
	}
	srv := &server{base: "http://" + addr, pid: cmd.Process.Pid, stop: func() { cmd.Process.Signal(os.Interrupt); cmd.Wait(); log.Close() }}
	if err := waitReady(srv.base); err != nil {
		srv.stop()
		return nil, err
	}
	return srv, nil
}

func waitReady(base string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s never became ready", base)
}

// peakRSS reads the process's peak resident set (VmHWM) in MB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// settle brings the planner's statistics up to date after a bulk load, as
// an operator would, so that the database's own background work on it
// (PostgreSQL's autovacuum) does not run during the measurements.
func settle(ctx context.Context, db *sqldb.DB) error {
	q := "ANALYZE"
	if db.Engine() == "postgres" {
		q = "VACUUM ANALYZE"
	}
	if _, err := db.SQL().ExecContext(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}

// measure runs a workload of conns connections for d against the server,
// with a profile under -pprof, and prints its result.
func (t *target) measure(ctx context.Context, name string, conns int, d time.Duration, mk request) result {
	defer t.profile(name, d)()
	r := t.metered(func() result { return load(ctx, conns, d, mk) })
	fmt.Fprintf(os.Stderr, "  %-24s %s\n", name, r)
	return r
}

// profiles is the -pprof folder: empty for no profiles.
var profiles string

// profile starts taking a CPU profile of the server over the middle half of
// a workload of length d, saved under the -pprof folder, and returns a wait
// for it; without -pprof it does nothing.
func (t *target) profile(workload string, d time.Duration) (wait func()) {
	if t.debug == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(d / 4)
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", t.debug, max(1, int(d/2/time.Second)))
		name := filepath.Join(profiles, t.engine+"-"+strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return r
			}
			return '-'
		}, workload)+".pprof")
		if err := download(url, name); err != nil {
			fmt.Fprintln(os.Stderr, "bench: profile:", err)
		}
	}()
	return func() { <-done }
}

// download saves what a GET of url answers into the file name.
func download(url, name string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// resetPeak sets the process's high-water mark of resident memory to what
// it holds now (Linux's clear_refs), so that peakRSS then reads the peak
// of what runs in between.
func resetPeak(pid int) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cannot reset the peak RSS:", err)
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// rlsCompare measures GET /v1/me and GET /v1/me/sessions on PostgreSQL with
// row-level security as the migrations set it, then with it disabled on every
// table (the per-transaction role switch stays), and returns both as rows.
func rlsCompare(ctx context.Context, bin, tmp, dbURL string, users int, d time.Duration, conns int) ([]row, error) {
	tg, err := startTarget(ctx, "postgres", bin, tmp, dbURL, users)
	if err != nil {
		return nil, err
	}
	defer tg.stop()
	measure := func(label string) []row {
		var rows []row
		for _, w := range []struct{ name, path string }{{"GET /v1/me", "/v1/me"}, {"GET /v1/me/sessions", "/v1/me/sessions"}} {
			r := load(ctx, conns, d, get(tg.base, w.path, tg.session))
			fmt.Fprintf(os.Stderr, "  %-36s %s\n", w.name+" "+label, r)
			rows = append(rows, row{Workload: w.name + " " + label, Engine: "postgres", result: r})
		}
		return rows
	}
	on := measure("(RLS on)")
	db, err := postgres.Open(ctx, tg.dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	for _, table := range []string{"users", "sessions", "refresh_tokens", "user_roles", "activity_logs"} {
		if _, err := db.SQL().ExecContext(ctx, "ALTER TABLE "+table+" DISABLE ROW LEVEL SECURITY"); err != nil {
			return nil, err
		}
	}
	off := measure("(RLS off)")
	for i := range on {
		on[i].Ratio, on[i].RatioOf, on[i].Target, on[i].Holds = on[i].RPS/off[i].RPS, "RLS off", "-", true
		off[i].Ratio, off[i].RatioOf, off[i].Target, off[i].Holds = 1, "RLS off", "-", true
	}
	return append(on, off...), nil
}

// itemWorkloads measures the items' workloads: W10 and W11, the rankings,
// and W12.
func itemWorkloads(ctx context.Context, tg *target, sdb *sqldb.DB, users, conns int, d time.Duration, floor result) ([]row, error) {
	everyone, err := userIDs(ctx, sdb, tg.runID, 0, users)
	if err != nil {
		return nil, err
	}
	engagementRows, err := engagementWorkloads(ctx, tg, sdb, everyone, conns, d, floor)
	if err != nil {
		return nil, fmt.Errorf("W10: %w", err)
	}
	rankingRows, err := rankingsWorkload(ctx, tg, sdb, conns, d)
	if err != nil {
		return nil, fmt.Errorf("rankings: %w", err)
	}
	engagementRows = append(engagementRows, rankingRows...)
	viewRows, err := viewWorkloads(ctx, tg, sdb, d)
	if err != nil {
		return nil, err
	}
	engagementRows = append(engagementRows, viewRows...)
	return engagementRows, nil
}
