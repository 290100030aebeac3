package userd

import (
	"context"
	"time"
)

// Actor is who a request acts as: a signed-in user, the session that
// authenticated them and when they signed in to it. The zero Actor is
// anonymous.
type Actor struct {
	UserID    string
	SessionID string
	AuthTime  time.Time
}

type actorKey struct{}

// WithActor returns a copy of ctx that carries a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor that ctx carries, or the anonymous Actor.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
