package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
)

// FeaturedItem is an item on the featured list.
type FeaturedItem struct {
	Item          string     `json:"item" doc:"The item's slug."`
	Position      int        `json:"position" doc:"The list is ordered by position, then slug."`
	FeaturedFrom  *time.Time `json:"featured_from" doc:"Featured from then (included); null: no start."`
	FeaturedUntil *time.Time `json:"featured_until" doc:"Featured until then (excluded); null: no end."`
	FeaturedBy    string     `json:"featured_by" doc:"Who featured it: plain text, by default the user's or the API key's id."`
}

func featuredOf(f engagement.FeaturedItem) FeaturedItem {
	return FeaturedItem{Item: f.Item, Position: f.Position, FeaturedFrom: f.From, FeaturedUntil: f.Until, FeaturedBy: f.By}
}

type featuredListInput struct {
	Limit int `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"At most this many items."`
}

type featuredListOutput struct {
	Body struct {
		Items []FeaturedItem `json:"items"`
	}
}

func (s *Server) listFeatured(ctx context.Context, in *featuredListInput) (*featuredListOutput, error) {
	list, err := s.items.FeaturedNow(ctx, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &featuredListOutput{}
	out.Body.Items = mapAll(list, featuredOf)
	return out, nil
}

type putFeaturedInput struct {
	Item string `path:"item" doc:"The item's slug."`
	Body struct {
		Position      *int       `json:"position,omitempty" doc:"0 (when absent) to 1000000; the list is ordered by position, then slug."`
		FeaturedFrom  *time.Time `json:"featured_from,omitempty" doc:"Featured from then (included); absent: at once."`
		FeaturedUntil *time.Time `json:"featured_until,omitempty" doc:"Featured until then (excluded), after featured_from; absent: no end."`
		FeaturedBy    string     `json:"featured_by,omitempty" doc:"Plain text, at most 200 characters; the caller's user or API key id when absent."`
	}
}

type featuredOutput struct {
	Body FeaturedItem
}

func (s *Server) putFeatured(ctx context.Context, in *putFeaturedInput) (*featuredOutput, error) {
	b := in.Body
	f, err := s.items.SetFeatured(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item,
		engagement.Featured{Position: b.Position, From: b.FeaturedFrom, Until: b.FeaturedUntil, By: b.FeaturedBy})
	if err != nil {
		return nil, err
	}
	return &featuredOutput{Body: featuredOf(f)}, nil
}

func (s *Server) deleteFeatured(ctx context.Context, in *itemInput) (*struct{}, error) {
	return nil, s.items.Unfeature(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item)
}
