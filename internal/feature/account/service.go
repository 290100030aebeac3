package account

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service serves users their own account, each call in its own transaction
// in the scope of the actor it serves.
type Service struct {
	db *sqldb.DB
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB) *Service {
	return &Service{db: db}
}

// Update checks a patch of the actor's own fields and applies it: the
// method behind PATCH /v1/me. It returns a KindInvalid error for bad
// fields, ErrNotFound, or ErrUsernameTaken.
func (s *Service) Update(ctx context.Context, a userd.Actor, p Patch) (User, error) {
	if err := userd.Invalid(p.Check()); err != nil {
		return User{}, err
	}
	var u User
	err := s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		u, err = Update(ctx, tx, a.UserID, p)
		return err
	})
	return u, err
}

// Self reads the actor's own user. It returns ErrNotFound.
func (s *Service) Self(ctx context.Context, a userd.Actor) (u User, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		u, err = Get(ctx, tx, a.UserID)
		return err
	})
	return u, err
}
