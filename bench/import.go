package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/userd/userd/internal/platform/postgres"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/sqlite"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// importHashes is how many distinct bcrypt hashes W15's file holds: making
// a million at cost 10 would take hours, and the import keeps hashes as
// they are whatever they are.
const importHashes = 1_000

// importWorkloads runs issue 21's W15 (go run ./bench -only import): the
// real `userd users import` of a JSON-lines file of `users` users, each
// with a distinct email, username and legacy id and a bcrypt hash, into a
// fresh database of the engine (PostgreSQL durable, fsync on); it times
// the command, checks that every user is stored, and holds at ≥ 20,000
// users/s.
func importWorkloads(ctx context.Context, engine, bin, tmp, dbURL string, users int, _ time.Duration, _ int) ([]row, error) {
	file := filepath.Join(tmp, fmt.Sprintf("users-%d.jsonl", users))
	if _, err := os.Stat(file); err != nil {
		if err := importFile(file, users); err != nil {
			return nil, err
		}
	}
	var db *sqldb.DB
	var err error
	args := []string{"users", "import", file}
	switch {
	case engine == "sqlite":
		dir := filepath.Join(tmp, "import-sqlite")
		os.MkdirAll(dir, 0o700)
		args = append(args, "--data-dir", dir)
		defer func() { os.RemoveAll(dir) }()
		defer func() {
			if db != nil {
				db.Close()
			}
		}()
		db, err = sqlite.Open(ctx, filepath.Join(dir, "userd.db"))
	case engine == "postgres":
		if dbURL == "" {
			c, err := dbtest.StartPG(append([]string{"shared_buffers=512MB"}, pgDurability()...)...)
			if err != nil {
				return nil, err
			}
			defer c.Stop()
			if err := c.CreateDatabase("bench_import", false); err != nil {
				return nil, err
			}
			dbURL = c.URL("bench_import")
		}
		args = append(args, "--database-url", dbURL, "--data-dir", filepath.Join(tmp, "import-pgdata"))
		db, err = postgres.Open(ctx, dbURL)
		if db != nil {
			defer db.Close()
		}
	default:
		return nil, fmt.Errorf("unknown engine")
	}
	if err != nil {
		return nil, err
	}
	if _, err := db.MigrateUp(ctx); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout = os.Stderr // the summary; the progress bars go nowhere
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("users import: %w", err)
	}
	elapsed := time.Since(start)
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM users WHERE legacy_id IS NOT NULL AND password_hash LIKE '$2a$%'`).Scan(&n); err != nil {
		return nil, err
	}
	if n != users {
		return nil, fmt.Errorf("W15: %d users stored; want %d", n, users)
	}
	rate := float64(users) / elapsed.Seconds()
	return []row{{Workload: "W15 users import", Engine: engine, result: result{Requests: int64(users), RPS: rate},
		Ratio: rate / 20_000, RatioOf: "20000/s", Target: "≥ 20,000 users/s", Holds: rate >= 20_000}}, nil
}

// importFile writes users users as JSON lines, with importHashes bcrypt
// hashes (cost 10) taken in turn.
func importFile(name string, users int) error {
	hashes := make([]string, importHashes)
	for i := range hashes {
		h, err := bcrypt.GenerateFromPassword(fmt.Appendf(nil, "password %d", i), 10)
		if err != nil {
			return err
		}
		hashes[i] = string(h)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range users {
		if err := enc.Encode(map[string]any{"legacy_id": fmt.Sprintf("legacy-%d", i), "email": fmt.Sprintf("import%d@example.com", i),
			"username": fmt.Sprintf("import%d", i), "first_name": "Import", "last_name": fmt.Sprintf("User %d", i),
			"password_hash": hashes[i%importHashes], "language": "fr", "is_beta": i%10 == 0,
			"created_at": created.Add(time.Duration(i) * time.Second).Format(time.RFC3339), "roles": []string{}}); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
