package synchronization

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service keeps the actors' synchronizations: each call is one transaction
// in the actor's own scope that checks its input and schedules or cancels
// the synchronization's jobs.
type Service struct {
	db   *sqldb.DB
	ring *seal.Keyring
}

// NewService returns a Service that seals tokens with ring.
func NewService(db *sqldb.DB, ring *seal.Keyring) *Service { return &Service{db: db, ring: ring} }

// Now is the time the service reads the next daily runs from.
func (s *Service) Now() time.Time { return s.db.Now() }

// List returns up to limit of the actor's synchronizations, newest first,
// after the one with id before ("" for the first page).
func (s *Service) List(ctx context.Context, a userd.Actor, before string, limit int) ([]Sync, error) {
	var list []Sync
	err := s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		list, err = List(ctx, tx, a.UserID, before, limit)
		return err
	})
	return list, err
}

// Create links a service account for the actor. It returns a KindInvalid
// error for a bad patch, ErrExists and ErrTooMany.
func (s *Service) Create(ctx context.Context, a userd.Actor, p Patch) (Sync, error) {
	if err := userd.Invalid(p.Check(true)); err != nil {
		return Sync{}, err
	}
	var out Sync
	err := s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		out, err = Create(ctx, tx, s.ring, a.UserID, p)
		return err
	})
	return out, err
}

// own runs fn in a transaction of the actor's with a well-formed
// synchronization id (any other id is ErrNotFound) and returns the
// synchronization it gives.
func (s *Service) own(ctx context.Context, a userd.Actor, syncID string, fn func(tx *sqldb.Tx, id string) (Sync, error)) (out Sync, err error) {
	err = s.db.Own(ctx, a.UserID, syncID, ErrNotFound, func(tx *sqldb.Tx, id string) (err error) {
		out, err = fn(tx, id)
		return err
	})
	return out, err
}

// Get returns one of the actor's synchronizations. It returns ErrNotFound.
func (s *Service) Get(ctx context.Context, a userd.Actor, id string) (Sync, error) {
	return s.own(ctx, a, id, func(tx *sqldb.Tx, id string) (Sync, error) { return Get(ctx, tx, a.UserID, id) })
}

// Update changes one of the actor's synchronizations and reschedules its
// jobs. It returns a KindInvalid error for a bad patch, ErrNotFound and
// ErrExists.
func (s *Service) Update(ctx context.Context, a userd.Actor, id string, p Patch) (Sync, error) {
	if err := userd.Invalid(p.Check(false)); err != nil {
		return Sync{}, err
	}
	return s.own(ctx, a, id, func(tx *sqldb.Tx, id string) (Sync, error) { return Update(ctx, tx, s.ring, a.UserID, id, p) })
}

// Delete unlinks one of the actor's synchronizations and cancels its jobs.
// It returns ErrNotFound.
func (s *Service) Delete(ctx context.Context, a userd.Actor, id string) error {
	_, err := s.own(ctx, a, id, func(tx *sqldb.Tx, id string) (Sync, error) { return Sync{}, Delete(ctx, tx, a.UserID, id) })
	return err
}

// ErrInFuture refuses a sync said to have finished later than now.
var ErrInFuture = userd.Invalid([]userd.FieldError{{Field: "synced_at", Code: "in_future", Message: "A sync cannot finish in the future."}})

// Complete records that the application finished a sync of one of the
// actor's synchronizations, at syncedAt (now when nil). It returns
// ErrInFuture for a time more than a minute ahead, and ErrNotFound.
func (s *Service) Complete(ctx context.Context, a userd.Actor, id string, syncedAt *time.Time) (Sync, error) {
	return s.own(ctx, a, id, func(tx *sqldb.Tx, id string) (Sync, error) {
		at := tx.Now
		if syncedAt != nil {
			if syncedAt.After(tx.Now.Add(time.Minute)) {
				return Sync{}, ErrInFuture
			}
			at = *syncedAt
		}
		return Complete(ctx, tx, a.UserID, id, at)
	})
}
