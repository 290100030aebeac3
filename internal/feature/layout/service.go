package layout

import (
	"context"
	"encoding/json"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service reads and replaces layouts for the users who own them: each call
// is one transaction in the actor's own scope.
type Service struct {
	db *sqldb.DB
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB) *Service { return &Service{db: db} }

// Mine returns the actor's layout, or the default one.
func (s *Service) Mine(ctx context.Context, a userd.Actor) (Layout, error) {
	var l Layout
	err := s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		l, err = Get(ctx, tx, a.UserID)
		return err
	})
	return l, err
}

// Replace checks a layout (see Check) and writes it as the actor's (see
// Put: ifVersion < 0 writes whatever is there). It returns a KindInvalid
// error for a bad layout and ErrStale when the layout changed since
// ifVersion.
func (s *Service) Replace(ctx context.Context, a userd.Actor, desktop, mobile json.RawMessage, ifVersion int) (Layout, error) {
	desktop, mobile, err := Check(desktop, mobile)
	if err != nil {
		return Layout{}, err
	}
	var l Layout
	err = s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		l, err = Put(ctx, tx, a.UserID, desktop, mobile, ifVersion)
		return err
	})
	return l, err
}
