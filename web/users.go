package web

import (
	"context"
	"strconv"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/account"
	"github.com/userd/userd/social"
	"github.com/userd/userd/sqldb"
)

type getUserInput struct {
	ID string `path:"id" doc:"The user's id, or the auth_user_id of a user known by an external identity provider."`
}

type publicUserOutput struct {
	Body PublicUser
}

func (s *Server) getUser(ctx context.Context, in *getUserInput) (*publicUserOutput, error) {
	me := userd.ActorFrom(ctx).UserID
	var out PublicUser
	// System: a public profile is another user's row; only public fields leave.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		u, err := account.Resolve(ctx, tx, in.ID)
		if err != nil {
			return err
		}
		out = publicUserOf(u)
		if out.FollowersCount, out.FollowingsCount, err = social.Stats(ctx, tx, u.ID); err != nil {
			return err
		}
		if me != "" {
			follows, err := social.Follows(ctx, tx, me, u.ID)
			out.FollowedByMe = &follows
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &publicUserOutput{Body: out}, nil
}

// followTarget resolves the user a follow names (an id or an
// auth_user_id), in tx the first time. Follows that name a user who is
// gone since fail on the foreign key.
func (s *Server) followTarget(ctx context.Context, tx *sqldb.Tx, ref string) (string, error) {
	return s.memo.refs.Load(ref, func() (string, []string, error) {
		u, err := account.Resolve(ctx, tx, ref)
		return u.ID, []string{userd.UserKey(u.ID)}, err
	})
}

func (s *Server) follow(ctx context.Context, in *getUserInput) (*struct{}, error) {
	return nil, s.setFollow(ctx, in.ID, true)
}

func (s *Server) unfollow(ctx context.Context, in *getUserInput) (*struct{}, error) {
	return nil, s.setFollow(ctx, in.ID, false)
}

func (s *Server) setFollow(ctx context.Context, ref string, on bool) error {
	me := userd.ActorFrom(ctx).UserID
	// System: a follow changes the other user's counters too.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		target, err := s.followTarget(ctx, tx, ref)
		if err != nil {
			return err
		}
		if on {
			_, err = social.Follow(ctx, tx, me, target)
		} else {
			_, err = social.Unfollow(ctx, tx, me, target)
		}
		return err
	})
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
	list func(context.Context, *sqldb.Tx, string, string, int) ([]social.Edge, error), key func(string) string) (*followListOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	page, err := s.memo.follows.Load(pageKey(side, in.ID, before, strconv.Itoa(in.Limit)), func() (page encodedPage, tags []string, err error) {
		var id string
		var edges []social.Edge
		// System: the lists are public: other users' public fields.
		err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			if id, err = s.followTarget(ctx, tx, in.ID); err != nil {
				return err
			}
			edges, err = list(ctx, tx, id, before, in.Limit+1)
			return err
		})
		if err != nil {
			return page, nil, err
		}
		tags = []string{key(id), userd.UserKey(id)}
		for _, e := range edges {
			tags = append(tags, userd.UserKey(e.UserID))
		}
		page, err = encodePage(edges, in.Limit, func(e social.Edge) string { return e.FollowID }, edgeOf)
		return page, tags, err
	})
	if err != nil {
		return nil, err
	}
	out := &followListOutput{}
	out.Body.encodedPage = page
	return out, nil
}

func edgeOf(e social.Edge) FollowEdge {
	return FollowEdge{cardOf(e.Card), e.At}
}
