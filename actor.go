package userd

import (
	"context"
	"time"
)

// Actor is who a request acts as: a signed-in user, the session that
// authenticated them and when they signed in to it; or an application's API
// key (APIKeyID, with the key's permissions as Grants and no user). The zero
// Actor is anonymous.
type Actor struct {
	UserID    string
	SessionID string
	AuthTime  time.Time
	Grants    Grants
	APIKeyID  string
}

// Client is where a request comes from, for the audit trail: the client's
// address and user agent.
type Client struct {
	IP        string
	UserAgent string
}

// Grants are what a user may do: their roles' names and the permission keys
// those roles carry. A user with an admin role holds every permission.
type Grants struct {
	Roles       []string
	Permissions []string
	Admin       bool
}

// Has reports whether the grants include the permission key.
func (g Grants) Has(key string) bool {
	if g.Admin {
		return true
	}
	for _, p := range g.Permissions {
		if p == key {
			return true
		}
	}
	return false
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
