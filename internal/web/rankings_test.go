package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/userd/userd/internal/feature/engagement"
)

// TestRankingsEndpoint: GET /v1/rankings is public, answers the rankings
// as last refreshed (score over all time by default, 20 items) within
// engagement.RankingsCacheFor, and
// refuses unknown rankings and periods, trending over a period, and limits
// out of 1 to 100.
func TestRankingsEndpoint(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		_, bob := c.signup(map[string]any{"email": "bob@example.com"})
		for _, step := range []struct{ method, path, token string }{
			{"PUT", "/v1/items/alpha/vote", ann}, {"PUT", "/v1/items/alpha/vote", bob},
			{"PUT", "/v1/items/beta/vote", bob}, {"PUT", "/v1/items/beta/favorite", ann},
		} {
			var body any
			if strings.HasSuffix(step.path, "/vote") {
				body = map[string]any{"value": 1}
			}
			if r := c.do(step.method, step.path, body, step.token); r.Status != http.StatusNoContent {
				t.Fatalf("%s %s = %d %s", step.method, step.path, r.Status, r.Raw)
			}
		}
		get := func(query string) string {
			t.Helper()
			r := c.do("GET", "/v1/rankings"+query, nil, "")
			if r.Status != http.StatusOK {
				t.Fatalf("GET /v1/rankings%s = %d %s", query, r.Status, r.Raw)
			}
			out := fmt.Sprintf("%s/%s", r.Body["by"], r.Body["period"])
			if r.Body["computed_at"] == nil {
				out += " never"
			}
			for _, it := range r.Body["items"].([]any) {
				m := it.(map[string]any)
				out += fmt.Sprintf(" %v.%s:%v", m["rank"], m["item"], m["value"])
			}
			return out
		}
		if got := get(""); got != "score/all never" {
			t.Fatalf("before a refresh: %s", got)
		}
		clock := withClock(c.db)
		if _, err := engagement.RefreshRankings(context.Background(), c.db); err != nil {
			t.Fatal(err)
		}
		// The server answers a ranking from memory for a while.
		if got := get(""); got != "score/all never" {
			t.Fatalf("right after the refresh: %s", got)
		}
		clock.advance(engagement.RankingsCacheFor)
		for query, want := range map[string]string{
			"":                         "score/all 1.alpha:2 2.beta:1",
			"?limit=1":                 "score/all 1.alpha:2",
			"?by=favorites&period=day": "favorites/day 1.beta:1",
			"?by=views":                "views/all",
			"?by=trending":             "trending/all 1.beta:3 2.alpha:2",
		} {
			if got := get(query); got != want {
				t.Errorf("GET /v1/rankings%s = %s, want %s", query, got, want)
			}
		}
		runScenarios(t, c, []scenario{
			{"unknown ranking", "GET", "/v1/rankings?by=hot", nil, "", 422, "validation_failed"},
			{"unknown period", "GET", "/v1/rankings?period=year", nil, "", 422, "validation_failed"},
			{"trending over a week", "GET", "/v1/rankings?by=trending&period=week", nil, "", 422, "validation_failed"},
			{"limit 0", "GET", "/v1/rankings?limit=0", nil, "", 422, "validation_failed"},
			{"limit 101", "GET", "/v1/rankings?limit=101", nil, "", 422, "validation_failed"},
		})
	})
}
