package web

import (
	"context"

	"github.com/userd/userd"
)

type viewInput struct {
	Item string `path:"item" doc:"The item's slug."`
	Body *struct {
		AnonymousID *string `json:"anonymous_id,omitempty" doc:"An anonymous viewer's id, as the client keeps it (1 to 200 printable characters); without it an anonymous viewer is their address and user agent. Only a keyed hash of either is stored, under a key that changes every UTC day. Not used for a signed-in caller, who is counted apart from their anonymous views."`
	}
}

func (s *Server) view(ctx context.Context, in *viewInput) (*struct{}, error) {
	var anonymousID *string
	if in.Body != nil {
		anonymousID = in.Body.AnonymousID
	}
	return nil, s.items.View(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item, anonymousID)
}
