// Package ratelimit owns rate_limits: fixed-window counters in the database,
// so that every userd process of one database shares them exactly.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
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
// also says when to retry, and whether this hit was the first refused in
// its window (the moment to record that a limit was reached, once).
type Error struct {
	Err        *userd.Error
	RetryAfter time.Duration
	First      bool
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the *userd.Error, so that ErrorOf and ErrorKind see it.
func (e *Error) Unwrap() error { return e.Err }

func refused(retry time.Duration, first bool) error {
	return &Error{
		Err:        userd.Errorf(userd.KindRateLimited, "rate_limited", "Too many attempts. Try again later."),
		RetryAfter: max(retry, time.Second),
		First:      first,
	}
}

// stored is the key as the table holds it: its scope (the text before the
// first colon, which userd's code writes) and the SHA-256 of the whole key,
// so that a row has the same small size whatever a client sent.
func stored(key string) string {
	scope, _, _ := strings.Cut(key, ":")
	sum := sha256.Sum256([]byte(key))
	return scope + ":" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// Hit counts one hit against key and returns an *Error when it goes over the
// rule. The hit is committed at once, whatever happens to the request, so
// that it reserves an attempt before the attempt is checked: of N
// concurrent hits, exactly the first Max pass.
func (l *Limiter) Hit(ctx context.Context, key string, r Rule) error {
	if !l.on() {
		return nil
	}
	var refusal error
	err := l.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		refusal, err = l.CountIn(ctx, tx, key, r)
		return err // the hit commits, refused or not
	})
	if err != nil {
		return err
	}
	return refusal
}

// HitIn counts one hit against key in the caller's transaction and returns
// an *Error when it goes over the rule: the hit commits with the action it
// counts, or not at all. It suits actions that are not guesses (a vote, a
// comment), whose refusal rolls the transaction back; the counter's row is
// locked until the transaction ends.
func (l *Limiter) HitIn(ctx context.Context, tx *sqldb.Tx, key string, r Rule) error {
	refusal, err := l.CountIn(ctx, tx, key, r)
	if err != nil {
		return err
	}
	return refusal
}

// CountIn counts one hit against key in the caller's transaction, which
// commits it whether or not it is refused, and returns the refusal (an
// *Error) apart from the error of counting: for a guess whose count must
// hold even when the transaction goes on to other work (a log-in's).
func (l *Limiter) CountIn(ctx context.Context, tx *sqldb.Tx, key string, r Rule) (refusal, err error) {
	refusals, err := l.HitAll(ctx, tx, []string{key}, r)
	if err != nil {
		return nil, err
	}
	return refusals[0], nil
}

// Counting reports whether the Limiter counts hits; when it does not, its
// hits and resets write nothing.
func (l *Limiter) Counting() bool { return l.on() }

// HitAll counts a hit against each of keys (a key named twice, twice) in
// the caller's transaction, in one statement, and returns for each its
// *Error when it goes over the rule, or nil. The hits commit with the
// transaction, the refused ones too: it suits actions of many users that
// share a transaction, where a refusal must not roll the others back.
func (l *Limiter) HitAll(ctx context.Context, tx *sqldb.Tx, keys []string, r Rule) ([]error, error) {
	refusals := make([]error, len(keys))
	if !l.on() || len(keys) == 0 {
		return refusals, nil
	}
	// Each stored key once, with its number of hits, in one order, which is
	// the order its row is locked in.
	hits := map[string]int{}
	for _, k := range keys {
		hits[stored(k)]++
	}
	distinct := slices.Sorted(maps.Keys(hits))
	args := []any{tx.Now.Add(-r.Window)}
	for _, k := range distinct {
		args = append(args, k, tx.Now, hits[k])
	}
	type window struct {
		hits  int
		start time.Time
	}
	windows := map[string]window{}
	err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
		var k string
		var w window
		err := row.Scan(&k, &w.hits, &w.start)
		windows[k] = w
		return err
	}, `INSERT INTO rate_limits (key, window_start, hits) VALUES `+sqldb.Values(2, len(distinct), 3)+`
		ON CONFLICT (key) DO UPDATE SET
			hits = CASE WHEN rate_limits.window_start <= $1 THEN excluded.hits ELSE rate_limits.hits + excluded.hits END,
			window_start = CASE WHEN rate_limits.window_start <= $1 THEN excluded.window_start ELSE rate_limits.window_start END
		RETURNING key, hits, window_start`, args...)
	if err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	// A key's hits take the window's last places, in the order of keys.
	for i, k := range keys {
		s := stored(k)
		w := windows[s]
		refusals[i] = over(w.hits-hits[s]+1, w.start, tx.Now, r)
		hits[s]--
	}
	return refusals, nil
}

// over returns an *Error when hits go over the rule at now.
func over(hits int, start, now time.Time, r Rule) error {
	if hits > r.Max {
		return refused(start.Add(r.Window).Sub(now), hits == r.Max+1)
	}
	return nil
}

// Refund gives back one hit counted against key in its current window:
// an attempt reserved with Hit that turned out well.
func (l *Limiter) Refund(ctx context.Context, key string) error {
	return l.alone(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE rate_limits SET hits = hits - 1 WHERE key = $1 AND hits > 0`, stored(key)); err != nil {
			return fmt.Errorf("refund rate limit: %w", err)
		}
		return nil
	})
}

// Reset forgets key's count, after a success that ends a run of failures.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	return l.alone(ctx, func(tx *sqldb.Tx) error { return l.ResetIn(ctx, tx, key) })
}

// ResetIn forgets key's count in the caller's transaction, after a success
// that ends a run of failures.
func (l *Limiter) ResetIn(ctx context.Context, tx *sqldb.Tx, key string) error {
	if !l.on() {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM rate_limits WHERE key = $1`, stored(key)); err != nil {
		return fmt.Errorf("reset rate limit: %w", err)
	}
	return nil
}

// on reports whether the Limiter counts: a nil one, like one that is off,
// refuses nothing.
func (l *Limiter) on() bool { return l != nil && l.enabled }

// alone runs change to a counter in a transaction of its own, unless the
// Limiter is off.
func (l *Limiter) alone(ctx context.Context, change func(tx *sqldb.Tx) error) error {
	if !l.on() {
		return nil
	}
	return l.db.Tx(sqldb.System(ctx), change)
}

// Expire deletes counters whose window ended more than a day before now.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM rate_limits WHERE window_start < $1`, now.Add(-24*time.Hour))
}
