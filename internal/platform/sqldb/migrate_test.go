package sqldb_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/platform/postgres"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestMigrationListsMatch checks that both engines have the same migrations,
// with the same names, each with its header.
func TestMigrationListsMatch(t *testing.T) {
	list := func(engine string) []string {
		entries, err := os.ReadDir(filepath.Join("..", engine, "migrations"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
			body, err := os.ReadFile(filepath.Join("..", engine, "migrations", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"-- Purpose:", "-- Depends on:", "-- Key features:", "-- +goose Up", "-- +goose Down"} {
				if !strings.Contains(string(body), h) {
					t.Errorf("%s/%s lacks %q", engine, e.Name(), h)
				}
			}
		}
		return names
	}
	sqliteNames, pgNames := list("sqlite"), list("postgres")
	if len(sqliteNames) == 0 {
		t.Fatal("no migrations")
	}
	if diff := cmp.Diff(sqliteNames, pgNames); diff != "" {
		t.Errorf("migration lists differ (-sqlite +postgres):\n%s", diff)
	}
}

// TestUpDownUp rolls every migration back and applies them again.
func TestUpDownUp(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range st {
			if m.AppliedAt.IsZero() {
				t.Fatalf("migration %d %s not applied", m.Version, m.Description)
			}
		}
		for i := len(st) - 1; i >= 0; i-- {
			v, err := db.MigrateDown(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v != st[i].Version {
				t.Fatalf("down rolled back %d, want %d", v, st[i].Version)
			}
		}
		if v, err := db.MigrateDown(ctx); err != nil || v != 0 {
			t.Fatalf("down with nothing applied = %d, %v; want 0, nil", v, err)
		}
		if pending, err := db.MigrationsPending(ctx); err != nil || !pending {
			t.Fatalf("pending after down = %v, %v; want true", pending, err)
		}
		applied, err := db.MigrateUp(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != len(st) {
			t.Fatalf("up applied %d migrations, want %d", len(applied), len(st))
		}
		if pending, err := db.MigrationsPending(ctx); err != nil || pending {
			t.Fatalf("pending after up = %v, %v; want false", pending, err)
		}
	})
}

// TestConcurrentMigrateOnce starts eight migrators against one empty
// PostgreSQL database at once, as eight userd processes would: each
// migration must be applied exactly once.
func TestConcurrentMigrateOnce(t *testing.T) {
	url := dbtest.NewPostgresURL(t, false)
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	applied := make([][]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			db, err := postgres.Open(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			applied[i], errs[i] = db.MigrateUp(ctx)
		})
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	files, _ := fs.Glob(os.DirFS("../postgres/migrations"), "*.sql")
	if total != len(files) {
		t.Fatalf("migrations applied %d times in all, want %d (once each)", total, len(files))
	}
	check, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var rows, distinct int
	if err := check.SQL().QueryRow(`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != len(files) || distinct != len(files) {
		t.Fatalf("history has %d rows, %d versions; want %d each", rows, distinct, len(files))
	}
}

// TestVersions: the engine's version as its server gives it, and the
// latest migration applied.
func TestVersions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := db.MigrationVersion(ctx); err != nil || v != st[len(st)-1].Version {
			t.Fatalf("MigrationVersion = %d, %v; want %d", v, err, st[len(st)-1].Version)
		}
		v, err := db.ServerVersion(ctx)
		if err != nil || !regexp.MustCompile(`^\d+\.\d+`).MatchString(v) {
			t.Fatalf("ServerVersion = %q, %v", v, err)
		}
		if db.Engine() == "sqlite" && !strings.HasPrefix(v, "3.") {
			t.Fatalf("SQLite's version = %q", v)
		}
	})
}
