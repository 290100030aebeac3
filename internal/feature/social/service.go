package social

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/platform/batch"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service serves the follow graph. Its reads and writes cross users by
// nature (a profile, a list of followers, the counters of the user
// followed), so each opens its own transaction across users and lets only
// public fields out.
type Service struct {
	db        *sqldb.DB
	following *batch.Batcher[*change] // SetFollow's writes, shared (see commitFollows)
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB) *Service {
	return &Service{db: db, following: batch.New[*change](maxFollows, followsAtOnce)}
}

// Profile is a user as anyone may see them, with their follow counts and,
// for a signed-in viewer, whether the viewer follows them.
type Profile struct {
	User                  account.User // read its public fields only
	Followers, Followings int64
	FollowedByViewer      *bool // nil for an anonymous viewer
}

// Profile returns the user that ref names (an id or an auth_user_id) as the
// viewer (the zero Actor for anyone) sees them. It returns
// account.ErrNotFound.
func (s *Service) Profile(ctx context.Context, viewer userd.Actor, ref string) (Profile, error) {
	var p Profile
	// System: a profile is another user's row; only public fields leave.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		if p.User, err = account.Resolve(ctx, tx, ref); err != nil {
			return err
		}
		if p.Followers, p.Followings, err = Stats(ctx, tx, p.User.ID); err != nil || viewer.UserID == "" {
			return err
		}
		follows, err := Follows(ctx, tx, viewer.UserID, p.User.ID)
		p.FollowedByViewer = &follows
		return err
	})
	return p, err
}

// Resolve returns the id of the user that ref names (an id or an
// auth_user_id). It returns account.ErrNotFound.
func (s *Service) Resolve(ctx context.Context, ref string) (id string, err error) {
	// System: finding a user by a public reference.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		u, err := account.Resolve(ctx, tx, ref)
		id = u.ID
		return err
	})
	return id, err
}

// SetFollow makes the actor follow (on) or stop following the user with
// the given id; doing it twice changes nothing. It returns ErrSelfFollow
// and ErrUserNotFound (a user who is gone). It answers once the change has
// committed, in a transaction that concurrent changes share (see
// commitFollows).
func (s *Service) SetFollow(ctx context.Context, a userd.Actor, userID string, on bool) error {
	if on && a.UserID == userID {
		return ErrSelfFollow
	}
	c := &change{ctx: context.WithoutCancel(ctx), follower: a.UserID, following: userID, on: on}
	if err := s.following.Add(c, s.commitFollows); err != nil {
		return err
	}
	return c.err
}

// List is Followers or Following.
type List func(ctx context.Context, tx *sqldb.Tx, userID, beforeID string, limit int) ([]Edge, error)

// Page returns up to limit edges of a user's list, newest first, after the
// edge with id before.
func (s *Service) Page(ctx context.Context, list List, userID, before string, limit int) (edges []Edge, err error) {
	// System: the lists are public: other users' public fields.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		edges, err = list(ctx, tx, userID, before, limit)
		return err
	})
	return edges, err
}
