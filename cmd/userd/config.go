package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd/internal/platform/postgres"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/sqlite"
)

// envName is the environment variable that backs a flag: --database-url ↔
// USERD_DATABASE_URL.
func envName(flagName string) string {
	return "USERD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// formerNames maps a flag's former name to its name. Both set one value;
// the name, on the command line or in the environment, wins over the
// former one.
var formerNames = map[string]string{"reveal-max-auth-age": "reauthentication-max-age"}

// nameOf returns a flag's name, for its former name too.
func nameOf(flagName string) string {
	if n, ok := formerNames[flagName]; ok {
		return n
	}
	return flagName
}

// parse parses args after giving each flag that was not set on the command
// line (under its name or its former name) the value of its environment
// variable.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[nameOf(f.Name)] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := nameOf(f.Name)
		if oneRunOnly[name] {
			return
		}
		if _, current := os.LookupEnv(envName(name)); name != f.Name && current {
			return // the variable of the flag's name wins
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok && !set[name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
			}
		}
	})
	return err
}

// oneRunOnly are the flags that decide what one run does to data: only the
// command line gives them, never a variable left in the environment.
var oneRunOnly = map[string]bool{"force": true, "dry-run": true}

// newFlagSet returns a flag set whose usage names each flag's environment
// variable.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of userd %s:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// dbConfig says which database to open.
type dbConfig struct {
	dataDir     string
	databaseURL string
	pooler      string
	listenURL   string
	replicas    multiFlag
	maxLag      time.Duration
}

func (c *dbConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", "./userd-data", "folder of the SQLite database (and other local state) (env USERD_DATA_DIR)")
	fs.StringVar(&c.databaseURL, "database-url", "", "postgres://… to use PostgreSQL instead of SQLite (env USERD_DATABASE_URL)")
	fs.StringVar(&c.pooler, "database-pooler", string(postgres.NoPooler), "what --database-url goes through: none, or pgbouncer (in transaction mode: no prepared statements, and what needs a session of its own uses --listen-database-url) (env USERD_DATABASE_POOLER)")
	fs.Var(&c.replicas, "replica-url", "postgres://… of a streaming replica that read-only transactions read from once it has replayed what they must see; repeatable (env USERD_REPLICA_URL, ';' between URLs)")
	fs.DurationVar(&c.maxLag, "replica-max-lag", postgres.DefaultMaxLag, "how long a replica may stay behind the primary before reads skip it (env USERD_REPLICA_MAX_LAG)")
	fs.StringVar(&c.listenURL, "listen-database-url", "", "postgres://… that reaches PostgreSQL itself, not a pooler, for the LISTEN connection, the migrations and backups (default --database-url; with --database-pooler pgbouncer, required) (env USERD_LISTEN_DATABASE_URL)")
}

// directURL returns the URL that reaches PostgreSQL itself.
func (c *dbConfig) directURL() string {
	if c.listenURL != "" {
		return c.listenURL
	}
	return c.databaseURL
}

// open opens the configured database: PostgreSQL when a URL is given,
// otherwise SQLite in the data folder, which it creates.
func (c *dbConfig) open(ctx context.Context) (*sqldb.DB, error) {
	if c.databaseURL != "" {
		urls := map[string]string{"--database-url": c.databaseURL, "--listen-database-url": c.directURL()}
		for i, u := range c.replicas {
			urls[fmt.Sprintf("--replica-url (%d)", i+1)] = u
		}
		for flag, u := range urls {
			if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
				return nil, fmt.Errorf("%s must start with postgres://", flag)
			}
		}
		return postgres.OpenWith(ctx, c.databaseURL, postgres.Options{Pooler: postgres.Pooler(c.pooler), DirectURL: c.directURL(),
			Replicas: c.replicas, MaxLag: c.maxLag})
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(c.dataDir, "userd.db"))
}

// verbWithID splits a command's arguments into its verb, one of verbs,
// and the rest; for idVerb the first argument after it is an id, which it
// returns apart. Anything else is the usage as an error.
func verbWithID(args []string, usage, idVerb string, verbs ...string) (verb, id string, rest []string, err error) {
	if len(args) == 0 || !slices.Contains(verbs, args[0]) {
		return "", "", nil, errors.New(usage)
	}
	verb, rest = args[0], args[1:]
	if verb == idVerb {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return "", "", nil, errors.New(usage)
		}
		id, rest = rest[0], rest[1:]
	}
	return verb, id, rest, nil
}

// openWith parses a subcommand's flags (the database flags and what extra
// adds) and opens the database they name.
func openWith(ctx context.Context, name string, args []string, extra func(*flag.FlagSet)) (*sqldb.DB, error) {
	fs := newFlagSet(name)
	var dbc dbConfig
	dbc.flags(fs)
	if extra != nil {
		extra(fs)
	}
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return dbc.open(ctx)
}
