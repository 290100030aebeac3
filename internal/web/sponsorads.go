package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/sponsor"
)

// ActiveSponsorAd is a sponsor ad as anyone sees it. Its text is returned
// as the sponsor wrote it: display it as text, never as HTML.
type ActiveSponsorAd struct {
	ID          string    `json:"id"`
	ItemSlug    string    `json:"item_slug" doc:"The item the ad is shown beside."`
	Title       string    `json:"title" doc:"Plain text, as written."`
	Description string    `json:"description" doc:"Plain text, as written; empty when none."`
	ImageURL    *string   `json:"image_url" doc:"An http or https URL; null when none."`
	TargetURL   string    `json:"target_url" doc:"Where the ad leads: an http or https URL."`
	StartsAt    time.Time `json:"starts_at" doc:"Shown from then (included), once approved."`
	EndsAt      time.Time `json:"ends_at" doc:"Shown until then (excluded)."`
}

// SponsorAd is a sponsor ad as its sponsor sees it: with its review, but not
// who made it.
type SponsorAd struct {
	ActiveSponsorAd
	Status     string     `json:"status" enum:"pending,approved,rejected" doc:"pending until an administrator decides; a decision may change later."`
	ReviewNote *string    `json:"review_note" doc:"What the reviewer wrote to the sponsor; null when nothing."`
	ReviewedAt *time.Time `json:"reviewed_at" doc:"When the last decision was made; null while pending."`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// ReviewedSponsorAd is a sponsor ad as a reviewer sees it.
type ReviewedSponsorAd struct {
	SponsorAd
	UserID     string  `json:"user_id" doc:"The sponsor."`
	ReviewedBy *string `json:"reviewed_by" doc:"The user who made the last decision; null while pending, for a decision made with an API key, or once that user is deleted."`
}

func activeSponsorAdOf(a sponsor.Ad) ActiveSponsorAd {
	return ActiveSponsorAd{ID: a.ID, ItemSlug: a.Item, Title: a.Title, Description: a.Description, ImageURL: optional(a.ImageURL),
		TargetURL: a.Target, StartsAt: a.StartsAt, EndsAt: a.EndsAt}
}

func sponsorAdOf(a sponsor.Ad) SponsorAd {
	return SponsorAd{ActiveSponsorAd: activeSponsorAdOf(a), Status: a.Status, ReviewNote: optional(a.ReviewNote), ReviewedAt: a.ReviewedAt,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

func reviewedSponsorAdOf(a sponsor.Ad) ReviewedSponsorAd {
	return ReviewedSponsorAd{SponsorAd: sponsorAdOf(a), UserID: a.UserID, ReviewedBy: optional(a.ReviewedBy)}
}

type submitSponsorAdInput struct {
	Body struct {
		ItemSlug    string    `json:"item_slug" doc:"The item's slug: 1 to 200 of A-Z a-z 0-9 . _ ~ : -"`
		Title       string    `json:"title" doc:"1 to 200 characters, plain text, stored as written."`
		Description string    `json:"description,omitempty" doc:"At most 2000 characters, plain text, stored as written."`
		ImageURL    string    `json:"image_url,omitempty" doc:"An http or https URL with a host and no user name, at most 2000 bytes."`
		TargetURL   string    `json:"target_url" doc:"Where the ad leads: an http or https URL with a host and no user name, at most 2000 bytes."`
		StartsAt    time.Time `json:"starts_at" doc:"Shown from then (included), once approved; may be in the past."`
		EndsAt      time.Time `json:"ends_at" doc:"Shown until then (excluded): after starts_at, and in the future."`
	}
}

type sponsorAdOutput struct {
	Body SponsorAd
}

func (s *Server) submitSponsorAd(ctx context.Context, in *submitSponsorAdInput) (*sponsorAdOutput, error) {
	b := in.Body
	ad, err := s.sponsors.Submit(ctx, userd.ActorFrom(ctx), s.client(ctx), sponsor.New{Item: b.ItemSlug, Title: b.Title, Description: b.Description,
		ImageURL: b.ImageURL, Target: b.TargetURL, StartsAt: b.StartsAt, EndsAt: b.EndsAt})
	if err != nil {
		return nil, err
	}
	return &sponsorAdOutput{Body: sponsorAdOf(ad)}, nil
}

type sponsorAdsOutput struct {
	Body struct {
		Items      []SponsorAd `json:"items"`
		NextCursor *string     `json:"next_cursor"`
	}
}

func (s *Server) listMySponsorAds(ctx context.Context, in *Paging) (*sponsorAdsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.sponsors.Mine(ctx, userd.ActorFrom(ctx), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &sponsorAdsOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, adID, sponsorAdOf)
	return out, nil
}

func adID(a sponsor.Ad) string { return a.ID }

type adminSponsorAdsInput struct {
	Paging
	Status string `query:"status" enum:"pending,approved,rejected" doc:"Only the ads with this status (pending: the review queue); every ad when absent."`
}

type reviewedSponsorAdsOutput struct {
	Body struct {
		Items      []ReviewedSponsorAd `json:"items"`
		NextCursor *string             `json:"next_cursor"`
	}
}

func (s *Server) adminListSponsorAds(ctx context.Context, in *adminSponsorAdsInput) (*reviewedSponsorAdsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.sponsors.List(ctx, userd.ActorFrom(ctx), in.Status, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &reviewedSponsorAdsOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, adID, reviewedSponsorAdOf)
	return out, nil
}

type reviewSponsorAdInput struct {
	ID   string `path:"id" doc:"The ad's id (404 sponsor_ad_not_found when there is none)."`
	Body struct {
		Status     string `json:"status" enum:"approved,rejected" doc:"The decision; it replaces an earlier one."`
		ReviewNote string `json:"review_note,omitempty" doc:"For the sponsor, who is told of the decision: plain text, at most 2000 characters."`
	}
}

type reviewedSponsorAdOutput struct {
	Body ReviewedSponsorAd
}

func (s *Server) reviewSponsorAd(ctx context.Context, in *reviewSponsorAdInput) (*reviewedSponsorAdOutput, error) {
	ad, err := s.sponsors.Review(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, in.Body.Status, in.Body.ReviewNote)
	if err != nil {
		return nil, err
	}
	return &reviewedSponsorAdOutput{Body: reviewedSponsorAdOf(ad)}, nil
}

type activeSponsorAdsInput struct {
	Item  string `query:"item" doc:"Only the ads of this item (a slug; 422 invalid_item otherwise); every item's when absent."`
	Limit int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"At most this many ads."`
}

type activeSponsorAdsOutput struct {
	Body struct {
		Items []ActiveSponsorAd `json:"items"`
	}
}

func (s *Server) activeSponsorAds(ctx context.Context, in *activeSponsorAdsInput) (*activeSponsorAdsOutput, error) {
	list, err := s.sponsors.Active(ctx, in.Item, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &activeSponsorAdsOutput{}
	out.Body.Items = mapAll(list, activeSponsorAdOf)
	return out, nil
}
