package engagement_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// june is when every test clock of the package starts.
var june = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func featurer(t *testing.T, db *sqldb.DB) userd.Actor {
	a := dbtest.User(t, db, "editor@example.com")
	a.Grants = userd.Grants{Permissions: []string{engagement.FeaturePermission}}
	return a
}

func slugs(list []engagement.FeaturedItem) string {
	var out []string
	for _, f := range list {
		out = append(out, f.Item)
	}
	return strings.Join(out, ",")
}

func featuredNow(t *testing.T, s *engagement.Service) string {
	t.Helper()
	list, err := s.FeaturedNow(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return slugs(list)
}

func isFeatured(t *testing.T, s *engagement.Service, item string) bool {
	t.Helper()
	got, err := s.Items(context.Background(), userd.Actor{}, []string{item})
	if err != nil {
		t.Fatal(err)
	}
	return got[0].Featured
}

// TestFeaturedWindow: an item is featured from featured_from (included)
// until featured_until (excluded), at the transaction's clock, both in the
// list and in the item's read.
func TestFeaturedWindow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s, clk := context.Background(), remembering(t, db, engagement.Deps{}), dbtest.NewClock(db, june)
		a := featurer(t, db)
		from := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
		until := from.Add(48 * time.Hour)
		f, err := s.SetFeatured(ctx, a, userd.Client{}, "launch", engagement.Featured{From: &from, Until: &until})
		if err != nil {
			t.Fatal(err)
		}
		if f.Item != "launch" || f.Position != 0 || !f.From.Equal(from) || !f.Until.Equal(until) || f.By != a.UserID {
			t.Fatalf("row %+v", f)
		}
		for _, c := range []struct {
			at   time.Time
			want bool
		}{
			{from.Add(-time.Second), false},
			{from, true},
			{from.Add(24 * time.Hour), true},
			{until.Add(-time.Microsecond), true},
			{until, false},
			{until.Add(time.Hour), false},
		} {
			clk.Set(c.at)
			if got := featuredNow(t, s) == "launch"; got != c.want {
				t.Errorf("at %s: listed %v, want %v", c.at, got, c.want)
			}
			if got := isFeatured(t, s, "launch"); got != c.want {
				t.Errorf("at %s: item featured %v, want %v", c.at, got, c.want)
			}
		}
		// Open ends: no window is always featured; only an end, until then.
		clk.Set(until.Add(time.Hour))
		if _, err := s.SetFeatured(ctx, a, userd.Client{}, "launch", engagement.Featured{}); err != nil {
			t.Fatal(err)
		}
		if !isFeatured(t, s, "launch") {
			t.Error("an item without a window is not featured")
		}
		end := until.Add(2 * time.Hour)
		if _, err := s.SetFeatured(ctx, a, userd.Client{}, "launch", engagement.Featured{Until: &end}); err != nil {
			t.Fatal(err)
		}
		if !isFeatured(t, s, "launch") {
			t.Error("an item with only an end to come is not featured")
		}
		clk.Set(end)
		if isFeatured(t, s, "launch") || featuredNow(t, s) != "" {
			t.Error("an item past its end is featured")
		}
	})
}

// TestFeaturedOrder: the list is ordered by position, then slug, and holds
// only what is featured now; an upsert moves an item and keeps one row.
func TestFeaturedOrder(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s, clk := context.Background(), remembering(t, db, engagement.Deps{}), dbtest.NewClock(db, june)
		a := featurer(t, db)
		later := clk.Now().Add(time.Hour)
		for _, c := range []struct {
			item string
			pos  int
			from *time.Time
		}{{"c", 1, nil}, {"b", 2, nil}, {"a", 2, nil}, {"z", 0, nil}, {"soon", 0, &later}} {
			pos := c.pos
			if _, err := s.SetFeatured(ctx, a, userd.Client{}, c.item, engagement.Featured{Position: &pos, From: c.from, By: "editors"}); err != nil {
				t.Fatal(err)
			}
		}
		if got := featuredNow(t, s); got != "z,c,a,b" {
			t.Fatalf("featured %s, want z,c,a,b", got)
		}
		clk.Set(later)
		if got := featuredNow(t, s); got != "soon,z,c,a,b" {
			t.Fatalf("featured %s, want soon,z,c,a,b", got)
		}
		// Upsert: b moves to the front; still one row of b.
		zero := 0
		f, err := s.SetFeatured(ctx, a, userd.Client{}, "b", engagement.Featured{Position: &zero})
		if err != nil {
			t.Fatal(err)
		}
		if f.By != a.UserID || f.Position != 0 {
			t.Fatalf("upserted %+v", f)
		}
		if got := featuredNow(t, s); got != "b,soon,z,c,a" {
			t.Fatalf("featured %s, want b,soon,z,c,a", got)
		}
		var n int
		db.SQL().QueryRow(`SELECT count(*) FROM featured_items WHERE item_slug = 'b'`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d rows of b", n)
		}
		list, _ := s.FeaturedNow(ctx, 2)
		if slugs(list) != "b,soon" {
			t.Fatalf("limit 2: %s", slugs(list))
		}
		// Unfeature, twice.
		for range 2 {
			if err := s.Unfeature(ctx, a, userd.Client{}, "z"); err != nil {
				t.Fatal(err)
			}
		}
		if got := featuredNow(t, s); got != "b,soon,c,a" {
			t.Fatalf("featured %s, want b,soon,c,a", got)
		}
		// An API key features in its own name.
		key := userd.Actor{APIKeyID: userd.NewID(time.Now()), Grants: userd.Grants{Permissions: []string{engagement.FeaturePermission}}}
		if f, err := s.SetFeatured(ctx, key, userd.Client{}, "k", engagement.Featured{}); err != nil || f.By != key.APIKeyID {
			t.Fatalf("by a key: %+v, %v", f, err)
		}
		// Each change is in the trail.
		var featured, unfeatured int
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'admin.item_featured'`).Scan(&featured)
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'admin.item_unfeatured'`).Scan(&unfeatured)
		if featured != 7 || unfeatured != 2 {
			t.Fatalf("trail: %d featured, %d unfeatured; want 7, 2", featured, unfeatured)
		}
	})
}

// TestFeaturedRefused: bad input and a caller without the permission change
// nothing.
func TestFeaturedRefused(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s, clk := context.Background(), remembering(t, db, engagement.Deps{}), dbtest.NewClock(db, june)
		a := featurer(t, db)
		one := 1
		if _, err := s.SetFeatured(ctx, a, userd.Client{}, "kept", engagement.Featured{Position: &one, By: "first"}); err != nil {
			t.Fatal(err)
		}
		snapshot := func() string {
			var out []string
			rows, err := db.SQL().Query(`SELECT item_slug, position, featured_by FROM featured_items ORDER BY item_slug`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var slug, by string
				var pos int
				rows.Scan(&slug, &pos, &by)
				out = append(out, fmt.Sprint(slug, "/", by, "/", pos))
			}
			var n int
			db.SQL().QueryRow(`SELECT count(*) FROM activity_logs`).Scan(&n)
			return fmt.Sprint(strings.Join(out, ","), "|", n)
		}
		before := snapshot()
		now := clk.Now()
		past := now.Add(-time.Hour)
		neg, big := -1, engagement.MaxPosition+1
		for name, c := range map[string]struct {
			actor userd.Actor
			item  string
			f     engagement.Featured
			code  string
		}{
			"no permission": {userd.Actor{UserID: a.UserID}, "kept", engagement.Featured{}, "forbidden"},
			"bad slug":      {a, "no spaces", engagement.Featured{}, "invalid_item"},
			"long slug":     {a, strings.Repeat("x", 201), engagement.Featured{}, "invalid_item"},
			"negative":      {a, "kept", engagement.Featured{Position: &neg}, "validation_failed"},
			"too far":       {a, "kept", engagement.Featured{Position: &big}, "validation_failed"},
			"until first":   {a, "kept", engagement.Featured{From: &now, Until: &past}, "validation_failed"},
			"empty window":  {a, "kept", engagement.Featured{From: &now, Until: &now}, "validation_failed"},
			"long by":       {a, "kept", engagement.Featured{By: strings.Repeat("b", 201)}, "validation_failed"},
		} {
			_, err := s.SetFeatured(ctx, c.actor, userd.Client{}, c.item, c.f)
			var e *userd.Error
			if !errors.As(err, &e) || e.Code != c.code {
				t.Errorf("%s: %v, want %s", name, err, c.code)
			}
		}
		for name, c := range map[string]struct {
			actor userd.Actor
			item  string
		}{"unfeature without permission": {userd.Actor{UserID: a.UserID}, "kept"}, "unfeature bad slug": {a, "a/b"}} {
			if err := s.Unfeature(ctx, c.actor, userd.Client{}, c.item); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		if after := snapshot(); after != before {
			t.Fatalf("changed: %s, was %s", after, before)
		}
		if got := featuredNow(t, s); !slices.Equal(strings.Split(got, ","), []string{"kept"}) {
			t.Fatalf("featured %s", got)
		}
	})
}

// TestAllFeatured: an administrator's list holds every row, past, present
// and to come, by position then slug, where FeaturedNow holds only the
// present; it needs the permission.
func TestAllFeatured(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), engagement.NewService(db, engagement.Deps{})
		now := dbtest.NewClock(db, june).Now()
		a := featurer(t, db)
		past, future := now.Add(-time.Hour), now.Add(time.Hour)
		one, two := 1, 2
		for item, f := range map[string]engagement.Featured{
			"ended":  {Until: &past},
			"soon":   {From: &future, Position: &one},
			"live":   {Position: &two},
			"always": {Position: &one},
		} {
			if _, err := s.SetFeatured(ctx, a, userd.Client{}, item, f); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.AllFeatured(ctx, a, 0)
		if err != nil || slugs(all) != "ended,always,soon,live" || !all[2].From.Equal(future) || all[2].By != a.UserID {
			t.Fatalf("all = %+v, %v", all, err)
		}
		if got := featuredNow(t, s); got != "always,live" {
			t.Fatalf("now = %s", got)
		}
		if all, err := s.AllFeatured(ctx, a, 2); err != nil || slugs(all) != "ended,always" {
			t.Fatalf("two = %+v, %v", all, err)
		}
		if _, err := s.AllFeatured(ctx, userd.Actor{UserID: a.UserID}, 10); !errors.Is(err, engagement.ErrFeatureForbidden) {
			t.Fatalf("without the permission: %v", err)
		}
	})
}
