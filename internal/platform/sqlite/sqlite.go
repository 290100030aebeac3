// Package sqlite is userd's embedded engine: SQLite through the pure-Go
// modernc.org/sqlite driver, in WAL mode with foreign keys on, one writer
// connection and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/userd/userd/internal/platform/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// openCached returns a pool of connections to dsn that keep their prepared
// statements.
func openCached(dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(stmtConnector{c}), nil
}

// Open opens (creating it if needed) the SQLite database file at path. A
// new file is readable and writable by its owner only (0600), and so are
// its -wal and -shm files, which SQLite makes with the database's mode.
func Open(ctx context.Context, path string) (*sqldb.DB, error) {
	if err := create(path); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	pragmas := url.Values{}
	for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)"} {
		pragmas.Add("_pragma", p)
	}
	pragmas.Set("_time_format", "sqlite")
	base := "file:" + path + "?"

	write, err := openCached(base + pragmas.Encode() + "&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One writer: SQLite takes one write lock at a time anyway, and a single
	// connection queues writers in Go instead of in busy-wait loops.
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	pragmas.Add("_pragma", "query_only(1)")
	read, err := openCached(base + pragmas.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	d := &dialect{read: read}
	return sqldb.New(write, read, d), nil
}

// create makes the file at path with mode 0600, unless it exists.
func create(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// EnterScope does nothing: SQLite has no roles, and the stores filter on
// user_id themselves.
func (d *dialect) EnterScope(context.Context, *sqldb.Tx, sqldb.Scope) error { return nil }

// SnapshotIsolation is the default: in WAL mode, a read transaction reads
// the state of its first read until it ends.
func (d *dialect) SnapshotIsolation() sql.IsolationLevel { return sql.LevelDefault }

type dialect struct {
	read    *sql.DB
	indexes sync.Map // "table.col, table.col" → unique index name

	mu        sync.Mutex
	listeners map[string]map[*func(string)]struct{}
}

// Notify delivers payload to this process's listeners after the commit:
// SQLite serves one process.
func (d *dialect) Notify(_ context.Context, tx *sqldb.Tx, channel, payload string) error {
	tx.AfterCommit(func() {
		d.mu.Lock()
		var fns []func(string)
		for f := range d.listeners[channel] {
			fns = append(fns, *f)
		}
		d.mu.Unlock()
		for _, f := range fns {
			f(payload)
		}
	})
	return nil
}

// Retryable is false: one writer at a time leaves nothing to retry.
func (*dialect) Retryable(error) bool { return false }

// Shared is false: a notification reaches the listeners of this process.
func (*dialect) Shared() bool { return false }

// WritingWith is false: SQLite's WITH clauses only read.
func (*dialect) WritingWith() bool { return false }

// ArrayParams is false: SQLite has no arrays.
func (*dialect) ArrayParams() bool { return false }

// PositionQueries are empty: SQLite has no replicas.
func (*dialect) PositionQueries() (written, replayed string) { return "", "" }

// ParsePosition refuses: SQLite has no replicas.
func (*dialect) ParsePosition(string) (uint64, error) {
	return 0, errors.New("sqlite has no replicas")
}

// Unavailable is false: the database is a file of this process.
func (*dialect) Unavailable(error) bool { return false }

// JSONField reads a key with json_extract, which returns SQLite's own
// types: text, integer or real, and 1 or 0 for true and false.
func (*dialect) JSONField(column, key string, _ sqldb.JSONKind) string {
	return "json_extract(" + column + ", '$." + key + "')"
}

// CollectionIndex makes or drops the index itself.
func (d *dialect) CollectionIndex(ix sqldb.CollectionIndex, drop bool) (string, []any) {
	if drop {
		return `DROP INDEX ` + ix.Name, nil
	}
	unique := ""
	if ix.Kind == "u" {
		unique = "UNIQUE "
	}
	return "CREATE " + unique + "INDEX " + ix.Name + " ON collection_records (" + ix.Columns(d) + ") WHERE collection = '" + ix.Collection + "'", nil
}

// LockName takes nothing: a SQLite write transaction holds the database's
// one write lock from its start.
func (*dialect) LockName(context.Context, *sqldb.Tx, string, bool) error { return nil }

// LockRow only checks that the row exists: a SQLite write transaction holds
// the database's one write lock from its start.
func (*dialect) LockRow(ctx context.Context, tx *sqldb.Tx, table, idColumn, id string) (bool, error) {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE `+idColumn+` = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// LockWrites does nothing: a SQLite write transaction holds the database's
// one write lock from its start.
func (*dialect) LockWrites(context.Context, *sqldb.Tx, string) error { return nil }

// Listen registers fn until ctx ends. It never misses a payload: they do not
// leave the process.
func (d *dialect) Listen(ctx context.Context, channel string, fn func(string), connected func(bool)) error {
	d.mu.Lock()
	if d.listeners == nil {
		d.listeners = map[string]map[*func(string)]struct{}{}
	}
	if d.listeners[channel] == nil {
		d.listeners[channel] = map[*func(string)]struct{}{}
	}
	key := &fn
	d.listeners[channel][key] = struct{}{}
	d.mu.Unlock()
	if connected != nil {
		connected(true)
		defer connected(false)
	}
	<-ctx.Done()
	d.mu.Lock()
	delete(d.listeners[channel], key)
	d.mu.Unlock()
	return ctx.Err()
}

func (*dialect) Name() string { return "sqlite" }

func (*dialect) VersionQuery() string { return "SELECT sqlite_version()" }

func (*dialect) Migrations() (fs.FS, goose.Dialect, lock.SessionLocker) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
	}
	return sub, goose.DialectSQLite3, nil
}

// Constraint classifies by SQLite's extended result code. SQLite names the
// violated unique index only for expression indexes; for column indexes it
// names the columns, which are mapped back to the index through the schema.
func (d *dialect) Constraint(err error) *sqldb.ConstraintError {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	detail := se.Error()
	const marker = "constraint failed: "
	if i := strings.LastIndex(detail, marker); i >= 0 {
		detail = detail[i+len(marker):]
	}
	detail, _, _ = strings.Cut(detail, " (")
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return &sqldb.ConstraintError{Kind: sqldb.Unique, Name: d.uniqueName(detail), Err: err}
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		table, _, _ := strings.Cut(detail, ".")
		return &sqldb.ConstraintError{Kind: sqldb.Unique, Name: "pk_" + table, Err: err}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return &sqldb.ConstraintError{Kind: sqldb.ForeignKey, Err: err}
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return &sqldb.ConstraintError{Kind: sqldb.Check, Name: detail, Err: err}
	case sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return &sqldb.ConstraintError{Kind: sqldb.NotNull, Name: detail, Err: err}
	}
	return nil
}

func (d *dialect) uniqueName(detail string) string {
	if name, ok := strings.CutPrefix(detail, "index '"); ok {
		return strings.TrimSuffix(name, "'")
	}
	if name, ok := d.indexes.Load(detail); ok {
		return name.(string)
	}
	d.loadIndexes()
	if name, ok := d.indexes.Load(detail); ok {
		return name.(string)
	}
	return ""
}

// loadIndexes reads every unique index's columns from the schema.
func (d *dialect) loadIndexes() {
	rows, err := d.read.Query(`SELECT m.tbl_name, il.name, ii.name
		FROM sqlite_schema m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii
		WHERE m.type = 'table' AND il."unique" = 1
		ORDER BY il.name, ii.seqno`)
	if err != nil {
		return
	}
	defer rows.Close()
	cols := map[string][]string{}
	var order []string
	for rows.Next() {
		var table, index string
		var col sql.NullString
		if rows.Scan(&table, &index, &col) != nil {
			return
		}
		if _, ok := cols[index]; !ok {
			order = append(order, index)
		}
		cols[index] = append(cols[index], table+"."+col.String)
	}
	for _, index := range order {
		d.indexes.Store(strings.Join(cols[index], ", "), index)
	}
}
