// Command bench is userd's load harness: it builds userd, starts it on a
// fresh SQLite folder and on a throwaway PostgreSQL cluster (or a PostgreSQL
// given by URL), seeds users through the bulk path, runs the workloads of
// shared/docs/performance.md with a closed-loop load generator on loopback,
// and measures /healthz in the same run as the floor. It prints one table and
// writes the same as JSON under bench/results/.
//
//	go run ./bench [-quick] [-users N] [-duration D] [-conns C] [-login-conns C,…] [-engines sqlite,postgres] [-database-url URL] [-unsafe-fast-postgres]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table.
type row struct {
	Workload string `json:"workload"`
	Engine   string `json:"engine"`
	result
	Ratio     float64 `json:"ratio"`
	RatioOf   string  `json:"ratio_of"`
	Target    string  `json:"target"`
	Holds     bool    `json:"holds"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

// report is the JSON written under bench/results/.
type report struct {
	When     time.Time `json:"when"`
	Machine  string    `json:"machine"`
	Command  string    `json:"command"`
	Users    int       `json:"users"`
	Duration string    `json:"duration"`
	Conns    int       `json:"conns"`
	// LoginConns are -login-conns, W3's connection counts when not Conns.
	LoginConns []int `json:"login_conns,omitempty"`
	// UnsafeFastPostgres is -unsafe-fast-postgres: the harness's PostgreSQL
	// ran without durability, and its rows say so.
	UnsafeFastPostgres bool  `json:"unsafe_fast_postgres,omitempty"`
	Rows               []row `json:"rows"`
}

func main() {
	quick := flag.Bool("quick", false, "a one-minute smoke run: 10k users, 3 s per workload")
	users := flag.Int("users", 1_000_000, "users to seed")
	duration := flag.Duration("duration", 10*time.Second, "length of each workload")
	conns := flag.Int("conns", 32, "connections of the load generator")
	engines := flag.String("engines", "sqlite,postgres", "engines to measure")
	dbURL := flag.String("database-url", "", "measure this PostgreSQL instead of a throwaway cluster (its data is added to, not removed)")
	out := flag.String("out", "bench/results", "folder for the JSON results")
	only := flag.String("only", "", `"items": measure only the floor and the items' workloads (W10–W12, rankings); "collections": only the write floor and the collections' (W13: creation and a filtered page); "billing": only W14, provider events; "import": only W15, users import; "login": only W3, log-in, and M1 under it; "cluster": on PostgreSQL, W1, log-in (-duration) and W5 through 1 process direct, 1–3 behind HAProxy and 3 behind HAProxy through PgBouncer, with each hop's processor time a request`)
	rls := flag.Bool("rls", false, "only compare GET /v1/me and /v1/me/sessions on PostgreSQL with and without row-level security")
	flag.BoolVar(&statements, "statements", false, "on the PostgreSQL the harness starts, print the statements that took the most of each workload's time (pg_stat_statements)")
	flag.BoolVar(&unsafeFastPG, "unsafe-fast-postgres", false, `run the PostgreSQL clusters the harness starts with fsync, synchronous_commit and full_page_writes off; every row of theirs says engine "postgres (unsafe-fast)": no user's server runs so`)
	flag.Func("login-conns", "connection counts for W3 (log-in) and M1 under it, such as 8,64,256: one 40 s run after 4 s idle each (default -conns)", parseConns)
	flag.StringVar(&profiles, "pprof", "", "save a CPU profile of the server over the middle half of each workload into this folder (go tool pprof FILE)")
	probe := flag.Bool("hash-probe", false, "print one core's argon2id time and every core's rate as JSON, and exit (what the harness runs in a fresh process to measure the hash limit)")
	flag.Parse()
	if *probe {
		if err := probeHash(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *quick {
		*users, *duration = 10_000, 3*time.Second
	}
	switch *only {
	case "", "items":
	case "collections":
		runOnly = collectionWorkloads
	case "billing":
		runOnly = billingWorkloads
	case "import":
		runOnly = importWorkloads
	case "login":
		runOnly = loginWorkloads
	case "cluster":
		runOnly = clusterWorkloads
	default:
		fmt.Fprintln(os.Stderr, "bench: -only takes items, collections, billing, import, login or cluster")
		os.Exit(2)
	}
	if err := run(*users, *duration, *conns, strings.Split(*engines, ","), *dbURL, *out, *rls, *only == "items"); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(users int, d time.Duration, conns int, engines []string, dbURL, outDir string, rls, itemsOnly bool) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "userd-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "userd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/userd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build userd: %w", err)
	}
	rep := report{When: time.Now().UTC(), Machine: machine(), Command: "go run ./bench " + strings.Join(os.Args[1:], " "),
		Users: users, Duration: d.String(), Conns: conns, LoginConns: loginConns, UnsafeFastPostgres: unsafeFastPG && dbURL == ""}
	if rls {
		rows, err := rlsCompare(ctx, bin, tmp, dbURL, users, d, conns)
		if err != nil {
			return fmt.Errorf("rls: %w", err)
		}
		labelEngine(rows, dbURL)
		rep.Rows = rows
		printTable(rep)
		return save(rep, outDir)
	}
	for _, engine := range engines {
		var rows []row
		if runOnly != nil {
			rows, err = runOnly(ctx, engine, bin, tmp, dbURL, users, d, conns)
		} else {
			rows, err = runEngine(ctx, engine, bin, tmp, dbURL, users, d, conns, itemsOnly)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", engine, err)
		}
		labelEngine(rows, dbURL)
		rep.Rows = append(rep.Rows, rows...)
	}
	printTable(rep)
	return save(rep, outDir)
}

// runOnly, when set by -only, replaces runEngine.
var runOnly func(ctx context.Context, engine, bin, tmp, dbURL string, users int, d time.Duration, conns int) ([]row, error)

func printTable(rep report) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tengine\treq/s\tp50\tp99\terrors\tratio\tof\ttarget\tholds?\tpeak RSS\tcpu/req srv+db(+lb+pool)\t")
	for _, r := range rep.Rows {
		holds := "yes"
		if !r.Holds {
			holds = "NO"
		}
		cpu := "-"
		if r.ServerCPU > 0 || r.DBCPU > 0 {
			cpu = fmt.Sprintf("%s+%s", r.ServerCPU.Round(time.Microsecond), r.DBCPU.Round(time.Microsecond))
		}
		if r.BalancerCPU > 0 || r.PoolerCPU > 0 {
			cpu += fmt.Sprintf("+%s+%s", r.BalancerCPU.Round(time.Microsecond), r.PoolerCPU.Round(time.Microsecond))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%d\t%.2f\t%s\t%s\t%s\t%.0f MB\t%s\t\n", r.Workload, r.Engine, r.RPS,
			r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors, r.Ratio, r.RatioOf, r.Target, holds, r.PeakRSSMB, cpu)
	}
	tw.Flush()
	fmt.Printf("\n%s; %d users; %s per workload at %d connections; %s\n", rep.Machine, rep.Users, rep.Duration, rep.Conns, rep.Command)
}

func save(rep report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(dir, rep.When.Format("20060102T150405Z")+".json")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", name)
	return os.WriteFile(filepath.Join(dir, "latest.json"), b, 0o644)
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
