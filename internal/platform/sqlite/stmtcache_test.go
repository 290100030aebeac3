package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStatementCache: a statement run again while its rows are open, a
// statement dropped from the cache while its rows are open, and a statement
// whose table changes all give the rows a fresh one would.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := openCached("file:" + filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: every statement shares its cache
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT v FROM t ORDER BY v`
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for rows.Next() {
		var v, inner int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
		// The same SQL while its statement is running, then enough other
		// statements to push it out of the cache.
		if err := tx.QueryRowContext(ctx, q).Scan(&inner); err != nil || inner != 1 {
			t.Fatalf("nested run = %d, %v", inner, err)
		}
		for i := range cachedStatements + 1 {
			var n int
			if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) + %d FROM t`, i)).Scan(&n); err != nil || n != 3+i {
				t.Fatalf("filler %d = %d, %v", i, n, err)
			}
		}
	}
	if err := rows.Err(); err != nil || fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("rows = %v, %v", got, err)
	}
	rows.Close()
	// A statement cached before its table changes sees the change.
	const all = `SELECT * FROM t WHERE v = ?`
	var v int
	if err := tx.QueryRowContext(ctx, all, 2).Scan(&v); err != nil || v != 2 {
		t.Fatalf("before ALTER = %d, %v", v, err)
	}
	if _, err := tx.ExecContext(ctx, `ALTER TABLE t ADD COLUMN w INTEGER NOT NULL DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var v, w int
		if err := tx.QueryRowContext(ctx, all, 2).Scan(&v, &w); err != nil || v != 2 || w != 7 {
			t.Fatalf("after ALTER = %d %d, %v", v, w, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE t SET w = v * 10`); err != nil {
		t.Fatal(err)
	}
	var w int
	if err := tx.QueryRowContext(ctx, `SELECT w FROM t WHERE v = ?`, 3).Scan(&w); err != nil || w != 30 {
		t.Fatalf("w = %d, %v", w, err)
	}
}
