package sqldb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestSnapshot: the Views within a Snapshot, in the system's scope and a
// user's, read the state of its first read, though a write commits in
// between; a Tx within it is refused; after it, a View reads the write.
func TestSnapshot(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		count := func(ctx context.Context) (n int) {
			t.Helper()
			if err := db.View(ctx, func(tx *sqldb.Tx) error {
				return tx.QueryRow(ctx, `SELECT count(*) FROM permissions`).Scan(&n)
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := count(sqldb.System(ctx))
		err := db.Snapshot(sqldb.System(ctx), func(sctx context.Context) error {
			if n := count(sctx); n != before {
				t.Errorf("first read in the snapshot = %d, want %d", n, before)
			}
			// Committed outside the snapshot (its context is not sctx).
			if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO permissions (id, key) VALUES ('01a23600-0000-7000-8000-000000000001', 'snap:test')`)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if n := count(sctx); n != before {
				t.Errorf("read after a write, in the snapshot = %d, want %d", n, before)
			}
			if n := count(sqldb.AsUser(sctx, "01a23600-0000-7000-8000-0000000000aa")); n != before {
				t.Errorf("read in a user's scope, in the snapshot = %d, want %d", n, before)
			}
			if err := db.Tx(sctx, func(*sqldb.Tx) error { return nil }); !errors.Is(err, sqldb.ErrInSnapshot) {
				t.Errorf("a Tx in the snapshot = %v, want ErrInSnapshot", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(sqldb.System(ctx)); n != before+1 {
			t.Errorf("after the snapshot = %d, want %d", n, before+1)
		}
	})
}
