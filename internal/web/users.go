package web

import (
	"context"
	"strconv"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/social"
)

type getUserInput struct {
	ID string `path:"id" doc:"The user's id, or the auth_user_id of a user known by an external identity provider."`
}

type publicUserOutput struct {
	Body PublicUser
}

func (s *Server) getUser(ctx context.Context, in *getUserInput) (*publicUserOutput, error) {
	p, err := s.social.Profile(ctx, userd.ActorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := publicUserOf(p.User, s.cfg.HideAuthUserID)
	out.FollowersCount, out.FollowingsCount, out.FollowedByMe = p.Followers, p.Followings, p.FollowedByViewer
	return &publicUserOutput{Body: out}, nil
}

// followTarget resolves the user a follow names (an id or an
// auth_user_id), remembered after the first time. Follows that name a user
// who is gone since fail on the foreign key.
func (s *Server) followTarget(ctx context.Context, ref string) (string, error) {
	return s.memo.refs.Load(ref, func() (string, []string, error) {
		id, err := s.social.Resolve(ctx, ref)
		return id, []string{userd.UserKey(id)}, err
	})
}

func (s *Server) follow(ctx context.Context, in *getUserInput) (*struct{}, error) {
	return nil, s.setFollow(ctx, in.ID, true)
}

func (s *Server) unfollow(ctx context.Context, in *getUserInput) (*struct{}, error) {
	return nil, s.setFollow(ctx, in.ID, false)
}

func (s *Server) setFollow(ctx context.Context, ref string, on bool) error {
	target, err := s.followTarget(ctx, ref)
	if err != nil {
		return err
	}
	return s.social.SetFollow(ctx, userd.ActorFrom(ctx), target, on)
}

// FollowEdge is a user in a followers or following list.
type FollowEdge struct {
	UserCard
	FollowedAt time.Time `json:"followed_at"`
}

type followListInput struct {
	ID string `path:"id" doc:"The user's id, or their auth_user_id."`
	Paging
}

type followListOutput struct {
	Body struct {
		encodedPage
		Items      []FollowEdge `json:"items"`
		NextCursor *string      `json:"next_cursor"`
	}
}

func (s *Server) followers(ctx context.Context, in *followListInput) (*followListOutput, error) {
	return s.followList(ctx, in, "followers", social.Followers, userd.FollowersKey)
}

func (s *Server) following(ctx context.Context, in *followListInput) (*followListOutput, error) {
	return s.followList(ctx, in, "following", social.Following, userd.FollowingKey)
}

// followList answers a page of a follow list. Pages are remembered, tagged
// with the list, its user and every user on the page, whose cards change
// with their profiles.
func (s *Server) followList(ctx context.Context, in *followListInput, side string,
	list social.List, key func(string) string) (*followListOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	page, err := s.memo.follows.Load(pageKey(side, in.ID, before, strconv.Itoa(in.Limit)), func() (page encodedPage, tags []string, err error) {
		id, err := s.followTarget(ctx, in.ID)
		if err != nil {
			return page, nil, err
		}
		edges, err := s.social.Page(ctx, list, id, before, in.Limit+1)
		if err != nil {
			return page, nil, err
		}
		tags = []string{key(id), userd.UserKey(id)}
		for _, e := range edges {
			tags = append(tags, userd.UserKey(e.UserID))
		}
		page, err = encodePage(edges, in.Limit, func(e social.Edge) string { return e.FollowID }, s.edgeOf)
		return page, tags, err
	})
	if err != nil {
		return nil, err
	}
	out := &followListOutput{}
	out.Body.encodedPage = page
	return out, nil
}

func (s *Server) edgeOf(e social.Edge) FollowEdge {
	return FollowEdge{cardOf(e.Card, s.cfg.HideAuthUserID), e.At}
}
