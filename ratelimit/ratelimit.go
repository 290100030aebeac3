// Package ratelimit owns rate_limits: fixed-window counters in the database,
// so that every userd process of one database shares them exactly.
package ratelimit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/sqldb"
)

// Rule is a limit: at most Max hits per Window.
type Rule struct {
	Max    int
	Window time.Duration
}

// Limiter counts hits. A disabled Limiter allows everything and writes
// nothing (--rate-limits off).
type Limiter struct {
	db      *sqldb.DB
	enabled bool
}

// New returns a Limiter; enabled false turns every check into a no-op.
func New(db *sqldb.DB, enabled bool) *Limiter {
	return &Limiter{db: db, enabled: enabled}
}

// Error is the error of a refused hit: a KindRateLimited *userd.Error that
// also says when to retry.
type Error struct {
	Err        *userd.Error
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the *userd.Error, so that ErrorOf and ErrorKind see it.
func (e *Error) Unwrap() error { return e.Err }

func refused(retry time.Duration) error {
	return &Error{
		Err:        userd.Errorf(userd.KindRateLimited, "rate_limited", "Too many attempts. Try again later."),
		RetryAfter: max(retry, time.Second),
	}
}

// Hit counts one hit against key and returns an *Error when it goes over the
// rule. The hit is committed at once, whatever happens to the request.
func (l *Limiter) Hit(ctx context.Context, key string, r Rule) error {
	if !l.enabled {
		return nil
	}
	var hits int
	var start time.Time
	var now time.Time
	err := l.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		now = tx.Now
		return tx.QueryRow(ctx, `INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1)
			ON CONFLICT (key) DO UPDATE SET
				hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END,
				window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END
			RETURNING hits, window_start`, key, tx.Now, tx.Now.Add(-r.Window)).Scan(&hits, &start)
	})
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", key, err)
	}
	if hits > r.Max {
		return refused(start.Add(r.Window).Sub(now))
	}
	return nil
}

// Check returns an *Error when key has already reached the rule's maximum in
// its current window, without counting a hit.
func (l *Limiter) Check(ctx context.Context, key string, r Rule) error {
	if !l.enabled {
		return nil
	}
	var hits int
	var start, now time.Time
	err := l.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		now = tx.Now
		return tx.QueryRow(ctx, `SELECT hits, window_start FROM rate_limits WHERE key = $1 AND window_start > $2`,
			key, tx.Now.Add(-r.Window)).Scan(&hits, &start)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil // nothing counted in this window
	}
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", key, err)
	}
	if hits >= r.Max {
		return refused(start.Add(r.Window).Sub(now))
	}
	return nil
}

// Reset forgets key's count, after a success that ends a run of failures.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if !l.enabled {
		return nil
	}
	return l.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM rate_limits WHERE key = $1`, key); err != nil {
			return fmt.Errorf("reset rate limit %s: %w", key, err)
		}
		return nil
	})
}

// Expire deletes counters whose window ended more than a day before now.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM rate_limits WHERE window_start < $1`, now.Add(-24*time.Hour))
}
