package sqldb_test

import (
	"context"
	"slices"
	"testing"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestIn: In's condition finds the rows whose column is one of the keys,
// one key or several, after other parameters; on PostgreSQL its text is the
// same whatever the number of keys. (Keys of bytes are every session
// lookup's: see the auth package.)
func TestIn(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := sqldb.System(context.Background())
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO permissions (id, key) VALUES
				('01a23600-0000-7000-8000-0000000000a1', 'in:a'), ('01a23600-0000-7000-8000-0000000000a2', 'in:b'),
				('01a23600-0000-7000-8000-0000000000a3', 'in:c')`); err != nil {
				return err
			}
			keys := func(want ...string) []string {
				cond, args := sqldb.In(tx, "key", 2, want)
				got, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT key FROM permissions WHERE key LIKE $1 AND `+cond+` ORDER BY key`,
					append([]any{"in:%"}, args...)...)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			if got := keys("in:b"); !slices.Equal(got, []string{"in:b"}) {
				t.Errorf("one key: %v", got)
			}
			if got := keys("in:c", "in:a", "in:z"); !slices.Equal(got, []string{"in:a", "in:c"}) {
				t.Errorf("three keys: %v", got)
			}
			one, _ := sqldb.In(tx, "key", 1, []string{"a"})
			three, _ := sqldb.In(tx, "key", 1, []string{"a", "b", "c"})
			if pg := db.Engine() == "postgres"; pg != (one == three) {
				t.Errorf("conditions %q and %q (PostgreSQL: one text)", one, three)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestRows: Rows's query inserts its rows, NULLs and JSON included, after
// other parameters, and a CTE reads them by name; on PostgreSQL its text is
// the same whatever the number of rows.
func TestRows(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := sqldb.System(context.Background())
		types := []string{"uuid", "text", "jsonb"}
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			values, args := sqldb.Rows(tx, 2, types, [][]any{
				{"01a23600-0000-7000-8000-0000000000b1", "rows.one", `{"n":1}`},
				{"01a23600-0000-7000-8000-0000000000b2", "rows.two", `{}`},
			})
			if _, err := tx.Exec(ctx, `WITH v (id, action, metadata) AS (`+values+`)
				INSERT INTO activity_logs (id, action, metadata, created_at) SELECT id, action, metadata, $1 FROM v`, append([]any{tx.Now}, args...)...); err != nil {
				return err
			}
			got, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT action || ' ' || COALESCE(target_id, '-') FROM activity_logs WHERE action LIKE 'rows.%' ORDER BY id`)
			if err != nil {
				return err
			}
			if want := []string{"rows.one -", "rows.two -"}; !slices.Equal(got, want) {
				t.Errorf("inserted %v, want %v", got, want)
			}
			values, args = sqldb.Rows(tx, 1, []string{"text", "text", "bigint", "timestamptz"},
				[][]any{{"a", nil, 1, tx.Now}, {"b", "x", int64(2), nil}, {"c", nil, nil, tx.Now}})
			got, err = sqldb.All(ctx, tx, sqldb.ScanString, `WITH v (k, x, n, at) AS (`+values+`)
				SELECT k || ' ' || COALESCE(n, 0) || ' ' || CASE WHEN at IS NULL THEN 'none' ELSE 'at' END FROM v WHERE x IS NULL ORDER BY k`, args...)
			if err != nil {
				return err
			}
			if want := []string{"a 1 at", "c 0 at"}; !slices.Equal(got, want) {
				t.Errorf("rows whose x is NULL: %v, want %v", got, want)
			}
			// SQLite binds a column that every row shares once.
			if _, args := sqldb.Rows(tx, 1, []string{"text", "timestamptz"}, [][]any{{"a", tx.Now}, {"b", tx.Now}}); db.Engine() == "sqlite" && len(args) != 3 {
				t.Errorf("two rows that share a column bind %d arguments, want 3", len(args))
			}
			one, _ := sqldb.Rows(tx, 1, types, [][]any{{"", "", ""}})
			three, _ := sqldb.Rows(tx, 1, types, [][]any{{"", "", ""}, {"", "", ""}, {"", "", ""}})
			if pg := db.Engine() == "postgres"; pg != (one == three) {
				t.Errorf("queries %q and %q (PostgreSQL: one text)", one, three)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
