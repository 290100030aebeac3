package userd

import "context"

// Actor is who a request acts as: a signed-in user and the session that
// authenticated them. The zero Actor is anonymous.
type Actor struct {
	UserID    string
	SessionID string
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
