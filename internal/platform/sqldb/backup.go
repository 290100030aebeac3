package sqldb

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Progress hears how far a long copy has got: done of total bytes, total
// -1 while it is unknown. It is called from the copying goroutine, which
// waits for it to return.
type Progress func(done, total int64)

// Backup writes a consistent copy of the database to the empty file at
// path: one state of it, as it was at the moment the copy began, however
// much others write meanwhile. SQLite's copy is a database file (its
// online backup API, within one read transaction); PostgreSQL's is
// pg_dump's custom format. progress, when not nil, hears how far the copy
// has got. The copy holds the database alone: no master key, no other file
// of the data folder.
func (db *DB) Backup(ctx context.Context, path string, progress Progress) error {
	if progress == nil {
		progress = func(int64, int64) {}
	}
	if err := db.dialect.Backup(ctx, path, progress); err != nil {
		return fmt.Errorf("back up %s: %w", db.dialect.Name(), err)
	}
	return nil
}

// Reader returns a reader of r that tells p how many of total bytes
// (-1 when unknown) it has read; r itself when p is nil.
func (p Progress) Reader(r io.Reader, total int64) io.Reader {
	if p == nil {
		return r
	}
	return &counting{r: r, total: total, progress: p}
}

// Writer returns a writer to w that tells p how many bytes it has
// written, of a total unknown; w itself when p is nil.
func (p Progress) Writer(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return &counting{w: w, total: -1, progress: p}
}

// counting reads from r or writes to w, and tells progress how many bytes
// went through.
type counting struct {
	r           io.Reader
	w           io.Writer
	done, total int64
	progress    Progress
}

func (c *counting) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.add(n)
	return n, err
}

func (c *counting) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.add(n)
	return n, err
}

func (c *counting) add(n int) {
	if n > 0 {
		c.done += int64(n)
		c.progress(c.done, c.total)
	}
}

// SyncDir makes a rename in dir durable (a backup's or a restore's).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
