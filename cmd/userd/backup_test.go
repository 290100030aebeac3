package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// source is a migrated database of an engine, as a running userd holds
// it, and the flags that name it to a command.
type source struct {
	db   *sqldb.DB
	args []string
}

// newSource makes a migrated database of the engine.
func newSource(t *testing.T, engine string) source {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	args := []string{"--data-dir", dir}
	where := filepath.Join(dir, "userd.db")
	if engine == "postgres" {
		where = dbtest.NewPostgresURL(t, true)
		args = append(args, "--database-url", where)
	} else if err := run(ctx, append([]string{"migrate", "up"}, args...), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	db, err := dbtest.OpenAt(ctx, engine, where)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return source{db: db, args: args}
}

// emptyTarget returns the flags of an empty data folder or database of the
// engine.
func emptyTarget(t *testing.T, engine string) []string {
	args := []string{"--data-dir", filepath.Join(t.TempDir(), "restored")}
	if engine == "postgres" {
		args = append(args, "--database-url", dbtest.NewPostgresURL(t, false))
	}
	return args
}

// open opens the database that a command's flags name.
func open(t *testing.T, args []string) *sqldb.DB {
	t.Helper()
	fs := newFlagSet("test")
	var dbc dbConfig
	dbc.flags(fs)
	if err := parse(fs, args); err != nil {
		t.Fatal(err)
	}
	db, err := dbc.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// tableCounts returns the row count of every table of the database.
func tableCounts(t *testing.T, db *sqldb.DB) map[string]int {
	t.Helper()
	q := `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if db.Engine() == "postgres" {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`
	}
	rows, err := db.SQL().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	counts := map[string]int{}
	for _, table := range tables {
		counts[table] = dbtest.Count(t, db, `SELECT count(*) FROM `+table)
	}
	return counts
}

// storm runs writers that make users, follows and votes through the
// feature services until stop is closed: each of their operations holds
// gate's read lock, so that whoever holds its write lock sees no write in
// flight. ops counts the operations done.
type storm struct {
	gate sync.RWMutex
	ops  atomic.Int64
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (s *storm) start(db *sqldb.DB, writers int, seeds []userd.Actor) {
	ctx := context.Background()
	follows := social.NewService(db)
	votes := engagement.NewService(db, engagement.Deps{})
	for w := range writers {
		s.wg.Go(func() {
			var me userd.Actor
			for i := 0; ; i++ {
				select {
				case <-s.stop:
					return
				default:
				}
				s.gate.RLock()
				var err error
				switch {
				case i%3 == 0:
					me, err = makeUser(db, fmt.Sprintf("w%d-%d@storm.test", w, i))
				case i%3 == 1:
					err = follows.SetFollow(ctx, me, seeds[i%len(seeds)].UserID, true)
				default:
					err = votes.Vote(ctx, me, userd.Client{}, fmt.Sprint("item-", i%7), 1-2*(i%2))
				}
				s.gate.RUnlock()
				if err != nil {
					s.mu.Lock()
					s.errs = append(s.errs, err)
					s.mu.Unlock()
					return
				}
				s.ops.Add(1)
			}
		})
	}
}

// end stops the writers and fails t with their first error.
func (s *storm) end(t *testing.T) {
	t.Helper()
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
	if len(s.errs) > 0 {
		t.Fatalf("a writer failed: %v", s.errs[0])
	}
}

// waitOps waits until the writers have done n operations.
func (s *storm) waitOps(n int64) error {
	deadline := time.Now().Add(time.Minute)
	for s.ops.Load() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("the writers did %d operations in a minute; want %d", s.ops.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func makeUser(db *sqldb.DB, email string) (userd.Actor, error) {
	ctx := sqldb.System(context.Background())
	var u account.User
	err := db.Tx(ctx, func(tx *sqldb.Tx) (err error) {
		u, err = account.Insert(ctx, tx, account.New{Identity: account.Identity{Email: email}})
		return err
	})
	return userd.Actor{UserID: u.ID}, err
}

// TestBackupUnderWriteStorm backs a database up while writers make users,
// follows and votes through the feature services, restores the backup into
// an empty data folder or database, and finds in it one state of the
// source: every table's row count equal to the source's at the backup's
// point, and every counter equal to the rows it counts.
//
// The point is made exact by a barrier: the writers hold a read lock for
// each operation; the test takes the write lock (so no write is in flight),
// counts every table's rows, starts the backup and releases the writers as
// soon as the backup has written its first bytes, by which time its
// snapshot is fixed (SQLite's read transaction is open, pg_dump's
// REPEATABLE READ transaction has read the catalogue). The backup then
// waits, at each of its first reports of progress, until the writers have
// committed 20 more operations: the copy is made while the database
// changes under it, and must still hold the counted state, not a later
// one nor a mixture.
func TestBackupUnderWriteStorm(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			src := newSource(t, engine)
			var seeds []userd.Actor
			for i := range 8 {
				a, err := makeUser(src.db, fmt.Sprintf("seed-%d@storm.test", i))
				if err != nil {
					t.Fatal(err)
				}
				seeds = append(seeds, a)
			}
			s := &storm{stop: make(chan struct{})}
			s.start(src.db, 4, seeds)
			defer s.end(t)
			if err := s.waitOps(60); err != nil {
				t.Fatal(err)
			}

			s.gate.Lock()
			want := tableCounts(t, src.db)
			released, reports := false, 0
			var waitErr error
			progress := func(done, total int64) {
				if done == 0 || reports == 10 {
					return
				}
				reports++
				if !released {
					released = true
					s.gate.Unlock()
				}
				if err := s.waitOps(s.ops.Load() + 20); err != nil && waitErr == nil {
					waitErr = err
				}
			}
			file := filepath.Join(t.TempDir(), "userd.backup")
			bdb := open(t, src.args)
			_, err := backupTo(ctx, bdb, file, false, progress)
			if !released {
				s.gate.Unlock()
			}
			if err != nil {
				t.Fatal(err)
			}
			if waitErr != nil {
				t.Fatal(waitErr)
			}
			s.end(t)
			if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("backup file: %v, %v; want mode 0600", st, err)
			}
			after := tableCounts(t, src.db)
			if after["users"] <= want["users"] || after["votes"] <= want["votes"] {
				t.Fatalf("the source went from %d users and %d votes to %d and %d during the backup; want writes during it",
					want["users"], want["votes"], after["users"], after["votes"])
			}

			target := emptyTarget(t, engine)
			var out bytes.Buffer
			if err := run(ctx, append([]string{"restore", file}, target...), &out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "master key") || strings.Contains(out.String(), "migrate up") {
				t.Fatalf("restore said %q; want the master key named and no migration to run", out.String())
			}
			restored := open(t, target)
			got := tableCounts(t, restored)
			for table, n := range want {
				if got[table] != n {
					t.Errorf("%s: %d rows restored; want %d, the source's at the backup's point", table, got[table], n)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d tables restored; want %d", len(got), len(want))
			}
			checkCounters(t, restored)
			if engine == "postgres" {
				checkOwners(t, restored)
			}
		})
	}
}

// checkCounters checks that every follow counter and vote counter equals
// the rows it counts.
func checkCounters(t *testing.T, db *sqldb.DB) {
	t.Helper()
	if n := dbtest.Count(t, db, `SELECT count(*) FROM users u
		WHERE (SELECT COALESCE(SUM(followers_count), 0) FROM user_follow_stats s WHERE s.user_id = u.id) != (SELECT count(*) FROM user_follows f WHERE f.following_id = u.id)
		   OR (SELECT COALESCE(SUM(followings_count), 0) FROM user_follow_stats s WHERE s.user_id = u.id) != (SELECT count(*) FROM user_follows f WHERE f.follower_id = u.id)`); n != 0 {
		t.Errorf("%d users' follow counters differ from their follows", n)
	}
	if n := dbtest.Count(t, db, `SELECT count(*) FROM (SELECT item_id FROM votes UNION SELECT item_slug FROM item_stats) i
		WHERE (SELECT COALESCE(SUM(upvotes), 0) FROM item_stats s WHERE s.item_slug = i.item_id) != (SELECT count(*) FROM votes v WHERE v.item_id = i.item_id AND v.value = 1)
		   OR (SELECT COALESCE(SUM(downvotes), 0) FROM item_stats s WHERE s.item_slug = i.item_id) != (SELECT count(*) FROM votes v WHERE v.item_id = i.item_id AND v.value = -1)`); n != 0 {
		t.Errorf("%d items' vote counters differ from their votes", n)
	}
	if n := dbtest.Count(t, db, `SELECT count(*) FROM votes`); n == 0 {
		t.Error("no votes restored")
	}
}

// checkOwners checks that what a role of userd's owned is owned by it
// again after the restore, which restores no other owner.
func checkOwners(t *testing.T, db *sqldb.DB) {
	t.Helper()
	var table, fn string
	if err := db.SQL().QueryRow(`SELECT pg_get_userbyid(c.relowner), (SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'userd_collection_create_index')
		FROM pg_class c WHERE c.relname = 'collection_records'`).Scan(&table, &fn); err != nil {
		t.Fatal(err)
	}
	if table != "userd_collection_ddl" || fn != "userd_collection_ddl" {
		t.Fatalf("collection_records is owned by %s and its index function by %s; want userd_collection_ddl", table, fn)
	}
}

// backupOf backs the source up into a new file of dir and returns its
// path.
func backupOf(t *testing.T, src source, dir string) string {
	t.Helper()
	file := filepath.Join(dir, src.db.Engine()+".backup")
	if err := run(context.Background(), append([]string{"backup", file, "--quiet"}, src.args...), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestBackupRefusesToOverwrite: an existing FILE stays as it is unless
// --force, which replaces it with a backup; the master key of the data
// folder is not in it.
func TestBackupRefusesToOverwrite(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, "sqlite")
	key := "c2VjcmV0LW1hc3Rlci1rZXktb2YtdGhpcy10ZXN0LTAxMjM0NTY3ODk="
	if err := os.WriteFile(filepath.Join(src.args[1], "master.key"), []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "userd.backup")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(ctx, append([]string{"backup", file}, src.args...), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("backup over a file = %v; want a refusal naming --force", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatalf("the refused backup changed the file to %q", b)
	}
	if err := run(ctx, append([]string{"backup", "--force", file}, src.args...), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(file)
	if kind, err := backupKind(file); kind != "sqlite" || err != nil {
		t.Fatalf("the forced backup is %q, %v; want a SQLite database", kind, err)
	}
	if bytes.Contains(b, []byte(key)) {
		t.Fatal("the backup holds the master key")
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Fatalf("the forced backup has mode %v; want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Fatalf("the backup's folder holds %d files; want the backup alone (no temporary file left)", len(entries))
	}
}

// TestRestoreRefusesANonEmptyTarget: a data folder with a database, or a
// database with tables, is refused and left as it was; so is a backup of
// the other engine, and a file that is no backup.
func TestRestoreRefusesANonEmptyTarget(t *testing.T) {
	ctx := context.Background()
	files, dir := map[string]string{}, t.TempDir()
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			src := newSource(t, engine)
			if _, err := makeUser(src.db, "before@restore.test"); err != nil {
				t.Fatal(err)
			}
			file := backupOf(t, src, dir)
			files[engine] = file
			target := newSource(t, engine) // migrated: tables, and a database file
			if _, err := makeUser(target.db, "target@restore.test"); err != nil {
				t.Fatal(err)
			}
			before := tableCounts(t, target.db)
			err := run(ctx, append([]string{"restore", file}, target.args...), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), "restore refused") {
				t.Fatalf("restore into a database with tables = %v; want a refusal", err)
			}
			if diff := tableCounts(t, target.db); fmt.Sprint(diff) != fmt.Sprint(before) {
				t.Fatalf("the refused restore changed the target: %v, then %v", before, diff)
			}
			if n := dbtest.Count(t, target.db, `SELECT count(*) FROM users WHERE email = 'before@restore.test'`); n != 0 {
				t.Fatal("the refused restore wrote a row of the backup")
			}
		})
	}
	if len(files) != 2 {
		return
	}
	for _, tc := range []struct{ file, engine, want string }{
		{files["sqlite"], "postgres", "is a sqlite backup and the target is postgres"},
		{files["postgres"], "sqlite", "is a postgres backup and the target is sqlite"},
	} {
		err := run(ctx, append([]string{"restore", tc.file}, emptyTarget(t, tc.engine)...), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("restore of a backup of the other engine = %v; want %q", err, tc.want)
		}
	}
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("not a backup at all"), 0o600)
	if err := run(ctx, append([]string{"restore", junk}, emptyTarget(t, "sqlite")...), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "not a userd backup") {
		t.Errorf("restore of a file that is no backup = %v; want a refusal", err)
	}
}

// TestBackupWithoutPgDump: without pg_dump (or pg_restore) on PATH, the
// error names the program and the Debian package that has it, and leaves
// no file behind.
func TestBackupWithoutPgDump(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, "postgres")
	file := backupOf(t, src, t.TempDir()) // with PATH as it is
	t.Setenv("PATH", "")
	out := filepath.Join(t.TempDir(), "userd.backup")
	err := run(ctx, append([]string{"backup", out}, src.args...), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "pg_dump") || !strings.Contains(err.Error(), "postgresql-client") {
		t.Fatalf("backup without pg_dump = %v; want an error naming pg_dump and postgresql-client", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Fatalf("the failed backup left %d files", len(entries))
	}
	err = run(ctx, append([]string{"restore", file}, emptyTarget(t, "postgres")...), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "pg_restore") || !strings.Contains(err.Error(), "postgresql-client") {
		t.Fatalf("restore without pg_restore = %v; want an error naming pg_restore and postgresql-client", err)
	}
}

// TestRestoreOfAnOlderSchema: a backup made before the latest migration
// restores, and the command says to run `userd migrate up`.
func TestRestoreOfAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, "sqlite")
	if _, err := src.db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	file := backupOf(t, src, t.TempDir())
	var out bytes.Buffer
	if err := run(ctx, append([]string{"restore", file}, emptyTarget(t, "sqlite")...), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "run `userd migrate up`") {
		t.Fatalf("restore of an older schema said %q; want it to say to run userd migrate up", out.String())
	}
}

// TestBackupChecksPgDumpAndRole: a pg_dump older than the server, or a
// role that row-level security hides rows from, is refused with what to
// do, before anything is dumped.
func TestBackupChecksPgDumpAndRole(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, "postgres")
	out := filepath.Join(t.TempDir(), "userd.backup")

	plain := strings.Replace(src.args[3], "postgres@", "backup_plain@", 1)
	if _, err := dbtest.Cluster(t).AdminDB().Exec(`CREATE ROLE backup_plain LOGIN`); err != nil {
		t.Fatal(err)
	}
	err := run(ctx, []string{"backup", out, "--database-url", plain}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "BYPASSRLS") {
		t.Fatalf("backup as a role without BYPASSRLS = %v; want an error naming BYPASSRLS", err)
	}

	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "pg_dump"), []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	err = run(ctx, append([]string{"backup", out}, src.args...), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "pg_dump is version 9, older than the server's") {
		t.Fatalf("backup with an old pg_dump = %v; want an error saying it is older than the server", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a refused backup wrote its file")
	}
}
