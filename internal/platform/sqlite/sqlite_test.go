package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/userd/userd/internal/platform/sqldb"
)

// TestPragmas: every connection enforces foreign keys in WAL mode, and
// readers cannot write.
func TestPragmas(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	writer := func(q string) (s string, err error) { return s, db.SQL().QueryRowContext(ctx, q).Scan(&s) }
	reader := func(q string) (s string, err error) {
		err = db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error { return tx.QueryRow(ctx, q).Scan(&s) })
		return s, err
	}
	for _, c := range []struct {
		name  string
		query func(q string) (string, error)
	}{{"writer", writer}, {"reader", reader}} {
		for q, want := range map[string]string{"PRAGMA foreign_keys": "1", "PRAGMA journal_mode": "wal"} {
			if got, err := c.query(q); err != nil || got != want {
				t.Errorf("%s: %s = %q, %v; want %q", c.name, q, got, err, want)
			}
		}
	}
	err = db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE x (v INTEGER)`)
		return err
	})
	if err == nil {
		t.Error("a reader wrote")
	}
}

// TestFileMode: a new database file, its -wal and its -shm are readable and
// writable by their owner only.
func TestFileMode(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mode.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil { // writes: the -wal and -shm appear
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %v; want -rw-------", filepath.Base(name), mode)
		}
	}
}
