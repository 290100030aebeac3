package web

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
)

// ItemEngagement is an item's engagement as a caller sees it.
type ItemEngagement struct {
	Item           string `json:"item" doc:"The item's slug."`
	CommentsCount  int64  `json:"comments_count" doc:"Live comments on the item, replies included; tombstones of deleted comments are not counted."`
	Upvotes        int64  `json:"upvotes"`
	Downvotes      int64  `json:"downvotes"`
	Score          int64  `json:"score" doc:"upvotes - downvotes."`
	FavoritesCount int64  `json:"favorites_count"`
	ViewsCount     int64  `json:"views_count" doc:"Views, one per item, viewer and UTC day; a signed-in viewer and the same person viewing anonymously are counted apart."`
	Featured       bool   `json:"featured" doc:"Whether the item is on the featured list now (within its featured_from/featured_until window)."`
	Hidden         string `json:"hidden,omitempty" enum:"held,removed" doc:"Set when the item is hidden: held by reports pending review, or removed by a moderator; the application decides what its page does with it."`
	MyVote         *int   `json:"my_vote,omitempty" doc:"The signed-in caller's vote: 1, -1, or 0 for none; absent for an anonymous caller."`
	FavoritedByMe  *bool  `json:"favorited_by_me,omitempty" doc:"Whether the signed-in caller favorited the item; absent for an anonymous caller."`
}

func itemOf(st engagement.Stats) ItemEngagement {
	return ItemEngagement{Item: st.Item, Upvotes: st.Upvotes, Downvotes: st.Downvotes, Score: st.Upvotes - st.Downvotes,
		FavoritesCount: st.Favorites, CommentsCount: st.Comments, ViewsCount: st.Views, Featured: st.Featured, Hidden: st.Hidden, MyVote: st.MyVote, FavoritedByMe: st.FavoritedByMe}
}

type itemInput struct {
	Item string `path:"item" doc:"The item's slug: 1 to 200 of A-Z a-z 0-9 . _ ~ : - (422 invalid_item otherwise)."`
}

type itemOutput struct {
	Body ItemEngagement
}

func (s *Server) getItem(ctx context.Context, in *itemInput) (*itemOutput, error) {
	got, err := s.items.Items(ctx, userd.ActorFrom(ctx), []string{in.Item})
	if err != nil {
		return nil, err
	}
	return &itemOutput{Body: itemOf(got[0])}, nil
}

type itemsInput struct {
	Slugs string `query:"slugs" required:"true" doc:"Up to 100 item slugs, comma-separated; answered in the order asked."`
}

type itemsOutput struct {
	Body struct {
		encodedPage
		Items []ItemEngagement `json:"items"`
	}
}

// getItems answers a signed-in caller with their votes and favorites, and
// anyone else with the answer every anonymous caller gets, which is kept
// encoded (by the slugs as asked) until one of its items changes or, when
// a featured window opens or closes sooner than the cache's own bound, not
// kept at all.
func (s *Server) getItems(ctx context.Context, in *itemsInput) (*itemsOutput, error) {
	a := userd.ActorFrom(ctx)
	out := &itemsOutput{}
	if a.UserID == "" {
		if page, ok := s.memo.items.Get(in.Slugs); ok {
			out.Body.encodedPage = page
			return out, nil
		}
	}
	gen, at := s.memo.items.Generation(), s.db.Now()
	got, err := s.items.Items(ctx, a, strings.Split(in.Slugs, ","))
	if err != nil {
		return nil, err
	}
	var body struct {
		Items []ItemEngagement `json:"items"`
	}
	body.Items = mapAll(got, itemOf)
	if out.Body.encodedPage, err = encodeBody(body); err != nil {
		return nil, err
	}
	if a.UserID == "" && !slices.ContainsFunc(got, func(st engagement.Stats) bool { return !st.Turns.IsZero() && st.Turns.Before(at.Add(recheckAfter)) }) {
		s.memo.items.Put(in.Slugs, out.Body.encodedPage, at, gen, mapAll(got, func(st engagement.Stats) string { return userd.ItemKey(st.Item) })...)
	}
	return out, nil
}

type voteInput struct {
	Item string `path:"item" doc:"The item's slug."`
	Body struct {
		Value int `json:"value" enum:"1,-1" doc:"1 for an upvote, -1 for a downvote."`
	}
}

func (s *Server) vote(ctx context.Context, in *voteInput) (*struct{}, error) {
	return nil, s.items.Vote(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item, in.Body.Value)
}

func (s *Server) unvote(ctx context.Context, in *itemInput) (*struct{}, error) {
	return nil, s.items.Unvote(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item)
}

func (s *Server) favorite(ctx context.Context, in *itemInput) (*struct{}, error) {
	return nil, s.items.SetFavorite(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item, true)
}

func (s *Server) unfavorite(ctx context.Context, in *itemInput) (*struct{}, error) {
	return nil, s.items.SetFavorite(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item, false)
}

// FavoriteItem is one of the user's favorite items.
type FavoriteItem struct {
	Item        string    `json:"item"`
	FavoritedAt time.Time `json:"favorited_at"`
}

type favoritesOutput struct {
	Body struct {
		Items      []FavoriteItem `json:"items"`
		NextCursor *string        `json:"next_cursor"`
	}
}

func (s *Server) listFavorites(ctx context.Context, in *Paging) (*favoritesOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.items.Favorites(ctx, userd.ActorFrom(ctx), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &favoritesOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, func(f engagement.Fav) string { return f.ID },
		func(f engagement.Fav) FavoriteItem { return FavoriteItem{Item: f.Item, FavoritedAt: f.At} })
	return out, nil
}

// ClientProfile is the user's client profile.
type ClientProfile struct {
	ID          string    `json:"id"`
	Plan        string    `json:"plan" doc:"The user's plan; not theirs to change here."`
	Status      string    `json:"status" enum:"active,inactive,suspended"`
	DisplayName string    `json:"display_name"`
	Country     string    `json:"country"`
	City        string    `json:"city"`
	Bio         string    `json:"bio"`
	Website     string    `json:"website"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type clientProfileOutput struct {
	Body ClientProfile
}

func clientProfileOf(p engagement.Profile) *clientProfileOutput {
	return &clientProfileOutput{Body: ClientProfile{ID: p.ID, Plan: p.Plan, Status: p.Status, DisplayName: p.DisplayName,
		Country: p.Country, City: p.City, Bio: p.Bio, Website: p.Web, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}}
}

func (s *Server) getClientProfile(ctx context.Context, _ *struct{}) (*clientProfileOutput, error) {
	p, err := s.items.Profile(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	return clientProfileOf(p), nil
}

type putClientProfileInput struct {
	Body struct {
		Status      string `json:"status,omitempty" doc:"active (when absent), inactive or suspended."`
		DisplayName string `json:"display_name,omitempty" doc:"At most 100 characters."`
		Country     string `json:"country,omitempty" doc:"At most 100 characters."`
		City        string `json:"city,omitempty" doc:"At most 100 characters."`
		Bio         string `json:"bio,omitempty" doc:"At most 2000 characters."`
		Website     string `json:"website,omitempty" doc:"An http or https URL, at most 2000 characters."`
	}
}

func (s *Server) putClientProfile(ctx context.Context, in *putClientProfileInput) (*clientProfileOutput, error) {
	b := in.Body
	p, err := s.items.PutProfile(ctx, userd.ActorFrom(ctx), s.client(ctx), engagement.ProfileInput{Status: b.Status, DisplayName: b.DisplayName,
		Country: b.Country, City: b.City, Bio: b.Bio, Website: b.Website})
	if err != nil {
		return nil, err
	}
	return clientProfileOf(p), nil
}
