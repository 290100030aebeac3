package sqldb_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// catalog is what a migrated database's schema holds, in terms both engines
// share: every table's columns (name, nullability, logical type) and
// primary key, its indexes by name (their columns, expressions as "<expr>",
// and whether unique), its unique constraints by columns, and its foreign
// keys with their on-delete rule.
type catalog map[string]table

type table struct {
	Columns     []column
	PrimaryKey  []string
	Indexes     []index
	Unique      [][]string // unique constraints of the table's definition
	ForeignKeys []foreignKey
}

type column struct {
	Name    string
	NotNull bool
	Type    string // text, bytes, time, date, bool, int
}

type index struct {
	Name    string
	Columns []string
	Unique  bool
	Partial bool
}

type foreignKey struct {
	Columns  []string
	Table    string
	Refs     []string
	OnDelete string // NO ACTION, RESTRICT, CASCADE, SET NULL, SET DEFAULT
}

// logical maps an engine's declared type to the type the code sees. JSON is
// text on SQLite and jsonb on PostgreSQL; ids are text on SQLite and uuid
// on PostgreSQL: both read and write as strings.
func logical(declared string) (string, error) {
	switch strings.ToLower(declared) {
	case "text", "uuid", "jsonb", "character varying":
		return "text", nil
	case "blob", "bytea":
		return "bytes", nil
	case "timestamp", "timestamp with time zone":
		return "time", nil
	case "date":
		return "date", nil
	case "boolean":
		return "bool", nil
	case "integer", "bigint", "smallint":
		return "int", nil
	case "real", "double precision":
		return "float", nil
	}
	return "", fmt.Errorf("no logical type for %q", declared)
}

// TestSchemasMatch migrates both engines and compares their catalogues:
// the tables, columns, nullability, types, primary keys, indexes, unique
// keys and foreign keys with their on-delete rules must be the same, so that
// the two sets of migrations describe one schema.
func TestSchemasMatch(t *testing.T) {
	lite, err := sqliteCatalog(dbtest.Open(t, "sqlite").SQL())
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgresCatalog(dbtest.Open(t, "postgres").SQL())
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) < 20 {
		t.Fatalf("the SQLite catalogue has %d tables", len(lite))
	}
	if diff := cmp.Diff(lite, pg); diff != "" {
		t.Errorf("the engines' schemas differ (-sqlite +postgres):\n%s", diff)
	}
}

// strings1 returns the first column of every row.
func strings1(db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// normalise sorts what has no order of its own.
func (t *table) normalise() {
	slices.SortFunc(t.Columns, func(a, b column) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(t.Indexes, func(a, b index) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(t.Unique, func(a, b []string) int { return slices.Compare(a, b) })
	slices.SortFunc(t.ForeignKeys, func(a, b foreignKey) int {
		return strings.Compare(a.Table+strings.Join(a.Columns, ","), b.Table+strings.Join(b.Columns, ","))
	})
}

func sqliteCatalog(db *sql.DB) (catalog, error) {
	names, err := strings1(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`)
	if err != nil {
		return nil, err
	}
	out := catalog{}
	for _, name := range names {
		t, err := sqliteTable(db, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		t.normalise()
		out[name] = t
	}
	return out, nil
}

func sqliteTable(db *sql.DB, name string) (table, error) {
	var t table
	rows, err := db.Query(`SELECT name, type, "notnull", pk FROM pragma_table_info($1) ORDER BY pk`, name)
	if err != nil {
		return t, err
	}
	for rows.Next() {
		var c column
		var declared string
		var pk int
		if err := rows.Scan(&c.Name, &declared, &c.NotNull, &pk); err != nil {
			rows.Close()
			return t, err
		}
		if c.Type, err = logical(declared); err != nil {
			rows.Close()
			return t, fmt.Errorf("%s: %w", c.Name, err)
		}
		if pk > 0 {
			t.PrimaryKey = append(t.PrimaryKey, c.Name)
			c.NotNull = true // SQLite does not say so of a primary key
		}
		t.Columns = append(t.Columns, c)
	}
	rows.Close()
	idx, err := db.Query(`SELECT name, "unique", origin, partial FROM pragma_index_list($1)`, name)
	if err != nil {
		return t, err
	}
	type listed struct {
		name, origin string
		unique       bool
		partial      bool
	}
	var all []listed
	for idx.Next() {
		var l listed
		if err := idx.Scan(&l.name, &l.unique, &l.origin, &l.partial); err != nil {
			idx.Close()
			return t, err
		}
		all = append(all, l)
	}
	idx.Close()
	for _, l := range all {
		cols, err := strings1(db, `SELECT COALESCE(name, '<expr>') FROM pragma_index_xinfo($1) WHERE key = 1 ORDER BY seqno`, l.name)
		if err != nil {
			return t, err
		}
		switch l.origin {
		case "pk":
		case "u":
			t.Unique = append(t.Unique, cols)
		default:
			t.Indexes = append(t.Indexes, index{Name: l.name, Columns: cols, Unique: l.unique, Partial: l.partial})
		}
	}
	fks, err := db.Query(`SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list($1) ORDER BY id, seq`, name)
	if err != nil {
		return t, err
	}
	defer fks.Close()
	byID := map[int]*foreignKey{}
	var order []int
	for fks.Next() {
		var id int
		var ref, from string
		var to sql.NullString
		var onDelete string
		if err := fks.Scan(&id, &ref, &from, &to, &onDelete); err != nil {
			return t, err
		}
		fk, ok := byID[id]
		if !ok {
			fk = &foreignKey{Table: ref, OnDelete: onDelete}
			byID[id] = fk
			order = append(order, id)
		}
		fk.Columns = append(fk.Columns, from)
		fk.Refs = append(fk.Refs, to.String)
	}
	for _, id := range order {
		t.ForeignKeys = append(t.ForeignKeys, *byID[id])
	}
	return t, fks.Err()
}

func postgresCatalog(db *sql.DB) (catalog, error) {
	names, err := strings1(db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version'`)
	if err != nil {
		return nil, err
	}
	out := catalog{}
	for _, name := range names {
		t, err := postgresTable(db, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		t.normalise()
		out[name] = t
	}
	return out, nil
}

// onDelete names PostgreSQL's confdeltype codes as SQLite does.
var onDelete = map[string]string{"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

func postgresTable(db *sql.DB, name string) (table, error) {
	var t table
	rows, err := db.Query(`SELECT column_name, is_nullable = 'NO', data_type FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = $1`, name)
	if err != nil {
		return t, err
	}
	for rows.Next() {
		var c column
		var declared string
		if err := rows.Scan(&c.Name, &c.NotNull, &declared); err != nil {
			rows.Close()
			return t, err
		}
		if c.Type, err = logical(declared); err != nil {
			rows.Close()
			return t, fmt.Errorf("%s: %w", c.Name, err)
		}
		t.Columns = append(t.Columns, c)
	}
	rows.Close()
	// Every index with its kind: the primary key, a unique constraint
	// (which PostgreSQL keeps as an index named for the constraint), or an
	// index of its own.
	idx, err := db.Query(`SELECT i.relname, x.indisunique, x.indisprimary, x.indpred IS NOT NULL,
			EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype = 'u'),
			array_to_string(ARRAY(SELECT CASE WHEN x.indkey[k] = 0 THEN '<expr>' ELSE (SELECT attname FROM pg_attribute
				WHERE attrelid = x.indrelid AND attnum = x.indkey[k]) END
				FROM generate_subscripts(x.indkey, 1) k WHERE k < x.indnkeyatts ORDER BY k), ',')
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class r ON r.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = 'public' AND r.relname = $1`, name)
	if err != nil {
		return t, err
	}
	for idx.Next() {
		var ix index
		var primary, constraint bool
		var list string
		if err := idx.Scan(&ix.Name, &ix.Unique, &primary, &ix.Partial, &constraint, &list); err != nil {
			idx.Close()
			return t, err
		}
		cols := strings.Split(list, ",")
		ix.Columns = cols
		switch {
		case primary:
			t.PrimaryKey = cols
		case constraint:
			t.Unique = append(t.Unique, cols)
		default:
			t.Indexes = append(t.Indexes, ix)
		}
	}
	idx.Close()
	fks, err := db.Query(`SELECT f.relname, c.confdeltype,
			array_to_string(ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i), ','),
			array_to_string(ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i), ',')
		FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_class f ON f.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = r.relnamespace WHERE c.contype = 'f' AND n.nspname = 'public' AND r.relname = $1`, name)
	if err != nil {
		return t, err
	}
	defer fks.Close()
	for fks.Next() {
		var fk foreignKey
		var code, cols, refs string
		if err := fks.Scan(&fk.Table, &code, &cols, &refs); err != nil {
			return t, err
		}
		fk.Columns, fk.Refs = strings.Split(cols, ","), strings.Split(refs, ",")
		fk.OnDelete = onDelete[code]
		t.ForeignKeys = append(t.ForeignKeys, fk)
	}
	return t, fks.Err()
}
