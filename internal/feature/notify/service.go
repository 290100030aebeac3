package notify

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service serves users their notifications: each call is one transaction
// in the actor's own scope.
type Service struct {
	db *sqldb.DB
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB) *Service { return &Service{db: db} }

// view reads in the actor's scope.
func (s *Service) view(ctx context.Context, a userd.Actor, fn func(tx *sqldb.Tx) error) error {
	return s.db.View(sqldb.AsUser(ctx, a.UserID), fn)
}

// List returns up to limit of the actor's notifications (only unread ones
// when unread is set), newest first, after the one with id before.
func (s *Service) List(ctx context.Context, a userd.Actor, unread bool, before string, limit int) (list []Notification, err error) {
	err = s.view(ctx, a, func(tx *sqldb.Tx) (err error) {
		list, err = List(ctx, tx, a.UserID, unread, before, limit)
		return err
	})
	return list, err
}

// After returns up to limit of the actor's notifications after the one with
// id after, oldest first: what a stream missed.
func (s *Service) After(ctx context.Context, a userd.Actor, after string, limit int) (list []Notification, err error) {
	err = s.view(ctx, a, func(tx *sqldb.Tx) (err error) {
		list, err = After(ctx, tx, a.UserID, after, limit)
		return err
	})
	return list, err
}

// Get returns one of the actor's notifications. It returns ErrNotFound.
func (s *Service) Get(ctx context.Context, a userd.Actor, id string) (n Notification, err error) {
	err = s.view(ctx, a, func(tx *sqldb.Tx) (err error) {
		n, err = Get(ctx, tx, a.UserID, id)
		return err
	})
	return n, err
}

// Unread returns how many of the actor's notifications are unread.
func (s *Service) Unread(ctx context.Context, a userd.Actor) (n int, err error) {
	err = s.view(ctx, a, func(tx *sqldb.Tx) (err error) {
		n, err = UnreadCount(ctx, tx, a.UserID)
		return err
	})
	return n, err
}

// MarkRead marks one of the actor's notifications read. It returns
// ErrNotFound.
func (s *Service) MarkRead(ctx context.Context, a userd.Actor, id string) error {
	return s.db.Own(ctx, a.UserID, id, ErrNotFound, func(tx *sqldb.Tx, id string) error { return MarkRead(ctx, tx, a.UserID, id) })
}

// Delete deletes one of the actor's notifications. It returns ErrNotFound.
func (s *Service) Delete(ctx context.Context, a userd.Actor, id string) error {
	return s.db.Own(ctx, a.UserID, id, ErrNotFound, func(tx *sqldb.Tx, id string) error { return Delete(ctx, tx, a.UserID, id) })
}

// MarkAllRead marks every notification of the actor's read and returns how
// many changed.
func (s *Service) MarkAllRead(ctx context.Context, a userd.Actor) (n int64, err error) {
	err = s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		n, err = MarkAllRead(ctx, tx, a.UserID)
		return err
	})
	return n, err
}
