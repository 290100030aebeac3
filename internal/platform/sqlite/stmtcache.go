package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
)

// cachedStatements is how many prepared statements each connection keeps.
// userd runs a few hundred distinct statements; the ones built per call (a
// batch insert of n rows) take their turn at the end of the list.
const cachedStatements = 256

// stmtConnector opens connections that keep their prepared statements, so
// that a query run again skips parsing and planning its SQL: modernc's driver
// prepares every query anew, which is a fifth of a short request's CPU.
type stmtConnector struct{ driver.Connector }

// Connect opens a connection with a statement cache.
func (c stmtConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(innerConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite: the driver's connection lacks the context methods")
	}
	sc := &stmtConn{innerConn: inner}
	sc.stmts, _ = lru.NewWithEvict(cachedStatements, func(_ string, s *cachedStmt) {
		s.evicted = true
		if !s.busy {
			s.Close()
		}
	})
	return sc, nil
}

// innerConn is what database/sql uses of modernc's connection.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// innerStmt is what a cached statement needs of modernc's statement.
type innerStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// stmtConn is a connection that runs queries through its cache of prepared
// statements. database/sql uses a connection from one goroutine at a time.
type stmtConn struct {
	innerConn
	stmts *lru.Cache[string, *cachedStmt]
}

// cachedStmt is a prepared statement and whether rows of it are open (a
// statement runs once at a time; a nested run of the same SQL gets a
// statement of its own).
type cachedStmt struct {
	innerStmt
	busy, evicted bool
}

// stmt returns the cached statement for query, preparing it on first use,
// or false when it is running already.
func (c *stmtConn) stmt(ctx context.Context, query string) (*cachedStmt, bool, error) {
	if s, ok := c.stmts.Get(query); ok {
		return s, !s.busy, nil
	}
	ds, err := c.innerConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	inner, ok := ds.(innerStmt)
	if !ok {
		ds.Close()
		return nil, false, fmt.Errorf("sqlite: the driver's statement lacks the context methods")
	}
	s := &cachedStmt{innerStmt: inner}
	c.stmts.Add(query, s)
	return s, true, nil
}

// ExecContext runs query through its cached statement.
func (c *stmtConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, ok, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if !ok {
		return c.innerConn.ExecContext(ctx, query, args)
	}
	s.busy = true
	defer s.release()
	return s.ExecContext(ctx, args)
}

// QueryContext runs query through its cached statement; the statement is
// free again when the rows close.
func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, ok, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if !ok {
		return c.innerConn.QueryContext(ctx, query, args)
	}
	s.busy = true
	rows, err := s.QueryContext(ctx, args)
	if err != nil {
		s.release()
		return nil, err
	}
	return &stmtRows{Rows: rows, stmt: s}, nil
}

// Close finalizes the cached statements and closes the connection.
func (c *stmtConn) Close() error {
	c.stmts.Purge()
	return c.innerConn.Close()
}

// release marks s free, and finalizes it if the cache dropped it meanwhile.
func (s *cachedStmt) release() {
	s.busy = false
	if s.evicted {
		s.Close()
	}
}

// stmtRows are rows of a cached statement.
type stmtRows struct {
	driver.Rows
	stmt *cachedStmt
}

// Close closes the rows (resetting the statement) and frees the statement.
func (r *stmtRows) Close() error {
	err := r.Rows.Close()
	r.stmt.release()
	return err
}
