package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"modernc.org/sqlite"

	"github.com/userd/userd/internal/platform/sqldb"
)

// stepPages is how many pages one step of a backup copies: 1 MiB at
// SQLite's default page size, between two reports of progress.
const stepPages = 256

// backuper is the part of modernc's connection that starts an online
// backup.
type backuper interface {
	NewBackup(dst string) (*sqlite.Backup, error)
}

// Backup copies the database, page by page, into the empty file at path
// with SQLite's online backup API. The copy reads within one read
// transaction of its own connection, begun before the first page: in WAL
// mode, writers go on meanwhile and the copy is the state of the database
// at that transaction's start, never restarted by their commits.
func (d *dialect) Backup(ctx context.Context, path string, progress sqldb.Progress) error {
	conn, err := d.read.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	// BEGIN is deferred: the first read takes the snapshot.
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	var pages, pageSize int64
	if err := conn.QueryRowContext(ctx, "SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()").Scan(&pages, &pageSize); err != nil {
		return fmt.Errorf("read page count: %w", err)
	}
	progress(0, pages*pageSize)
	if err := conn.Raw(func(dc any) error {
		sc, ok := dc.(*stmtConn)
		if !ok {
			return fmt.Errorf("unexpected connection %T", dc)
		}
		b, ok := sc.innerConn.(backuper)
		if !ok {
			return fmt.Errorf("the driver's connection %T cannot back up", sc.innerConn)
		}
		return step(ctx, b, path, pageSize, progress)
	}); err != nil {
		return err
	}
	return standalone(ctx, path)
}

// standalone takes the copy at path out of WAL mode, which the backup
// copied from the source's header: the file then stands alone, readable
// without a -wal or -shm file beside it.
func standalone(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("open the copy: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=DELETE"); err != nil {
		return fmt.Errorf("take the copy out of WAL mode: %w", err)
	}
	return db.Close()
}

// step runs a backup of b's database into path, stepPages at a time.
func step(ctx context.Context, b backuper, path string, pageSize int64, progress sqldb.Progress) (err error) {
	bk, err := b.NewBackup(path)
	if err != nil {
		return fmt.Errorf("start backup: %w", err)
	}
	defer func() {
		if e := bk.Finish(); e != nil && err == nil {
			err = fmt.Errorf("finish backup: %w", e)
		}
	}()
	for more := true; more; {
		if err := ctx.Err(); err != nil {
			return err
		}
		if more, err = bk.Step(stepPages); err != nil {
			return fmt.Errorf("copy pages: %w", err)
		}
		total := int64(bk.PageCount())
		progress((total-int64(bk.Remaining()))*pageSize, total*pageSize)
	}
	return nil
}

// ErrNotEmpty is what Restore returns when a database is at its path
// already.
var ErrNotEmpty = errors.New("a database is there already")

// Restore copies the SQLite backup at src to path, where no database may
// be yet (an empty file is none), through a temporary file in path's
// folder that it syncs and renames: path never holds half a database. It
// checks that the copy is an intact SQLite database before it renames it.
// progress, when not nil, hears the bytes copied. It returns ErrNotEmpty.
func Restore(ctx context.Context, src, path string, progress sqldb.Progress) (err error) {
	if err := vacant(path); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".restore-*.db")
	if err != nil {
		return fmt.Errorf("temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	_, err = io.Copy(tmp, progress.Reader(in, st.Size()))
	if err == nil {
		err = tmp.Sync()
	}
	if e := tmp.Close(); err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := check(ctx, tmp.Name()); err != nil {
		return err
	}
	if err := vacant(path); err != nil { // once more: the copy took time
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	return sqldb.SyncDir(filepath.Dir(path))
}

// vacant returns ErrNotEmpty when a database, or its write-ahead log, is
// at path.
func vacant(path string) error {
	for _, p := range []string{path, path + "-wal"} {
		st, err := os.Stat(p)
		if err == nil && st.Size() > 0 {
			return fmt.Errorf("%s: %w", p, ErrNotEmpty)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// check opens the database at path alone (no other connection knows it
// yet) and runs SQLite's quick_check on it.
func check(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("open the copy: %w", err)
	}
	defer db.Close()
	var verdict string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&verdict); err != nil {
		return fmt.Errorf("check the copy: %w", err)
	}
	if verdict != "ok" {
		return fmt.Errorf("the copy is damaged: %s", verdict)
	}
	return nil
}
