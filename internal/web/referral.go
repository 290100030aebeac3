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

// ReferredUser is a user who signed up through the referral. Once they
// delete their account the referral still counts, with null fields.
type ReferredUser struct {
	UserCard
	ID         *string   `json:"id" format:"uuid" doc:"The user's id; null once they deleted their account (the referral still counts)."`
	ReferredAt time.Time `json:"referred_at"`
}

// referredOf is how x appears in the referrer's lists.
func (s *Server) referredOf(x referral.Referred) ReferredUser {
	r := ReferredUser{UserCard: cardOf(x.Card, s.cfg.HideAuthUserID), ReferredAt: x.At}
	if x.UserID != "" {
		r.ID = &x.UserID
	}
	return r
}

type referralOutput struct {
	Body Referral
}

// recentReferred is how many of the users a referral brought it shows.
const recentReferred = 100

func (s *Server) referralOf(o referral.Overview) *referralOutput {
	out := &referralOutput{Body: Referral{Slug: o.Slug, ReferredCount: o.ReferredCount, ReferredUsers: []ReferredUser{}}}
	for _, x := range o.Recent {
		out.Body.ReferredUsers = append(out.Body.ReferredUsers, s.referredOf(x))
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

type referredOutput struct {
	Body struct {
		Items      []ReferredUser `json:"items"`
		NextCursor *string        `json:"next_cursor"`
	}
}

// referredUsers pages through every user the caller's referral brought,
// newest first.
func (s *Server) referredUsers(ctx context.Context, in *Paging) (*referredOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.referrals.Referred(ctx, userd.ActorFrom(ctx), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &referredOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, func(x referral.Referred) string { return x.ID }, s.referredOf)
	return out, nil
}
