package postgres_test

import (
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestEveryTableHasAComment fails when a table of the public schema has no
// COMMENT ON TABLE (goose's own version table excepted), and when a column
// that holds bytes (a hash, a sealed secret, a key) or JSON has no COMMENT
// ON COLUMN: what such a column holds, and in what shape, cannot be told
// from its name. So a new table, or such a new column, must say what it is
// (migration 00040 documents those that existed before).
func TestEveryTableHasAComment(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	rows, err := db.SQL().Query(`SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'goose_db_version'
		  AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''
		ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			t.Fatal(err)
		}
		t.Errorf("table %s has no comment: add COMMENT ON TABLE %s IS '...' to its migration", table, table)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	var tables int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'goose_db_version'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables < 50 {
		t.Fatalf("found only %d tables in the public schema", tables)
	}

	cols, err := db.SQL().Query(`SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'goose_db_version'
		  AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid IN ('bytea'::regtype, 'jsonb'::regtype, 'json'::regtype)
		  AND coalesce(col_description(c.oid, a.attnum), '') = ''
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		t.Fatal(err)
	}
	defer cols.Close()
	for cols.Next() {
		var table, column, typ string
		if err := cols.Scan(&table, &column, &typ); err != nil {
			t.Fatal(err)
		}
		t.Errorf("column %s.%s (%s) has no comment: say what it holds (COMMENT ON COLUMN %s.%s IS '...')", table, column, typ, table, column)
	}
	if err := cols.Err(); err != nil {
		t.Fatal(err)
	}
}
