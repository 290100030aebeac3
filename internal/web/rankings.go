package web

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/userd/userd/internal/feature/engagement"
)

// RankedItem is an item's place in a ranking.
type RankedItem struct {
	Rank  int     `json:"rank" doc:"1 first; ties are broken by slug ascending."`
	Item  string  `json:"item" doc:"The item's slug."`
	Value float64 `json:"value" doc:"What the item is ranked by: its score (upvotes - downvotes), views, favorites or comments over the period, or its trending score."`
}

// Rankings is a ranking as GET /v1/rankings answers it.
type Rankings struct {
	By         string       `json:"by"`
	Period     string       `json:"period"`
	ComputedAt *time.Time   `json:"computed_at" doc:"When the rankings were computed: they are refreshed every minute, while an item's counters (GET /v1/items) are exact at every commit. null before any item was ranked."`
	Items      []RankedItem `json:"items" doc:"The items of highest value above zero, best first."`
}

type rankingsInput struct {
	By     string `query:"by" enum:"score,views,favorites,comments,trending" default:"score" doc:"What items are ranked by. trending: the sum over the last 14 UTC days (today's age 0) of (upvotes - downvotes + 2·favorites + 3·comments + views/10) · 0.5^(age/2), what each day added."`
	Period string `query:"period" enum:"day,week,month,all" default:"all" doc:"all: the all-time counters; day: today (UTC); week: the last 7 UTC days, today included; month: the last 30. A period ranks by what it added (a vote changed from up to down within it counts -1 up, +1 down). trending takes all only (422 otherwise)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"At most this many items."`
}

type rankingsOutput struct {
	Body struct {
		encodedPage
		Rankings
	}
}

// encodedRanking is an answer of GET /v1/rankings, encoded, and the
// ranking it was made of.
type encodedRanking struct {
	of   engagement.Ranking
	page encodedPage
}

// same reports whether a and b are the same ranking.
func same(a, b engagement.Ranking) bool {
	at := a.ComputedAt == b.ComputedAt || (a.ComputedAt != nil && b.ComputedAt != nil && a.ComputedAt.Equal(*b.ComputedAt))
	return at && a.By == b.By && a.Period == b.Period && slices.Equal(a.Items, b.Items)
}

func (s *Server) rankings(ctx context.Context, in *rankingsInput) (*rankingsOutput, error) {
	r, err := s.items.Ranking(ctx, in.By, in.Period, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &rankingsOutput{}
	key := fmt.Sprint(in.By, " ", in.Period, " ", in.Limit)
	if e, ok := s.rankingPages.Load(key); ok && same(e.(encodedRanking).of, r) {
		out.Body.encodedPage = e.(encodedRanking).page
		return out, nil
	}
	out.Body.encodedPage, err = encodeBody(Rankings{By: r.By, Period: r.Period, ComputedAt: r.ComputedAt,
		Items: mapAll(r.Items, func(it engagement.Ranked) RankedItem {
			return RankedItem{Rank: it.Rank, Item: it.Item, Value: it.Value}
		})})
	if err != nil {
		return nil, err
	}
	s.rankingPages.Store(key, encodedRanking{of: r, page: out.Body.encodedPage})
	return out, nil
}
