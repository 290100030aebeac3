package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/userd/userd/internal/platform/postgres"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/sqlite"
)

// fileArgs parses a command's flags around its one FILE argument, which
// may come before or after them, and returns FILE.
func fileArgs(fs *flag.FlagSet, args []string, usage string) (string, error) {
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return "", err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
		if err := parse(fs, fs.Args()[1:]); err != nil {
			return "", err
		}
	}
	if file == "" || fs.NArg() > 0 {
		return "", fmt.Errorf("usage: %s", usage)
	}
	return file, nil
}

// progressTo returns a progress bar of bytes on stderr, or nil when quiet
// or when stderr is not a terminal.
func progressTo(quiet bool, what string) sqldb.Progress {
	if quiet || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(done, total int64) {
		if bar == nil {
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription(what),
				progressbar.OptionShowBytes(true), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
		}
		if total != bar.GetMax64() {
			bar.ChangeMax64(total)
		}
		bar.Set64(done)
		if done == total {
			bar.Finish()
		}
	}
}

const backupUsage = "userd backup FILE [--force] [--quiet] [--data-dir DIR] [--database-url URL]"

// backup writes a consistent copy of the database to FILE.
func backup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("backup")
	var dbc dbConfig
	dbc.flags(fs)
	force := fs.Bool("force", false, "replace FILE when it exists (only on the command line: no variable gives it)")
	quiet := fs.Bool("quiet", false, "no progress bar on stderr (there is none either when stderr is not a terminal) (env USERD_QUIET)")
	file, err := fileArgs(fs, args, backupUsage)
	if err != nil {
		return err
	}
	if dbc.databaseURL == "" {
		if _, err := os.Stat(filepath.Join(dbc.dataDir, "userd.db")); err != nil {
			return fmt.Errorf("no database to back up in the data folder %s: %w", dbc.dataDir, err)
		}
	}
	db, err := dbc.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	size, err := backupTo(ctx, db, file, *force, progressTo(*quiet, "backing up"))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up the %s database to %s (%d bytes)\n", db.Engine(), file, size)
	fmt.Fprintln(stdout, "the master key is not in the backup: keep a copy of it apart (see the README's \"Backup and restore\")")
	return nil
}

// backupTo writes a consistent copy of db to file, atomically: into a
// temporary file of file's folder (mode 0600), synced, then renamed to
// file; it refuses to replace file unless force. It returns the copy's
// size.
func backupTo(ctx context.Context, db *sqldb.DB, file string, force bool, progress sqldb.Progress) (size int64, err error) {
	if _, err := os.Lstat(file); err == nil && !force {
		return 0, fmt.Errorf("%s exists: pass --force to replace it", file)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("backup file: %w", err)
	}
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if err := db.Backup(ctx, tmp.Name(), progress); err != nil {
		return 0, err
	}
	if size, err = syncFile(tmp.Name()); err != nil {
		return 0, err
	}
	if progress != nil { // ends a bar whose total was unknown (pg_dump's)
		progress(size, size)
	}
	if force {
		err = os.Rename(tmp.Name(), file)
	} else if err = os.Link(tmp.Name(), file); err == nil { // fails when file appeared meanwhile
		err = os.Remove(tmp.Name())
	}
	if err != nil {
		return 0, fmt.Errorf("move the backup into place: %w", err)
	}
	return size, sqldb.SyncDir(filepath.Dir(file))
}

// syncFile makes the file at path mode 0600 and durable, and returns its
// size.
func syncFile(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("sync %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}

// The headers that tell a backup's engine.
var (
	sqliteHeader = []byte("SQLite format 3\x00")
	pgDumpHeader = []byte("PGDMP")
)

// backupKind returns the engine of the backup at file: "sqlite" or
// "postgres".
func backupKind(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, _ := io.ReadFull(f, head)
	switch {
	case bytes.HasPrefix(head[:n], sqliteHeader):
		return "sqlite", nil
	case bytes.HasPrefix(head[:n], pgDumpHeader):
		return "postgres", nil
	}
	return "", fmt.Errorf("%s is not a userd backup: neither a SQLite database nor a pg_dump custom-format archive", file)
}

const restoreUsage = "userd restore FILE [--quiet] [--data-dir DIR] [--database-url URL]"

// restore loads a backup into an empty data folder or database.
func restore(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("restore")
	var dbc dbConfig
	dbc.flags(fs)
	quiet := fs.Bool("quiet", false, "no progress bar on stderr (there is none either when stderr is not a terminal) (env USERD_QUIET)")
	file, err := fileArgs(fs, args, restoreUsage)
	if err != nil {
		return err
	}
	kind, err := backupKind(file)
	if err != nil {
		return err
	}
	progress := progressTo(*quiet, "restoring")
	target := "sqlite"
	if dbc.databaseURL != "" {
		target = "postgres"
	}
	if kind != target {
		return fmt.Errorf("%s is a %s backup and the target is %s: userd restores a backup into the engine that made it", file, kind, target)
	}
	if target == "postgres" {
		err = postgres.Restore(ctx, dbc.directURL(), file, progress)
		if errors.Is(err, postgres.ErrNotEmpty) {
			return fmt.Errorf("restore refused: %w; restore into an empty database (or an empty schema)", err)
		}
	} else {
		if err := os.MkdirAll(dbc.dataDir, 0o700); err != nil {
			return fmt.Errorf("create data folder: %w", err)
		}
		err = sqlite.Restore(ctx, file, filepath.Join(dbc.dataDir, "userd.db"), progress)
		if errors.Is(err, sqlite.ErrNotEmpty) {
			return fmt.Errorf("restore refused: %w; restore into a data folder without a database (its master key may be there)", err)
		}
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", file, err)
	}
	return checkRestored(ctx, dbc, file, stdout)
}

// checkRestored checks that the restored schema is one this binary knows,
// and says what to do when it is not.
func checkRestored(ctx context.Context, dbc dbConfig, file string, stdout io.Writer) error {
	db, err := dbc.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var rows int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&rows); err != nil {
		return fmt.Errorf("restored %s, but it holds no userd schema (goose_db_version): %w", file, err)
	}
	applied, err := db.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	latest, err := db.LatestMigration()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into the %s database; its schema is at migration %05d\n", file, db.Engine(), applied)
	switch {
	case applied > latest:
		return fmt.Errorf("the restored schema is at migration %05d, newer than this userd knows (%05d): run the userd version that made the backup, or a later one", applied, latest)
	case applied < latest:
		fmt.Fprintf(stdout, "this userd knows migrations up to %05d: run `userd migrate up` before `userd serve`\n", latest)
	}
	fmt.Fprintln(stdout, "the master key is not in the backup: put the one it was made with back (DATA_DIR/master.key, --master-key-file or USERD_MASTER_KEY) before serving")
	return nil
}
