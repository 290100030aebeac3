// Package sqldb is userd's thin layer over database/sql: a DB with a write
// pool and a read pool, transactions that fix their own clock, the Dialect
// that an engine package implements, the classification of constraint
// violations, and migrations.
package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/userd/userd"
)

// Dialect is what an engine package (sqlite, postgres) tells sqldb about
// itself.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Constraint translates a driver error into a *ConstraintError when it is
	// a constraint violation, and returns nil otherwise.
	Constraint(err error) *ConstraintError
	// Migrations returns the engine's migration files, the goose dialect that
	// runs them and, where the engine supports it, a session locker that keeps
	// concurrent processes from applying a migration twice.
	Migrations() (fs.FS, goose.Dialect, lock.SessionLocker)
	// Notify sends payload on channel when tx commits, to every Listen of
	// that channel on the database: PostgreSQL's NOTIFY reaches every
	// process; SQLite's reaches this one.
	Notify(ctx context.Context, tx *Tx, channel, payload string) error
	// Listen calls fn with each payload sent on channel until ctx ends.
	// When connected is not nil, Listen calls connected(true) once it
	// listens and connected(false) when it stops, before it listens anew.
	Listen(ctx context.Context, channel string, fn func(payload string), connected func(bool)) error
	// Shared reports whether Notify reaches other processes (PostgreSQL)
	// rather than this one alone (SQLite).
	Shared() bool
	// Retryable reports whether err is a transient conflict (a deadlock or a
	// serialization failure) after which the whole transaction may run again.
	Retryable(err error) bool
	// LockRow locks the row of table whose idColumn is id until tx ends, so
	// that no other transaction changes it or adds rows referring to it, and
	// reports whether it exists.
	LockRow(ctx context.Context, tx *Tx, table, idColumn, id string) (bool, error)
	// LockWrites keeps every other transaction from writing table, and from
	// taking this lock, until tx ends; reads go on.
	LockWrites(ctx context.Context, tx *Tx, table string) error
	// LockName takes a lock on name until tx ends: shared ones go together,
	// an exclusive one waits for every other and keeps them waiting.
	LockName(ctx context.Context, tx *Tx, name string, shared bool) error
	// WritingWith reports whether a WITH clause may insert, update or
	// delete (PostgreSQL's data-modifying statements), so that one
	// statement does what would otherwise take two round trips.
	WritingWith() bool
	// PositionQueries returns the statements whose one row and column say
	// how far the primary has written and how far a replica has replayed
	// the primary's writes (PostgreSQL's WAL positions), as ParsePosition
	// reads them.
	PositionQueries() (written, replayed string)
	// ParsePosition reads a position of PositionQueries.
	ParsePosition(s string) (uint64, error)
	// Unavailable reports whether err says that the database cannot be
	// reached or is shutting down or starting (a refused or lost
	// connection), rather than that a statement failed.
	Unavailable(err error) bool
	// ArrayParams reports whether a statement binds a slice as one array
	// parameter (column = ANY($1)), PostgreSQL's arrays.
	ArrayParams() bool
	// JSONField returns the expression that reads the top-level key of the
	// JSON object in column as kind: the same text for an index and for the
	// queries that must use it. column and key must be identifiers that the
	// caller validated; the expression interpolates them.
	JSONField(column, key string, kind JSONKind) string
	// CollectionIndex returns the statement, with its arguments, that makes
	// ix (drop false) or drops it.
	CollectionIndex(ix CollectionIndex, drop bool) (string, []any)
	// SnapshotIsolation is the isolation level at which a read-only
	// transaction reads one state of the database throughout (see
	// DB.Snapshot).
	SnapshotIsolation() sql.IsolationLevel
	// EnterScope makes tx's later statements run in scope s, for a
	// transaction that serves several scopes (see DB.Snapshot).
	EnterScope(ctx context.Context, tx *Tx, s Scope) error
	// VersionQuery is the statement whose one row and column is the
	// engine's version: PostgreSQL's server_version, SQLite's
	// sqlite_version().
	VersionQuery() string
	// Backup writes a copy of the database as it is at one moment to the
	// empty file at path, while others go on writing (see DB.Backup).
	Backup(ctx context.Context, path string, progress Progress) error
}

// CollectionIndex is a partial expression index of collection_records on
// the records of one collection: its owner column, then its fields read
// as their kinds (see JSONField), then id when it serves pages. Its maker
// validates every name.
type CollectionIndex struct {
	Name       string
	Kind       string // "u" a unique key, "i" an index for pages (ends with id), "r" a relation's
	Collection string
	Owner      string // "user_id" or "organization_id"
	Fields     []string
	Kinds      []JSONKind
}

// Columns returns the index's columns as dialect d reads them.
func (ix CollectionIndex) Columns(d Dialect) string {
	cols := []string{ix.Owner}
	for i, f := range ix.Fields {
		cols = append(cols, d.JSONField("data", f, ix.Kinds[i]))
	}
	if ix.Kind == "i" {
		cols = append(cols, "id")
	}
	return strings.Join(cols, ", ")
}

// JSONKind is the SQL type that JSONField reads a JSON value as.
type JSONKind int

// The kinds of JSONField.
const (
	JSONText   JSONKind = iota // a string
	JSONNumber                 // an integer or a number
	JSONBool                   // true or false
)

// DB is a database handle. Writes go through Tx and reads through View; on
// SQLite they use separate pools (one writer, many readers), on PostgreSQL the
// same pool.
type DB struct {
	write   *sql.DB
	read    *sql.DB
	migrate *sql.DB // the migrations' pool: write unless MigrateOver says
	dialect Dialect
	now     func() time.Time
	local   subscribers // see Invalidations
	origin  string      // tells this DB's invalidations from other processes'
	soon    notifier    // see InvalidateSoon
	counts  counters    // see Retries, Listening
	// replicas are the read-only copies that View may read from (see
	// SetReplicas).
	replicas []*replica
}

// New returns a DB over the given pools. read may equal write.
func New(write, read *sql.DB, d Dialect) *DB {
	return &DB{write: write, read: read, dialect: d, now: time.Now, origin: rand.Text(), soon: newNotifier()}
}

// SetClock replaces the clock that fixes each transaction's Now. Tests use it
// to control time.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Engine returns the dialect's name: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.dialect.Name() }

// Now returns the current time as transactions see it: UTC, truncated to
// microseconds (the precision both engines keep).
func (db *DB) Now() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// SQL returns the write pool, for tools (migrations, tests) that need
// database/sql directly.
func (db *DB) SQL() *sql.DB { return db.write }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.dialect.Name(), err)
	}
	return nil
}

// ServerVersion returns the version of the engine that serves the
// database, such as "16.4" or "3.46.0".
func (db *DB) ServerVersion(ctx context.Context) (string, error) {
	var v string
	if err := db.read.QueryRowContext(ctx, db.dialect.VersionQuery()).Scan(&v); err != nil {
		return "", fmt.Errorf("%s version: %w", db.dialect.Name(), err)
	}
	return v, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.soon.close()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.migrate != nil {
		err = errors.Join(err, db.migrate.Close())
	}
	return err
}

// Tx runs fn in a read-write transaction and commits when fn returns nil. The
// transaction runs in ctx's scope (see ScopeOf) and returns ErrNoScope when
// ctx has none. On SQLite it takes the write lock at its start (BEGIN
// IMMEDIATE), so fn never fails half-way for want of it.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.run(ctx, db.write, nil, fn)
}

// View runs fn in a read-only transaction in ctx's scope.
// With replicas (see SetReplicas), it runs on one that has replayed every
// transaction committed before it began, else on the primary.
func (db *DB) View(ctx context.Context, fn func(tx *Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if len(db.replicas) > 0 {
		if _, in := ctx.Value(snapshotKey{db}).(*snapshot); !in {
			done, err := db.viewOnReplica(ctx, opts, fn)
			if done || err != nil {
				return err
			}
			db.counts.primaryReads.Add(1)
		}
	}
	return db.run(ctx, db.read, opts, fn)
}

// maxRuns bounds how often a transaction runs again after a transient
// conflict.
const maxRuns = 3

// ErrUnavailable answers a request that needs the database while it cannot
// be reached, or is shutting down or starting (code database_unavailable,
// 503): the request may be tried again in a moment. A transaction whose
// commit met it may or may not have committed.
var ErrUnavailable = userd.Errorf(userd.KindUnavailable, "database_unavailable", "The database does not answer for now: try again in a moment.")

// unavailable returns err, marked as ErrUnavailable when it says that the
// database cannot be reached (see Dialect.Unavailable).
func (db *DB) unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !db.dialect.Unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(tx *Tx) error) error {
	for i := 1; ; i++ {
		err := db.runOnce(ctx, pool, opts, fn)
		if err == nil || i == maxRuns || !db.dialect.Retryable(err) || ctx.Err() != nil {
			return err
		}
		db.counts.retries.Add(1)
	}
}

func (db *DB) runOnce(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(tx *Tx) error) (err error) {
	if snap, ok := ctx.Value(snapshotKey{db}).(*snapshot); ok {
		if opts == nil { // a Tx: the snapshot only reads
			return ErrInSnapshot
		}
		return snap.view(ctx, fn)
	}
	// The scope travels in ctx to the driver's BEGIN (PostgreSQL's enters
	// it there; SQLite's store filters on user_id itself).
	if _, err := ScopeOf(ctx); err != nil {
		return err
	}
	outbox := &Outbox{}
	stx, err := pool.BeginTx(context.WithValue(ctx, outboxKey{}, outbox), opts)
	if err != nil {
		return db.unavailable(fmt.Errorf("begin transaction: %w", err))
	}
	tx := &Tx{tx: stx, db: db, dialect: db.dialect, outbox: outbox, Now: db.Now()}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return db.unavailable(err)
	}
	if err := tx.announce(ctx); err != nil {
		return db.unavailable(fmt.Errorf("announce invalidations: %w", err))
	}
	if err := stx.Commit(); err != nil {
		return db.unavailable(fmt.Errorf("commit: %w", classify(db.dialect, err)))
	}
	for _, f := range tx.afterCommit {
		f()
	}
	db.sendSoon(tx.soon)
	return nil
}

// classify returns the dialect's *ConstraintError for err, or err itself.
func classify(d Dialect, err error) error {
	if c := d.Constraint(err); c != nil {
		return c
	}
	return err
}

// Tx is a transaction. Now is the time fixed at its start: every timestamp
// that the transaction writes comes from it, never from the database's clock.
type Tx struct {
	tx          *sql.Tx
	db          *DB
	dialect     Dialect
	afterCommit []func()
	invalid     []string // keys for Invalidate
	soon        []string // keys for InvalidateSoon
	outbox      *Outbox
	Now         time.Time
}

// AfterCommit runs f once the transaction has committed (never if it rolls
// back).
func (tx *Tx) AfterCommit(f func()) { tx.afterCommit = append(tx.afterCommit, f) }

// LockRow locks a row until the transaction ends (see Dialect.LockRow) and
// reports whether it exists.
func (tx *Tx) LockRow(ctx context.Context, table, idColumn, id string) (bool, error) {
	return tx.dialect.LockRow(ctx, tx, table, idColumn, id)
}

// LockWrites keeps other transactions from writing table until the
// transaction ends (see Dialect.LockWrites): what it reads of the table
// stays true until it commits.
func (tx *Tx) LockWrites(ctx context.Context, table string) error {
	if err := tx.dialect.LockWrites(ctx, tx, table); err != nil {
		return fmt.Errorf("lock %s: %w", table, err)
	}
	return nil
}

// LockName takes a lock on name until the transaction ends (see
// Dialect.LockName).
func (tx *Tx) LockName(ctx context.Context, name string, shared bool) error {
	if err := tx.dialect.LockName(ctx, tx, name, shared); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return nil
}

// Outbox holds a transaction's notifications for an engine that sends them
// with its COMMIT, in the same round trip (PostgreSQL).
type Outbox struct{ Notes []Note }

// Note is a notification: a payload on a channel.
type Note struct{ Channel, Payload string }

type outboxKey struct{}

// OutboxOf returns the outbox of the transaction that the driver is asked
// to begin with ctx, or nil.
func OutboxOf(ctx context.Context) *Outbox {
	o, _ := ctx.Value(outboxKey{}).(*Outbox)
	return o
}

// Outbox returns the transaction's outbox, for the dialect's Notify.
func (tx *Tx) Outbox() *Outbox { return tx.outbox }

// Notify sends payload on channel to every listener of the database once
// the transaction commits.
func (tx *Tx) Notify(ctx context.Context, channel, payload string) error {
	return tx.dialect.Notify(ctx, tx, channel, payload)
}

// Listen calls fn with each payload sent on channel, in every process for
// PostgreSQL, until ctx ends; it returns ctx's error then.
func (db *DB) Listen(ctx context.Context, channel string, fn func(payload string)) error {
	return db.dialect.Listen(ctx, channel, fn, db.tracked(channel, nil))
}

// WritingWith reports whether the engine lets a WITH clause write (see
// Dialect): a feature may then save a round trip by writing one statement
// where the other engine takes two.
func (tx *Tx) WritingWith() bool { return tx.dialect.WritingWith() }

// CollectionIndex makes ix (drop false) or drops it (see
// Dialect.CollectionIndex).
func (tx *Tx) CollectionIndex(ctx context.Context, ix CollectionIndex, drop bool) error {
	q, args := tx.dialect.CollectionIndex(ix, drop)
	_, err := tx.Exec(ctx, q, args...)
	return err
}

// JSONField returns the engine's expression of a JSON object's key read as
// kind (see Dialect.JSONField).
func (tx *Tx) JSONField(column, key string, kind JSONKind) string {
	return tx.dialect.JSONField(column, key, kind)
}

// Exec runs a statement. A constraint violation comes back as a
// *ConstraintError.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := tx.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, tx.classify(err)
	}
	return res, nil
}

// Query runs a query that returns rows.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := tx.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, tx.classify(err)
	}
	return rows, nil
}

// QueryRow runs a query that returns at most one row. Its Scan returns
// sql.ErrNoRows when there is none and a *ConstraintError for a violation
// (from an INSERT … RETURNING, say).
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *Row {
	return &Row{row: tx.tx.QueryRowContext(ctx, query, args...), tx: tx}
}

func (tx *Tx) classify(err error) error { return classify(tx.dialect, err) }

// Row is the result of QueryRow.
type Row struct {
	row *sql.Row
	tx  *Tx
}

// Scan copies the row's columns into dest.
func (r *Row) Scan(dest ...any) error {
	if err := r.row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return r.tx.classify(err)
	}
	return nil
}

// In returns the condition that column is one of keys (at least one), its
// parameters numbered from $first, and the arguments it binds. On
// PostgreSQL it is one array parameter, column = ANY($first), so that the
// statement's text is the same whatever the number of keys and its plan is
// made once per connection rather than at every call; elsewhere it is a
// list, column IN ($first, ...).
func In[K string | []byte](tx *Tx, column string, first int, keys []K) (string, []any) {
	if tx.dialect.ArrayParams() {
		return column + ` = ANY($` + strconv.Itoa(first) + `)`, []any{keys}
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	return column + ` IN ` + Values(first, 1, len(keys)), args
}

// Rows returns a query of rows, whose parameters are numbered from $first,
// and the arguments it binds: a statement takes it where it would take
// VALUES (INSERT INTO t (a, b) ..., WITH v (a, b) AS (...)). Each row has a
// value for each of types, the columns' PostgreSQL types (uuid, text, int,
// timestamptz, jsonb...). On PostgreSQL it is one array parameter a column
// (SELECT * FROM unnest($first::uuid[], ...)), so that the statement's text
// is the same whatever the number of rows and it is prepared and planned
// once per connection, as In's; elsewhere it is VALUES, with a parameter
// a value but one for a column whose rows all hold the same value.
func Rows(tx *Tx, first int, types []string, rows [][]any) (string, []any) {
	if tx.dialect.ArrayParams() {
		var b strings.Builder
		args := make([]any, len(types))
		b.WriteString("SELECT * FROM unnest(")
		for c, t := range types {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d::%s[]", first+c, t)
			args[c] = array(t, rows, c)
		}
		b.WriteByte(')')
		return b.String(), args
	}
	// A column whose rows all hold one value binds it once: SQLite binds
	// parameters in quadratic time.
	var args []any
	shared := make([]int, len(types)) // a shared column's parameter; 0: none
	for c := range types {
		if same(rows, c) {
			args = append(args, rows[0][c])
			shared[c] = first + len(args) - 1
		}
	}
	q := "VALUES " + values(len(rows), len(types), func(r, c int) int {
		if p := shared[c]; p != 0 {
			return p
		}
		args = append(args, rows[r][c])
		return first + len(args) - 1
	})
	return q, args
}

// same reports whether every row holds one value, of a comparable type, in
// column c.
func same(rows [][]any, c int) bool {
	v := rows[0][c]
	if v != nil && !reflect.TypeOf(v).Comparable() {
		return false
	}
	for _, row := range rows[1:] {
		if row[c] != v {
			return false
		}
	}
	return true
}

// array returns column c of Rows's rows, of PostgreSQL type t, as a slice
// of the Go type that pgx binds t from (nil stays NULL): whole numbers as
// int64, times as time.Time, booleans as bool, everything else as string.
// pgx binds such a slice as an array in every query mode, PgBouncer's too,
// where the server names no parameter's type and a []any cannot be bound.
// A value of another Go type is the caller's mistake: it panics.
func array(t string, rows [][]any, c int) any {
	switch t {
	case "smallint", "int", "integer", "bigint":
		return pointers(rows, c, func(v any) int64 { return reflect.ValueOf(v).Int() })
	case "timestamptz", "timestamp":
		return pointers(rows, c, func(v any) time.Time { return v.(time.Time) })
	case "bool", "boolean":
		return pointers(rows, c, func(v any) bool { return v.(bool) })
	default:
		return pointers(rows, c, func(v any) string { return v.(string) })
	}
}

// pointers converts column c of rows with conv, nil to nil.
func pointers[T any](rows [][]any, c int, conv func(any) T) []*T {
	out := make([]*T, len(rows))
	for r, row := range rows {
		if v := row[c]; v != nil {
			x := conv(v)
			out[r] = &x
		}
	}
	return out
}

// Values returns rows of cols parameters each, numbered on from $first,
// for a statement's VALUES: Values(1, 2, 2) is "($1, $2), ($3, $4)".
func Values(first, rows, cols int) string {
	return values(rows, cols, func(r, c int) int { return first + r*cols + c })
}

// values returns rows of cols parameters each, the one of row r and column
// c numbered param(r, c), called row after row.
func values(rows, cols int, param func(r, c int) int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(param(r, c)))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Contains returns the LIKE pattern (with ESCAPE '\\') of the values that
// contain q, trimmed and lower-cased, with its \\, % and _ escaped: compare
// it with a lower-cased column.
func Contains(q string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(strings.TrimSpace(q))) + "%"
}

// Before returns the cursor of a keyset page of ids in descending order:
// beforeID itself, or for the first page ("") an id above every UUID.
func Before(beforeID string) string {
	if beforeID == "" {
		return "ffffffff-ffff-ffff-ffff-ffffffffffff"
	}
	return beforeID
}

// Nullable returns nil for "", so that an unset optional text is stored as
// NULL, and s otherwise.
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// JSONStrings returns a list of strings as the JSON array text that a list
// column holds (jsonb on PostgreSQL, TEXT on SQLite): [] for none.
func JSONStrings(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v) // strings: no error
	return string(b)
}

// TimeOf returns a nullable timestamp column as features keep it: in UTC,
// or nil for NULL.
func TimeOf(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// Stored returns an optional time as a timestamp column keeps it: in UTC,
// to the microsecond that both engines hold (as Now is), or nil.
func Stored(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// Scanner is a row to scan: *sql.Row, *sql.Rows or *Row.
type Scanner interface{ Scan(dest ...any) error }

// ScanString scans a row of one text column, for All and One.
func ScanString(row Scanner) (s string, err error) { return s, row.Scan(&s) }

// All runs a query in tx and returns every row scanned by scan.
func All[T any](ctx context.Context, tx *Tx, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	out := []T{}
	err := Each(ctx, tx, func(row Scanner) error {
		v, err := scan(row)
		out = append(out, v)
		return err
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Each runs a query in tx and calls fn with each row, until fn fails.
func Each(ctx context.Context, tx *Tx, fn func(Scanner) error, query string, args ...any) error {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// One runs a query in tx for one row and returns it scanned by scan, or
// notFound when there is none; other errors say what failed.
func One[T any](ctx context.Context, tx *Tx, notFound error, what string, scan func(Scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(tx.QueryRow(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, notFound
	}
	if err != nil {
		return v, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// ExecOne runs a statement that must change a row, and returns notFound
// when it changed none (the row is missing, or another user's).
func (tx *Tx) ExecOne(ctx context.Context, notFound error, query string, args ...any) error {
	res, err := tx.Exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound
	}
	return nil
}

// DeleteWhere runs a DELETE and returns how many rows it removed.
func DeleteWhere(ctx context.Context, tx *Tx, query string, args ...any) (int64, error) {
	res, err := tx.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
