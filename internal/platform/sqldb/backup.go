package sqldb

import (
	"context"
	"fmt"
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
