// Package postgres is userd's PostgreSQL engine: the pgx driver through
// database/sql, SQLSTATE classification and the migrations.
package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/userd/userd/internal/platform/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to the PostgreSQL database at url (postgres://…), with no
// pooler in between.
func Open(ctx context.Context, url string) (*sqldb.DB, error) {
	return OpenWith(ctx, url, Options{})
}

// Pooler names what stands between userd's connections and PostgreSQL.
type Pooler string

// The poolers Open knows.
const (
	// NoPooler: the URL reaches PostgreSQL itself.
	NoPooler Pooler = "none"
	// PgBouncer in transaction mode: a server connection is userd's for
	// one transaction only, and PgBouncer 1.18 keeps no prepared statement
	// from one to the next.
	PgBouncer Pooler = "pgbouncer"
)

// Options are OpenWith's settings beyond the URL. The zero value is a URL
// that reaches PostgreSQL itself.
type Options struct {
	// Pooler is what the URL goes through; "" is NoPooler.
	Pooler Pooler
	// DirectURL reaches the same database without the pooler, for what
	// needs a session of its own: the LISTEN connection, the migrations
	// (goose holds a session's advisory lock while they run) and pg_dump.
	// "" is the URL itself.
	DirectURL string
	// Replicas are the URLs of streaming replicas of the database that
	// read-only transactions may read from (see sqldb.DB.SetReplicas),
	// through the same pooler.
	Replicas []string
	// MaxLag is how long a replica may stay behind the primary before
	// reads skip it (DefaultMaxLag when 0).
	MaxLag time.Duration
}

// DefaultMaxLag is Options.MaxLag's default.
const DefaultMaxLag = time.Second

// OpenWith connects to the PostgreSQL database at url (postgres://…)
// through o.Pooler. Behind PgBouncer every statement runs as an unnamed
// statement of the extended protocol (pgx's QueryExecModeExec), which
// transaction pooling accepts, and the migrations, the LISTEN connection
// and backups use o.DirectURL. It returns an error for a pooler it does
// not know, PgBouncer without a DirectURL of its own, a URL it cannot
// parse and a database it cannot reach.
func OpenWith(ctx context.Context, url string, o Options) (*sqldb.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	switch o.Pooler {
	case "", NoPooler:
	case PgBouncer:
		// A prepared statement lives in one server session, which the
		// next transaction may not get: name none, cache none.
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	default:
		return nil, fmt.Errorf("open postgres: unknown pooler %q (want none or pgbouncer)", o.Pooler)
	}
	direct := o.DirectURL
	if direct == "" {
		direct = url
	}
	if o.Pooler == PgBouncer && direct == url {
		return nil, errors.New("open postgres: behind pgbouncer the LISTEN connection and the migrations need a direct URL to PostgreSQL, not the pooler's")
	}
	db := pool(cfg)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	out := sqldb.New(db, db, dialect{url: direct})
	if len(o.Replicas) > 0 {
		replicas := map[string]*sql.DB{}
		for _, u := range o.Replicas {
			rcfg, err := pgx.ParseConfig(u)
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("open postgres (replica): %w", err)
			}
			rcfg.DefaultQueryExecMode = cfg.DefaultQueryExecMode
			replicas[rcfg.Host+":"+strconv.Itoa(int(rcfg.Port))+"/"+rcfg.Database] = pool(rcfg)
		}
		out.SetReplicas(ctx, replicas, cmp.Or(o.MaxLag, DefaultMaxLag))
	}
	if direct != url {
		dcfg, err := pgx.ParseConfig(direct)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open postgres (direct URL): %w", err)
		}
		// Opened on first use: only the migrations use it.
		m := sql.OpenDB(stdlib.GetConnector(*withTimeout(dcfg)))
		m.SetMaxOpenConns(4) // goose's lock holds one while a migration runs on another
		m.SetConnMaxIdleTime(time.Minute)
		out.MigrateOver(m)
	}
	return out, nil
}

// pool returns a pool of connections by cfg (with ConnectTimeout unless
// its URL set one) whose transactions enter their scope (see connector).
func pool(cfg *pgx.ConnConfig) *sql.DB {
	db := sql.OpenDB(connector{stdlib.GetConnector(*withTimeout(cfg))})
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	return db
}

// withTimeout gives cfg the ConnectTimeout unless its URL set one.
func withTimeout(cfg *pgx.ConnConfig) *pgx.ConnConfig {
	if cfg.ConnectTimeout == 0 {
		// A server that does not answer (a host down, a network cut) fails
		// a request in seconds rather than when the client gives up.
		cfg.ConnectTimeout = ConnectTimeout
	}
	return cfg
}

// ConnectTimeout bounds a new connection's set-up unless the URL's
// connect_timeout says otherwise.
const ConnectTimeout = 5 * time.Second

// dialect is PostgreSQL's sqldb.Dialect. url reaches PostgreSQL itself,
// never through a pooler: Listen and Backup hold sessions of their own.
type dialect struct{ url string }

// Notify keeps a notification for the transaction's COMMIT, which sends it
// in the same round trip (see pgxTx.Commit): PostgreSQL delivers it to
// every listening session, in every process, when the transaction commits.
func (dialect) Notify(_ context.Context, tx *sqldb.Tx, channel, payload string) error {
	o := tx.Outbox()
	o.Notes = append(o.Notes, sqldb.Note{Channel: channel, Payload: payload})
	return nil
}

// Shared is true: every process that listens on the database hears a
// NOTIFY.
func (dialect) Shared() bool { return true }

// WritingWith is true: PostgreSQL's WITH clauses may insert, update and
// delete.
func (dialect) WritingWith() bool { return true }

// PositionQueries read the WAL: on the primary where the next record goes
// (past every commit, flushed or not: synchronous_commit may be off), on a
// streaming replica how far it has replayed (NULL elsewhere).
func (dialect) PositionQueries() (written, replayed string) {
	return `SELECT pg_current_wal_insert_lsn()::text`, `SELECT pg_last_wal_replay_lsn()::text`
}

// ParsePosition reads a WAL position, "16/B374D848".
func (dialect) ParsePosition(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("not a WAL position: %q", s)
	}
	return h<<32 | l, nil
}

// ArrayParams is true: a slice binds as one array parameter.
func (dialect) ArrayParams() bool { return true }

// CollectionIndex calls the functions of migration 00036, which check every
// name and kind, build the statement and run it as the table's owner, a
// role of its own: no role userd's transactions run as may change the
// table itself.
func (dialect) CollectionIndex(ix sqldb.CollectionIndex, drop bool) (string, []any) {
	if drop {
		return `SELECT userd_collection_drop_index($1)`, []any{ix.Name}
	}
	kinds := make([]string, len(ix.Kinds))
	for i, k := range ix.Kinds {
		kinds[i] = map[sqldb.JSONKind]string{sqldb.JSONText: "text", sqldb.JSONNumber: "numeric", sqldb.JSONBool: "boolean"}[k]
	}
	return `SELECT userd_collection_create_index($1, $2, $3, $4, $5, $6)`,
		[]any{ix.Name, ix.Kind, ix.Collection, ix.Owner, strings.Join(ix.Fields, ","), strings.Join(kinds, ",")}
}

// JSONField reads a key of a jsonb column as text, cast to numeric or
// boolean for those kinds.
func (dialect) JSONField(column, key string, kind sqldb.JSONKind) string {
	text := "(" + column + "->>'" + key + "')"
	switch kind {
	case sqldb.JSONNumber:
		return "(" + text + "::numeric)"
	case sqldb.JSONBool:
		return "(" + text + "::boolean)"
	}
	return text
}

// Retryable is true for a deadlock (40P01) and a serialization failure
// (40001).
// Unavailable is a connection refused, lost, reset or timed out, and the
// server's own word that it is shutting down or starting (SQLSTATE class 08
// and 57P01-57P03).
func (dialect) Unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

func (dialect) Retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// LockRow takes the row's FOR UPDATE lock: it also blocks the foreign key
// checks of rows that would refer to it.
func (dialect) LockRow(ctx context.Context, tx *sqldb.Tx, table, idColumn, id string) (bool, error) {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE `+idColumn+` = $1 FOR UPDATE`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// LockName takes a transaction's advisory lock on the name's hash (two
// names that share it only wait on each other).
func (dialect) LockName(ctx context.Context, tx *sqldb.Tx, name string, shared bool) error {
	q := `SELECT pg_advisory_xact_lock(hashtext($1))`
	if shared {
		q = `SELECT pg_advisory_xact_lock_shared(hashtext($1))`
	}
	_, err := tx.Exec(ctx, q, name)
	return err
}

// LockWrites takes SHARE ROW EXCLUSIVE, which conflicts with itself and
// with inserts, updates and deletes, not with reads.
func (dialect) LockWrites(ctx context.Context, tx *sqldb.Tx, table string) error {
	_, err := tx.Exec(ctx, `LOCK TABLE `+table+` IN SHARE ROW EXCLUSIVE MODE`)
	return err
}

// Listen holds a connection of its own that LISTENs on channel, and
// reconnects (after a pause that doubles up to 10 s) when it breaks.
func (d dialect) Listen(ctx context.Context, channel string, fn func(string), connected func(bool)) error {
	if connected == nil {
		connected = func(bool) {}
	}
	const first = 100 * time.Millisecond
	pause := first
	for {
		was := false
		err := d.listenOnce(ctx, channel, fn, func(on bool) {
			was = was || on
			connected(on)
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if was { // a connection that lasted: the next try comes soon
			pause = first
		}
		slog.Warn("listen: connection lost, reconnecting", "channel", channel, "err", err, "in", pause)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
		pause = min(2*pause, 10*time.Second)
	}
}

func (d dialect) listenOnce(ctx context.Context, channel string, fn func(string), connected func(bool)) error {
	conn, err := pgx.Connect(ctx, d.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	connected(true)
	defer connected(false)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}

func (dialect) Name() string { return "postgres" }

func (dialect) VersionQuery() string { return "SHOW server_version" }

// Roles that transactions run as: row-level security policies name them.
const (
	AppRole    = "userd_app"    // one user's rows: userd.user_id says whose
	SystemRole = "userd_system" // work that crosses users, said so explicitly
)

// expanded is the migrations folder with its directives expanded (see
// directive.go), or the error of a bad directive.
var expanded = sync.OnceValues(func() (fs.FS, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return expandMigrations(sub)
})

// Migrations returns the embedded migrations as goose reads them: with each
// "-- +userd" directive replaced by the statements it stands for (see
// directive.go). A bad directive panics, naming its file and line, before
// any migration runs.
func (dialect) Migrations() (fs.FS, goose.Dialect, lock.SessionLocker) {
	sub, err := expanded()
	if err != nil {
		panic("postgres migrations: " + err.Error()) // the embedded files are fixed at build time
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		panic(err) // only bad options fail, and there are none
	}
	return sub, goose.DialectPostgres, locker
}

// constraintKinds maps the SQLSTATEs of class 23 to constraint kinds.
var constraintKinds = map[string]sqldb.ConstraintKind{
	"23505": sqldb.Unique,
	"23503": sqldb.ForeignKey,
	"23514": sqldb.Check,
	"23502": sqldb.NotNull,
}

// Constraint classifies by SQLSTATE class 23 (integrity constraint violation).
func (dialect) Constraint(err error) *sqldb.ConstraintError {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	kind, ok := constraintKinds[pe.Code]
	if !ok {
		return nil
	}
	name := pe.ConstraintName
	if kind == sqldb.NotNull {
		name = pe.TableName + "." + pe.ColumnName
	}
	return &sqldb.ConstraintError{Kind: kind, Name: name, Err: err}
}
