// Package dbtest runs test bodies against both of userd's engines: a fresh
// SQLite file, and a fresh database in a throwaway PostgreSQL cluster that it
// starts once per test binary with the machine's initdb and pg_ctl. Nothing
// is mocked.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/platform/postgres"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/sqlite"
)

// Main runs the package's tests, then stops the PostgreSQL cluster if one was
// started. Call it from TestMain:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if c := shared; c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dbtest:", err)
		}
	}
	os.Exit(code)
}

// Engines lists the engines that Run covers, in order.
var Engines = []string{"sqlite", "postgres"}

// Run runs body once per engine, as the subtests "sqlite" and "postgres",
// each with a freshly migrated database of its own.
func Run(t *testing.T, body func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			body(t, Open(t, engine))
		})
	}
}

// Open returns a freshly migrated database of the given engine, closed when
// the test ends.
func Open(t testing.TB, engine string) *sqldb.DB {
	t.Helper()
	var db *sqldb.DB
	var err error
	switch engine {
	case "sqlite":
		db, err = sqlite.Open(context.Background(), SQLitePath(t))
		if err == nil {
			_, err = db.MigrateUp(context.Background())
		}
	case "postgres":
		db, err = postgres.Open(context.Background(), NewPostgresURL(t, true))
	default:
		t.Fatalf("dbtest: unknown engine %q", engine)
	}
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", engine, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// SQLitePath returns the path of a new SQLite file in the test's temporary
// folder.
func SQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "userd.db")
}

var (
	shared    *PGCluster
	sharedErr error
	startOnce sync.Once
	dbSeq     atomic.Int64
	createMu  sync.Mutex
)

// NewPostgresURL creates a new database in the test binary's cluster and
// returns its URL. With migrated set, the database is a copy of a template
// that holds every migration; otherwise it is empty.
func NewPostgresURL(t testing.TB, migrated bool) string {
	t.Helper()
	c := Cluster(t)
	name := fmt.Sprintf("t%d", dbSeq.Add(1))
	stmt := "CREATE DATABASE " + name
	if migrated {
		stmt += " TEMPLATE userd_template"
	}
	createMu.Lock()
	_, err := c.admin.Exec(stmt)
	createMu.Unlock()
	if err != nil {
		t.Fatalf("dbtest: %s: %v", stmt, err)
	}
	return c.URL(name)
}

// Cluster returns the test binary's PostgreSQL cluster, starting it and its
// migrated template database on first use.
func Cluster(t testing.TB) *PGCluster {
	t.Helper()
	startOnce.Do(func() {
		shared, sharedErr = StartPG()
		if sharedErr == nil {
			sharedErr = shared.CreateDatabase("userd_template", true)
		}
	})
	if sharedErr != nil {
		t.Fatalf("dbtest: %v", sharedErr)
	}
	return shared
}

// CreateDatabase creates a database, migrated when asked.
func (c *PGCluster) CreateDatabase(name string, migrated bool) error {
	if _, err := c.admin.Exec("CREATE DATABASE " + name); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	if !migrated {
		return nil
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, c.URL(name))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	return nil
}

// AdminDB returns a superuser connection to the cluster's postgres database.
func (c *PGCluster) AdminDB() *sql.DB { return c.admin }

// OpenAt opens an existing database: a SQLite file path or a PostgreSQL URL.
func OpenAt(ctx context.Context, engine, where string) (*sqldb.DB, error) {
	if engine == "sqlite" {
		return sqlite.Open(ctx, where)
	}
	return postgres.Open(ctx, where)
}

// User makes a user with the given email, as the system, and returns them
// as an actor: a test's owner of rows.
func User(t testing.TB, db *sqldb.DB, email string) userd.Actor {
	t.Helper()
	ctx := sqldb.System(context.Background())
	var u account.User
	err := db.Tx(ctx, func(tx *sqldb.Tx) (err error) {
		u, err = account.Insert(ctx, tx, account.New{Identity: account.Identity{Email: email}})
		return err
	})
	if err != nil {
		t.Fatalf("make user %s: %v", email, err)
	}
	return userd.Actor{UserID: u.ID}
}

// Processes returns n handles on one freshly migrated PostgreSQL database,
// as n processes of userd would hold them, closed when the test ends.
func Processes(t testing.TB, n int) []*sqldb.DB {
	t.Helper()
	url := NewPostgresURL(t, true)
	out := make([]*sqldb.DB, n)
	for i := range out {
		db, err := OpenAt(context.Background(), "postgres", url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		out[i] = db
	}
	return out
}

// Count returns the number that a query of one integer answers, read
// outside any transaction's scope.
func Count(t testing.TB, db *sqldb.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// OwnCluster starts a PostgreSQL cluster of the test's own, which it may
// stop and start again (see Halt), with an empty database named db, and
// stops it when the test ends.
func OwnCluster(t testing.TB, db string) *PGCluster {
	t.Helper()
	c, err := StartPG()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	if err := c.CreateDatabase(db, false); err != nil {
		t.Fatal(err)
	}
	return c
}
