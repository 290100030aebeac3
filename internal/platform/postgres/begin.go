package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// connector makes pgx's connections begin each transaction in its scope.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return scopedConn{conn.(*stdlib.Conn)}, nil
}

// scopedConn is a pgx connection whose BEGIN also enters the scope that
// the transaction's context carries (sqldb.ScopeOf): the role, and the user
// that the row-level security policies compare user_id with, in the same
// round trip and for the transaction only. A transaction without a scope
// (goose's migrations) runs as the connecting role.
type scopedConn struct{ *stdlib.Conn }

func (c scopedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	s, err := sqldb.ScopeOf(ctx)
	if err != nil {
		return c.Conn.BeginTx(ctx, opts)
	}
	if opts.Isolation != driver.IsolationLevel(0) && opts.Isolation != driver.IsolationLevel(sql.LevelRepeatableRead) {
		return nil, errors.New("postgres: a scoped transaction takes the default isolation level or REPEATABLE READ")
	}
	q, err := beginScope(s, opts.ReadOnly, opts.Isolation == driver.IsolationLevel(sql.LevelRepeatableRead))
	if err != nil {
		return nil, err
	}
	tx, err := c.Conn.Conn().BeginTx(ctx, pgx.TxOptions{BeginQuery: q})
	if err != nil {
		return nil, err
	}
	return pgxTx{ctx: ctx, tx: tx}, nil
}

// beginScope returns the statements that begin a transaction in scope s, as
// one simple-protocol query: its values are literals, which only a role
// name of ours and a UUID can be.
func beginScope(s sqldb.Scope, readOnly, repeatable bool) (string, error) {
	role, err := roleOf(s)
	if err != nil {
		return "", err
	}
	begin := "BEGIN"
	if repeatable {
		begin += " ISOLATION LEVEL REPEATABLE READ"
	}
	if readOnly {
		begin += " READ ONLY"
	}
	return begin + "; SELECT set_config('role', '" + role + "', true), set_config('userd.user_id', '" + s.UserID + "', true)", nil
}

// roleOf returns the role of scope s, after checking that its user is an
// id.
func roleOf(s sqldb.Scope) (string, error) {
	if s.UserID != "" {
		if _, ok := userd.ParseID(s.UserID); !ok {
			return "", fmt.Errorf("postgres: scope user %q is not an id", s.UserID)
		}
	}
	if s.System {
		return SystemRole, nil
	}
	return AppRole, nil
}

// EnterScope makes tx's later statements run in scope s: its role, and the
// user that the row-level security policies compare user_id with.
func (dialect) EnterScope(ctx context.Context, tx *sqldb.Tx, s sqldb.Scope) error {
	role, err := roleOf(s)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `SELECT set_config('role', $1, true), set_config('userd.user_id', $2, true)`, role, s.UserID)
	return err
}

// SnapshotIsolation is REPEATABLE READ: every statement of the transaction
// reads the state its first one saw.
func (dialect) SnapshotIsolation() sql.IsolationLevel { return sql.LevelRepeatableRead }

// pgxTx is a pgx transaction as database/sql drives it.
type pgxTx struct {
	ctx context.Context
	tx  pgx.Tx
}

// Commit sends the transaction's notifications (sqldb.Outbox) and its
// COMMIT in one round trip, as a pipeline.
func (t pgxTx) Commit() error {
	o := sqldb.OutboxOf(t.ctx)
	if o == nil || len(o.Notes) == 0 {
		return t.tx.Commit(t.ctx)
	}
	b := &pgx.Batch{}
	for _, n := range o.Notes {
		b.Queue(`SELECT pg_notify($1, $2)`, n.Channel, n.Payload)
	}
	b.Queue(`COMMIT`)
	res := t.tx.Conn().SendBatch(t.ctx, b)
	var tag pgconn.CommandTag
	var err error
	for range len(b.QueuedQueries) {
		if tag, err = res.Exec(); err != nil {
			break
		}
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = t.tx.Rollback(t.ctx)
		return fmt.Errorf("notify and commit: %w", err)
	}
	if tag.String() != "COMMIT" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

func (t pgxTx) Rollback() error { return t.tx.Rollback(t.ctx) }
