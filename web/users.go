package web

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/account"
	"github.com/userd/userd/sqldb"
)

type getUserInput struct {
	ID string `path:"id" doc:"The user's id."`
}

type publicUserOutput struct {
	Body PublicUser
}

func (s *Server) getUser(ctx context.Context, in *getUserInput) (*publicUserOutput, error) {
	id, ok := userd.ParseID(in.ID)
	if !ok {
		return nil, account.ErrNotFound
	}
	var u account.User
	// System: a public profile is another user's row; only public fields leave.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		u, err = account.Get(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &publicUserOutput{Body: publicUserOf(u)}, nil
}
