package referral

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service serves users their own referral: each call opens its own
// transactions, in the actor's scope for their referral and across users
// only for the public fields of those it brought.
type Service struct {
	db *sqldb.DB
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB) *Service { return &Service{db: db} }

// Overview is a user's referral and the most recent users it brought.
type Overview struct {
	Referral
	Recent []Referred
}

// Mine returns the actor's referral, made on first use, with up to recent
// of the users it brought, newest first.
func (s *Service) Mine(ctx context.Context, a userd.Actor, recent int) (Overview, error) {
	var o Overview
	err := s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		o.Referral, err = Get(ctx, tx, a.UserID)
		return err
	})
	if err != nil {
		return Overview{}, err
	}
	o.Recent, err = s.Referred(ctx, a, "", recent)
	return o, err
}

// Choose gives the actor's referral a slug of their choosing and returns
// it as Mine does. It returns a KindInvalid error for a malformed or
// reserved slug and ErrSlugTaken.
func (s *Service) Choose(ctx context.Context, a userd.Actor, slug string, recent int) (Overview, error) {
	if err := userd.Invalid(CheckSlug(&slug)); err != nil {
		return Overview{}, err
	}
	err := s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		return SetSlug(ctx, tx, a.UserID, slug)
	})
	if err != nil {
		return Overview{}, err
	}
	return s.Mine(ctx, a, recent)
}

// Find returns the actor's referral, and false when they have none yet: it
// makes nothing (see Find).
func (s *Service) Find(ctx context.Context, a userd.Actor) (r Referral, ok bool, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		r, ok, err = Find(ctx, tx, a.UserID)
		return err
	})
	return r, ok, err
}

// Referred returns up to limit of the users the actor's referral brought,
// newest first, after the row before ("" for the first page), with their
// public fields (see ReferredUsers).
func (s *Service) Referred(ctx context.Context, a userd.Actor, before string, limit int) (out []Referred, err error) {
	// System: the referred users' rows are theirs; only public fields leave.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		out, err = ReferredUsers(ctx, tx, a.UserID, before, limit)
		return err
	})
	return out, err
}
