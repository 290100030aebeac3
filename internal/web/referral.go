package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/referral"
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

// recentReferred is how many of the users a referral brought it shows.
const recentReferred = 100

func (s *Server) referralOf(o referral.Overview) *referralOutput {
	out := &referralOutput{Body: Referral{Slug: o.Slug, ReferredCount: o.ReferredCount, ReferredUsers: []ReferredUser{}}}
	for _, x := range o.Recent {
		out.Body.ReferredUsers = append(out.Body.ReferredUsers, ReferredUser{cardOf(x.Card, s.cfg.HideAuthUserID), x.At})
	}
	return out
}

func (s *Server) getReferral(ctx context.Context, _ *struct{}) (*referralOutput, error) {
	o, err := s.referrals.Mine(ctx, userd.ActorFrom(ctx), recentReferred)
	if err != nil {
		return nil, err
	}
	return s.referralOf(o), nil
}

type putReferralInput struct {
	Body struct {
		Slug string `json:"slug" doc:"3 to 32 of a-z, 0-9 and '-'; case does not matter."`
	}
}

func (s *Server) putReferral(ctx context.Context, in *putReferralInput) (*referralOutput, error) {
	o, err := s.referrals.Choose(ctx, userd.ActorFrom(ctx), in.Body.Slug, recentReferred)
	if err != nil {
		return nil, err
	}
	return s.referralOf(o), nil
}
