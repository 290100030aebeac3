package sqldb

import (
	"context"
	"errors"

	"github.com/userd/userd"
)

// Scope is whose rows a transaction may touch: one user's, or, for work that
// must cross users, the system's. On PostgreSQL it picks the role the
// transaction runs as (userd_app with userd.user_id set, or userd_system) and
// row-level security enforces it; on SQLite every user-owned query filters on
// user_id itself.
type Scope struct {
	System bool
	UserID string
}

// ErrNoScope is returned for a transaction whose context says neither a user
// nor System: it fails closed rather than guess.
var ErrNoScope = errors.New("sqldb: transaction without a scope (no actor, AsUser or System in its context)")

type scopeKey struct{}

// System marks ctx for work that must cross users: finding a session by its
// token before the user is known, sign-up, background jobs, administration.
// Callers say why at the call, and administrative actions are audited.
func System(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, Scope{System: true})
}

// AsUser scopes ctx to one user's rows.
func AsUser(ctx context.Context, userID string) context.Context {
	return context.WithValue(ctx, scopeKey{}, Scope{UserID: userID})
}

// ScopeOf returns ctx's scope: the one set by System or AsUser, else the
// actor's user, else ErrNoScope.
func ScopeOf(ctx context.Context) (Scope, error) {
	if s, ok := ctx.Value(scopeKey{}).(Scope); ok {
		return s, nil
	}
	if a := userd.ActorFrom(ctx); a.UserID != "" {
		return Scope{UserID: a.UserID}, nil
	}
	return Scope{}, ErrNoScope
}

// Own runs fn in a transaction of the user's own with the id of one of
// their rows, once the id is well formed (a UUID); any other id is notFound,
// and opens no transaction.
func (db *DB) Own(ctx context.Context, userID, id string, notFound error, fn func(tx *Tx, id string) error) error {
	parsed, ok := userd.ParseID(id)
	if !ok {
		return notFound
	}
	return db.Tx(AsUser(ctx, userID), func(tx *Tx) error { return fn(tx, parsed) })
}
