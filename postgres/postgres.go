// Package postgres is userd's PostgreSQL engine: the pgx driver through
// database/sql, SQLSTATE classification and the migrations.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/userd/userd/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to the PostgreSQL database at url (postgres://…).
func Open(ctx context.Context, url string) (*sqldb.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return sqldb.New(db, db, dialect{}), nil
}

type dialect struct{}

func (dialect) Name() string { return "postgres" }

func (dialect) Migrations() (fs.FS, goose.Dialect, lock.SessionLocker) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
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
