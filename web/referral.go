package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/referral"
	"github.com/userd/userd/sqldb"
)

// Referral is the user's referral and who came through it.
type Referral struct {
	Slug          string         `json:"slug" doc:"Share it: new users give it as referral_slug at sign-up."`
	ReferredCount int            `json:"referred_count"`
	ReferredUsers []ReferredUser `json:"referred_users" doc:"The 100 most recent."`
}

// ReferredUser is a user who signed up through the referral.
type ReferredUser struct {
	UserCard
	ReferredAt time.Time `json:"referred_at"`
}

type referralOutput struct {
	Body Referral
}

// referralView reads the actor's referral, then the referred users' public
// fields across users.
func (s *Server) referralView(ctx context.Context) (*referralOutput, error) {
	userID := userd.ActorFrom(ctx).UserID
	var r referral.Referral
	err := s.db.View(ctx, func(tx *sqldb.Tx) (err error) {
		r, err = referral.Get(ctx, tx, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	var referred []referral.Referred
	// System: the referred users' rows are theirs; only public fields leave.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		referred, err = referral.ReferredUsers(ctx, tx, userID, 100)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &referralOutput{Body: Referral{Slug: r.Slug, ReferredCount: r.ReferredCount, ReferredUsers: []ReferredUser{}}}
	for _, x := range referred {
		out.Body.ReferredUsers = append(out.Body.ReferredUsers, ReferredUser{cardOf(x.Card), x.At})
	}
	return out, nil
}

func (s *Server) getReferral(ctx context.Context, _ *struct{}) (out *referralOutput, err error) {
	// A write: the referral is made on first use.
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := referral.Get(ctx, tx, userd.ActorFrom(ctx).UserID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.referralView(ctx)
}

type putReferralInput struct {
	Body struct {
		Slug string `json:"slug" doc:"3 to 32 of a-z, 0-9 and '-'; case does not matter."`
	}
}

func (s *Server) putReferral(ctx context.Context, in *putReferralInput) (out *referralOutput, err error) {
	slug := in.Body.Slug
	if err := userd.Invalid(referral.CheckSlug(&slug)); err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		return referral.SetSlug(ctx, tx, userd.ActorFrom(ctx).UserID, slug)
	})
	if err != nil {
		return nil, err
	}
	return s.referralView(ctx)
}
