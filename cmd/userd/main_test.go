package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(asUserd) != "" { // the test binary run as userd (see startUserd)
		main()
		os.Exit(0)
	}
	dbtest.Main(m)
}

// TestHelpListsEveryFlag checks that `userd --help` names the commands and
// every serve flag of the contract.
func TestHelpListsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	run(context.Background(), []string{"--help"}, &out)
	for _, want := range []string{"serve", "migrate", "users", "version", "-addr", "-data-dir", "-database-url", "-public-url",
		"-smtp-url", "-trusted-proxies", "-oidc-provider", "-allowed-redirects", "-rate-limits", "USERD_DATABASE_URL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestEnvironmentFallback: a flag not given on the command line reads its
// USERD_ variable; a flag given wins.
func TestEnvironmentFallback(t *testing.T) {
	t.Setenv("USERD_ADDR", "127.0.0.1:9999")
	t.Setenv("USERD_DATABASE_URL", "postgres://env")
	t.Setenv("USERD_RATE_LIMITS", "off")
	fs, c := serveFlags()
	if err := parse(fs, []string{"--database-url", "postgres://flag"}); err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:9999" || c.db.databaseURL != "postgres://flag" || bool(c.rateLimits) {
		t.Fatalf("addr %q, database-url %q, rate-limits %v", c.addr, c.db.databaseURL, c.rateLimits)
	}
	t.Setenv("USERD_RATE_LIMITS", "maybe")
	fs, _ = serveFlags()
	if err := parse(fs, nil); err == nil || !strings.Contains(err.Error(), "USERD_RATE_LIMITS") {
		t.Fatalf("a bad environment value = %v; want an error naming the variable", err)
	}
}

// TestFormerFlagName: --reveal-max-auth-age still sets what
// --reauthentication-max-age sets, and the new name wins over the former one
// whether on the command line or in the environment.
func TestFormerFlagName(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want time.Duration
	}{
		{"former flag", nil, []string{"--reveal-max-auth-age", "2m"}, 2 * time.Minute},
		{"former variable", map[string]string{"USERD_REVEAL_MAX_AUTH_AGE": "3m"}, nil, 3 * time.Minute},
		{"flag over former variable", map[string]string{"USERD_REVEAL_MAX_AUTH_AGE": "10m"}, []string{"--reauthentication-max-age", "1m"}, time.Minute},
		{"variable over former variable", map[string]string{"USERD_REVEAL_MAX_AUTH_AGE": "10m", "USERD_REAUTHENTICATION_MAX_AGE": "4m"}, nil, 4 * time.Minute},
		{"default", nil, nil, 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs, c := serveFlags()
			if err := parse(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			if c.auth.ReauthMaxAge != tc.want {
				t.Fatalf("reauthentication max age %v; want %v", c.auth.ReauthMaxAge, tc.want)
			}
		})
	}
}

// dbArgs returns the flags that select a fresh database of the engine, with
// local state (the SQLite file, a generated master key) in a temporary
// folder rather than in the package's.
func dbArgs(t *testing.T, engine string) []string {
	data := []string{"--data-dir", filepath.Join(t.TempDir(), "data")}
	if engine == "sqlite" {
		return data
	}
	return append(data, "--database-url", dbtest.NewPostgresURL(t, false))
}

// runner returns a runner of userd's commands on a fresh database of the
// engine (see dbArgs): what a command printed, and its error.
func runner(t *testing.T, engine string) func(args ...string) (string, error) {
	db := dbArgs(t, engine)
	return func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append(args, db...), &out)
		return out.String(), err
	}
}

// TestMigrateAndUsersCommands runs the operator commands on both engines.
func TestMigrateAndUsersCommands(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db := dbArgs(t, engine)
			cmd := func(args ...string) string {
				t.Helper()
				var out bytes.Buffer
				if err := run(ctx, append(args, db...), &out); err != nil {
					t.Fatalf("userd %v: %v", args, err)
				}
				return out.String()
			}
			st := cmd("migrate", "status")
			if !regexp.MustCompile(`(?m)^00001\s+users\s+pending$`).MatchString(st) {
				t.Fatalf("status before up:\n%s", st)
			}
			if out := cmd("migrate", "up"); !strings.Contains(out, "applied 00001") {
				t.Fatalf("up:\n%s", out)
			}
			st = cmd("migrate", "status")
			if strings.Contains(st, "pending") || !strings.Contains(st, time.Now().UTC().Format("2006-01-02")) {
				t.Fatalf("status after up:\n%s", st)
			}
			if out := cmd("migrate", "down"); !strings.Contains(out, "rolled back") {
				t.Fatalf("down:\n%s", out)
			}
			if st := cmd("migrate", "status"); strings.Count(st, "pending") != 1 {
				t.Fatalf("status after down:\n%s", st)
			}
			id := strings.TrimSpace(cmd("users", "create", "--email", "Admin@Example.com", "--password", "correct horse battery"))
			if len(id) != 36 {
				t.Fatalf("users create printed %q; want an id", id)
			}
			if out := cmd("users", "list"); !strings.Contains(out, id) || !strings.Contains(out, "admin@example.com") {
				t.Fatalf("users list:\n%s", out)
			}
			first := strings.TrimSpace(cmd("users", "create", "--email", "root@example.com", "--password", "correct horse battery", "--role", "ADMIN"))
			var roles []string
			dbc, err := openWith(ctx, "check", db, nil)
			if err != nil {
				t.Fatal(err)
			}
			rows, _ := dbc.SQL().Query(`SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 ORDER BY r.name`, first)
			for rows.Next() {
				var r string
				rows.Scan(&r)
				roles = append(roles, r)
			}
			rows.Close()
			dbc.Close()
			if strings.Join(roles, ",") != "ADMIN,END_USER" {
				t.Fatalf("users create --role ADMIN gave %v", roles)
			}
			if out := cmd("users", "delete", first); !strings.Contains(out, "deleted "+first) {
				t.Fatalf("users delete:\n%s", out)
			}
			if out := cmd("users", "list"); strings.Contains(out, first) {
				t.Fatal("users delete left the user")
			}
			var bad bytes.Buffer
			if err := run(ctx, append([]string{"users", "create", "--email", "x@example.com", "--password", "correct horse battery", "--role", "KING"}, db...), &bad); err == nil || !strings.Contains(err.Error(), "unknown_role") {
				t.Fatalf("users create --role KING = %v", err)
			}
			file := filepath.Join(t.TempDir(), "users.csv")
			os.WriteFile(file, []byte("email,password_hash\nimported@example.com,$2y$05$WKEpfI/VvI2WWftY/ccob.6ZVowMSFgHBSUpUfiPlqrPROhN9XFKi\nbad,\n"), 0o600)
			if out := cmd("users", "import", file); !strings.Contains(out, "read 2, imported 1, skipped 1") || !strings.Contains(out, "line 3: invalid_email") {
				t.Fatalf("import:\n%s", out)
			}
			if out := cmd("users", "import", file); !strings.Contains(out, "imported 0") || !strings.Contains(out, "skipped 1: already_imported (email)") {
				t.Fatalf("import again:\n%s", out)
			}
			var out bytes.Buffer
			err = run(ctx, append([]string{"users", "create", "--email", "admin@example.com", "--password", "correct horse battery"}, db...), &out)
			if err == nil || !strings.Contains(err.Error(), "email_taken") {
				t.Fatalf("duplicate users create = %v; want email_taken", err)
			}
		})
	}
}

// TestServeShutsDownGracefully starts serve, sends a sign-up whose password
// hash is slow, and stops the server while it runs: the sign-up completes
// and serve returns cleanly.
func TestServeShutsDownGracefully(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			addr := freeAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			args := append([]string{"serve", "--addr", addr, "--argon2-memory", "131072", "--argon2-time", "4"}, dbArgs(t, engine)...)
			go func() { done <- run(ctx, args, &bytes.Buffer{}) }()
			base := "http://" + addr
			waitHealthy(t, base)

			type result struct {
				status int
				err    error
			}
			signup := make(chan result, 1)
			go func() {
				res, err := http.Post(base+"/v1/auth/signup", "application/json",
					strings.NewReader(`{"email":"slow@example.com","password":"correct horse battery"}`))
				if err != nil {
					signup <- result{err: err}
					return
				}
				res.Body.Close()
				signup <- result{status: res.StatusCode}
			}()
			time.Sleep(50 * time.Millisecond) // let the request reach the handler
			cancel()
			r := <-signup
			if r.err != nil || r.status != http.StatusCreated {
				t.Fatalf("in-flight sign-up during shutdown = %d, %v; want 201", r.status, r.err)
			}
			if err := <-done; err != nil {
				t.Fatalf("serve returned %v; want nil", err)
			}
			if _, err := http.Get(base + "/healthz"); err == nil {
				t.Fatal("the server still answers after shutdown")
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal(fmt.Errorf("%s never became healthy", base))
}

func sleep() { time.Sleep(20 * time.Millisecond) }

// TestDebugAddr: --debug-addr serves the runtime's profiles on loopback,
// without the command line; any other address is refused.
func TestDebugAddr(t *testing.T) {
	debug := freeAddr(t)
	base, stop := startServe(t, append([]string{"--debug-addr", debug}, dbArgs(t, "sqlite")...))
	if base == "" {
		t.Fatal(stop())
	}
	defer stop()
	for path, want := range map[string]int{"/debug/pprof/heap?debug=1": http.StatusOK, "/debug/pprof/cmdline": http.StatusNotFound} {
		res, err := http.Get("http://" + debug + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %d; want %d", path, res.StatusCode, want)
		}
	}
	if _, stop := startServe(t, append([]string{"--debug-addr", "0.0.0.0:0"}, dbArgs(t, "sqlite")...)); stop() == nil {
		t.Error("--debug-addr on every interface was accepted")
	}
}

// TestTuneMemory: serve's collector pace and memory limit take effect
// unless GOGC and GOMEMLIMIT say otherwise.
func TestTuneMemory(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	tuneMemory(context.Background(), 200, 37, 7<<20, func() uint64 { return 0 })
	if got := debug.SetGCPercent(100); got != 37 {
		t.Errorf("GC percent = %d; want 37", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 200<<20 {
		t.Errorf("memory limit = %d; want %d", got, 200<<20)
	}
	t.Setenv("GOGC", "80")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(math.MaxInt64)
	tuneMemory(context.Background(), 200, 37, 7<<20, func() uint64 { return 0 })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, GC percent = %d; want it left at 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set, memory limit = %d; want it left alone", got)
	}
}

// TestDerivedLimit: the default memory limit leaves two hashes' memory a
// core, twice the rest of the live heap and the runtime's own memory, at
// least 16 MiB for these two.
// TestLiveFor: while passwords are hashed the limit follows the least
// live heap of the last seconds (hashes counted live left out); when none
// is, the latest, with room for the next burst's hashes.
func TestLiveFor(t *testing.T) {
	const mib = 1 << 20
	recent := []uint64{30 * mib, 58 * mib, 44 * mib}
	if got := liveFor(recent, 14*mib, true); got != 30*mib {
		t.Errorf("hashing: %d MiB; want the least, 30", got/mib)
	}
	if got := liveFor(recent, 14*mib, false); got != 58*mib {
		t.Errorf("quiet: %d MiB; want the latest and the hashes, 58", got/mib)
	}
	// Quiet, 44 MiB of caches: the limit leaves them room to double and
	// two hashes a core, where counting them as hashes left none.
	if got, want := derivedLimit(7*mib, 2, liveFor([]uint64{44 * mib}, 14*mib, false), 8*mib), int64(28+88+8)*mib; got != want {
		t.Errorf("quiet limit %d MiB; want %d", got/mib, want/mib)
	}
}

func TestDerivedLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		live, other uint64
		want        int64
	}{
		{0, 8 * mib, 44 * mib},               // idle: 2 cores × 7 MiB × 2 + 16 MiB
		{19 * mib, 5 * mib, 44 * mib},        // two hashes in flight over 5 MiB of the rest
		{14*mib + 30*mib, 8 * mib, 96 * mib}, // 30 MiB of caches besides: twice that
		{14*mib + 9*mib, 16 * mib, 62 * mib}, // 256 connections' stacks
	} {
		if got := derivedLimit(7*mib, 2, tt.live, tt.other); got != tt.want {
			t.Errorf("derivedLimit(7 MiB, 2 cores, live %d MiB, other %d MiB) = %d MiB; want %d", tt.live/mib, tt.other/mib, got/mib, tt.want/mib)
		}
	}
}

// TestHashingRegime: while passwords are hashed the collector lets the
// heap grow by three quarters of the hashes' memory, at a pace of 10 to 50
// and never above the one set (none when GOGC set it), and the limit leaves
// one hash a core more than the derived one.
func TestHashingRegime(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		pace     int
		live     uint64
		wantPace int
	}{
		{100, 22 * mib, 47}, // an idle server's heap and two hashes in flight
		{100, 42 * mib, 25}, // caches besides
		{100, 14 * mib, 50},
		{100, 200 * mib, 10},
		{30, 22 * mib, 30},
		{-1, 22 * mib, -1},
	} {
		pace, limit := hashingRegime(tt.pace, 60*mib, 14*mib, tt.live)
		if pace != tt.wantPace || limit != 74*mib {
			t.Errorf("hashingRegime(%d, 60 MiB, 14 MiB, %d MiB) = %d, %d MiB; want %d, 74 MiB", tt.pace, tt.live/mib, pace, limit/mib, tt.wantPace)
		}
	}
}

// TestFollowHeap: with --memory-limit -1 the limit is set from the live heap
// at once, and left alone once the server stops.
func TestFollowHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { followHeap(ctx, 7<<20, 2, 100, func() uint64 { return 0 }); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	var got int64
	for got = debug.SetMemoryLimit(-1); got == math.MaxInt64 && time.Now().Before(deadline); got = debug.SetMemoryLimit(-1) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if got < 44<<20 || got == math.MaxInt64 {
		t.Fatalf("memory limit = %d; want at least 44 MiB, derived", got)
	}
}

// TestServeRefusesBadSMTPURL: serve checks --smtp-url, its tls parameter
// included, before it opens anything.
func TestServeRefusesBadSMTPURL(t *testing.T) {
	for _, url := range []string{"smtp://mail.example.com?tls=none", "smtp://mail.example.com?tls=", "smtps://mail.example.com?tls=opportunistic", "mail.example.com"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // should serve start after all
		err := run(ctx, append([]string{"serve", "--addr", freeAddr(t), "--smtp-url", url}, dbArgs(t, "sqlite")...), io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "--smtp-url") {
			t.Errorf("--smtp-url %s: %v; want an error naming --smtp-url", url, err)
		}
	}
}

// TestDataFolderIsPrivate: the data folder and every file that userd makes
// in it are its owner's only.
func TestDataFolderIsPrivate(t *testing.T) {
	args := dbArgs(t, "sqlite")
	if err := run(context.Background(), append([]string{"migrate", "up"}, args...), io.Discard); err != nil {
		t.Fatal(err)
	}
	dir := args[1]
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data folder: %v, %v; want drwx------", fi.Mode(), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("data folder holds %v, %v", entries, err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v; want -rw-------", e.Name(), fi.Mode().Perm())
		}
	}
}

// TestOneRunFlagsIgnoreTheEnvironment: USERD_FORCE left in the environment
// does not make a backup replace a file; the command line does.
func TestOneRunFlagsIgnoreTheEnvironment(t *testing.T) {
	t.Setenv("USERD_FORCE", "true")
	t.Setenv("USERD_QUIET", "true")
	fs := newFlagSet("backup")
	force, quiet := fs.Bool("force", false, ""), fs.Bool("quiet", false, "")
	if err := parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if *force || !*quiet {
		t.Fatalf("force %v, quiet %v; want false from the environment, true", *force, *quiet)
	}
	if err := parse(fs, []string{"--force"}); err != nil || !*force {
		t.Fatalf("--force on the command line = %v, %v", *force, err)
	}
}
