package sponsor_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/sponsor"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// noon is when every test's clock starts.
var noon = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func reviewer(t *testing.T, db *sqldb.DB, email string) userd.Actor {
	a := dbtest.User(t, db, email)
	a.Grants = userd.Grants{Permissions: []string{sponsor.ReviewPermission}}
	return a
}

// ad is a valid submission for item, shown from start for d.
func ad(item string, start time.Time, d time.Duration) sponsor.New {
	return sponsor.New{Item: item, Title: "Try " + item, Target: "https://example.com/" + item, StartsAt: start, EndsAt: start.Add(d)}
}

func submit(t *testing.T, s *sponsor.Service, a userd.Actor, n sponsor.New) sponsor.Ad {
	t.Helper()
	got, err := s.Submit(context.Background(), a, userd.Client{}, n)
	if err != nil {
		t.Fatalf("submit %+v: %v", n, err)
	}
	return got
}

func review(t *testing.T, s *sponsor.Service, a userd.Actor, id, status, note string) sponsor.Ad {
	t.Helper()
	got, err := s.Review(context.Background(), a, userd.Client{}, id, status, note)
	if err != nil {
		t.Fatalf("review %s %s: %v", id, status, err)
	}
	return got
}

// trail returns the actions, actors and metadata of the entries about an ad
// in its sponsor's trail, oldest first.
func trail(t *testing.T, db *sqldb.DB, sponsorID, adID string) []string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT action, actor_user_id, metadata FROM activity_logs WHERE user_id = $1 AND target_type = 'sponsor_ad' AND target_id = $2 ORDER BY id`,
		sponsorID, adID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var action, meta string
		var actor sql.NullString
		if err := rows.Scan(&action, &actor, &meta); err != nil {
			t.Fatal(err)
		}
		out = append(out, action+" "+actor.String+" "+strings.ReplaceAll(meta, " ", ""))
	}
	return out
}

// TestSubmitAndReview: an ad is stored pending and as written, listed to
// its sponsor, approved then rejected (the decision may change), each
// decision naming its reviewer (none for an API key), telling the sponsor
// and entering the sponsor's trail with the reviewer as actor.
func TestSubmitAndReview(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s, clk := context.Background(), sponsor.NewService(db), dbtest.NewClock(db, noon)
		ann, rev := dbtest.User(t, db, "ann@example.com"), reviewer(t, db, "rev@example.com")
		n := sponsor.New{Item: "guide:v1", Title: `<b>Best</b> "guide"`, Description: "Read <i>it</i> & more\nnow",
			ImageURL: "https://cdn.example.com/a.png", Target: "http://example.com/go?x=1&y=<2>",
			StartsAt: noon.Add(-time.Hour), EndsAt: noon.Add(24 * time.Hour)}
		got := submit(t, s, ann, n)
		want := sponsor.Ad{ID: got.ID, UserID: ann.UserID, Item: n.Item, Title: n.Title, Description: n.Description, ImageURL: n.ImageURL, Target: n.Target,
			StartsAt: n.StartsAt, EndsAt: n.EndsAt, Status: sponsor.Pending, CreatedAt: noon, UpdatedAt: noon}
		if !equal(got, want) {
			t.Fatalf("submitted %+v\nwant %+v", got, want)
		}
		mine, err := s.Mine(ctx, ann, "", 10)
		if err != nil || len(mine) != 1 || !equal(mine[0], want) {
			t.Fatalf("mine = %+v, %v", mine, err)
		}
		if others, err := s.Mine(ctx, rev, "", 10); err != nil || len(others) != 0 {
			t.Fatalf("the reviewer's own ads = %+v, %v", others, err)
		}

		clk.Set(noon.Add(time.Minute))
		approved := review(t, s, rev, got.ID, sponsor.Approved, "")
		want.Status, want.ReviewedBy, want.ReviewedAt, want.UpdatedAt = sponsor.Approved, rev.UserID, ptr(noon.Add(time.Minute)), noon.Add(time.Minute)
		if !equal(approved, want) {
			t.Fatalf("approved %+v\nwant %+v", approved, want)
		}
		clk.Set(noon.Add(2 * time.Minute))
		key := userd.Actor{APIKeyID: userd.NewID(noon), Grants: userd.Grants{Permissions: []string{sponsor.ReviewPermission}}}
		// The ID is uppercase: ids are read in either case.
		rejected := review(t, s, key, strings.ToUpper(got.ID), sponsor.Rejected, "Not <b>this</b> time")
		want.Status, want.ReviewNote, want.ReviewedBy, want.ReviewedAt, want.UpdatedAt = sponsor.Rejected, "Not <b>this</b> time", "", ptr(noon.Add(2*time.Minute)), noon.Add(2*time.Minute)
		if !equal(rejected, want) {
			t.Fatalf("rejected %+v\nwant %+v", rejected, want)
		}

		rows, err := db.SQL().Query(`SELECT type, title, description FROM notifications WHERE user_id = $1 ORDER BY id`, ann.UserID)
		if err != nil {
			t.Fatal(err)
		}
		var told []string
		for rows.Next() {
			var typ, title, desc string
			rows.Scan(&typ, &title, &desc)
			told = append(told, typ+"|"+title+"|"+desc)
		}
		rows.Close()
		if want := []string{"sponsor_ad.approved|Your sponsor ad was approved|", "sponsor_ad.rejected|Your sponsor ad was rejected|Not <b>this</b> time"}; strings.Join(told, "\n") != strings.Join(want, "\n") {
			t.Fatalf("the sponsor was told %q; want %q", told, want)
		}
		wantTrail := []string{"sponsor_ad.submitted  {\"item_slug\":\"guide:v1\"}", "sponsor_ad.reviewed " + rev.UserID + " {\"status\":\"approved\"}",
			"sponsor_ad.reviewed  {\"status\":\"rejected\"}"}
		if got := trail(t, db, ann.UserID, got.ID); strings.Join(got, "\n") != strings.Join(wantTrail, "\n") {
			t.Fatalf("trail:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantTrail, "\n"))
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'sponsor_ad.reviewed' AND actor_api_key_id = $1`, key.APIKeyID); n != 1 {
			t.Fatalf("%d reviews name the API key", n)
		}

		queue, err := s.List(ctx, rev, sponsor.Rejected, "", 10)
		if err != nil || len(queue) != 1 || queue[0].ID != got.ID {
			t.Fatalf("rejected queue = %+v, %v", queue, err)
		}
		if queue, err := s.List(ctx, rev, sponsor.Pending, "", 10); err != nil || len(queue) != 0 {
			t.Fatalf("pending queue = %+v, %v", queue, err)
		}
	})
}

func ptr(t time.Time) *time.Time { return &t }

func equal(a, b sponsor.Ad) bool {
	times := func(x, y *time.Time) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(*y) }
	return a.ID == b.ID && a.UserID == b.UserID && a.Item == b.Item && a.Title == b.Title && a.Description == b.Description && a.ImageURL == b.ImageURL &&
		a.Target == b.Target && a.StartsAt.Equal(b.StartsAt) && a.EndsAt.Equal(b.EndsAt) && a.Status == b.Status && a.ReviewNote == b.ReviewNote &&
		a.ReviewedBy == b.ReviewedBy && times(a.ReviewedAt, b.ReviewedAt) && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

// TestBadInputChangesNothing: each bad submission is a validation error
// naming its field, and bad reviews are refused; nothing is written.
func TestBadInputChangesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), sponsor.NewService(db)
		dbtest.NewClock(db, noon)
		ann, rev := dbtest.User(t, db, "ann@example.com"), reviewer(t, db, "rev@example.com")
		ok := ad("a", noon, time.Hour)
		for _, c := range []struct {
			name        string
			change      func(*sponsor.New)
			field, code string
		}{
			{"bad slug", func(n *sponsor.New) { n.Item = "a b" }, "item_slug", "invalid_item"},
			{"no slug", func(n *sponsor.New) { n.Item = "" }, "item_slug", "invalid_item"},
			{"no title", func(n *sponsor.New) { n.Title = "" }, "title", "required"},
			{"blank title", func(n *sponsor.New) { n.Title = " \t" }, "title", "required"},
			{"long title", func(n *sponsor.New) { n.Title = strings.Repeat("é", 201) }, "title", "too_long"},
			{"NUL in title", func(n *sponsor.New) { n.Title = "a\x00" }, "title", "invalid"},
			{"long description", func(n *sponsor.New) { n.Description = strings.Repeat("x", 2001) }, "description", "too_long"},
			{"bad UTF-8", func(n *sponsor.New) { n.Description = "\xff" }, "description", "invalid"},
			{"no target", func(n *sponsor.New) { n.Target = "" }, "target_url", "invalid_url"},
			{"javascript target", func(n *sponsor.New) { n.Target = "javascript:alert(1)" }, "target_url", "invalid_url"},
			{"relative target", func(n *sponsor.New) { n.Target = "/go" }, "target_url", "invalid_url"},
			{"target with userinfo", func(n *sponsor.New) { n.Target = "https://u:p@example.com/" }, "target_url", "invalid_url"},
			{"long target", func(n *sponsor.New) { n.Target = "https://example.com/" + strings.Repeat("x", 1981) }, "target_url", "invalid_url"},
			{"data image", func(n *sponsor.New) { n.ImageURL = "data:image/png;base64,AAAA" }, "image_url", "invalid_url"},
			{"ftp image", func(n *sponsor.New) { n.ImageURL = "ftp://example.com/a.png" }, "image_url", "invalid_url"},
			{"ends before it starts", func(n *sponsor.New) { n.EndsAt = n.StartsAt }, "ends_at", "before_starts_at"},
			{"ended", func(n *sponsor.New) { n.StartsAt, n.EndsAt = noon.Add(-2*time.Hour), noon }, "ends_at", "in_the_past"},
		} {
			n := ok
			c.change(&n)
			_, err := s.Submit(ctx, ann, userd.Client{}, n)
			e := userd.ErrorOf(err)
			if e == nil || e.Kind != userd.KindInvalid || e.Code != "validation_failed" || len(e.Fields) != 1 || e.Fields[0].Field != c.field || e.Fields[0].Code != c.code {
				t.Errorf("%s: %v; want %s %s", c.name, err, c.field, c.code)
			}
		}
		// The longest of each is fine.
		long := ok
		long.Title, long.Description, long.Target = strings.Repeat("é", 200), strings.Repeat("x", 2000), "https://example.com/"+strings.Repeat("x", 1980)
		if n := dbtest.Count(t, db, `SELECT count(*) FROM sponsor_ads`); n != 0 {
			t.Fatalf("%d ads after bad submissions", n)
		}
		first := submit(t, s, ann, long)

		for _, c := range []struct {
			name   string
			a      userd.Actor
			id     string
			status string
			note   string
			want   error
		}{
			{"without the permission", ann, first.ID, sponsor.Approved, "", sponsor.ErrReviewForbidden},
			{"back to pending", rev, first.ID, sponsor.Pending, "", nil},
			{"no status", rev, first.ID, "", "", nil},
			{"long note", rev, first.ID, sponsor.Approved, strings.Repeat("x", 2001), nil},
			{"unknown ad", rev, userd.NewID(noon), sponsor.Approved, "", sponsor.ErrNotFound},
			{"not an id", rev, "1", sponsor.Approved, "", sponsor.ErrNotFound},
		} {
			_, err := s.Review(ctx, c.a, userd.Client{}, c.id, c.status, c.note)
			switch {
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("%s: %v; want %v", c.name, err, c.want)
			case c.want == nil && userd.ErrorOf(err).Code != "validation_failed":
				t.Errorf("%s: %v; want validation_failed", c.name, err)
			}
		}
		own := submit(t, s, rev, ok)
		if _, err := s.Review(ctx, rev, userd.Client{}, own.ID, sponsor.Approved, ""); !errors.Is(err, sponsor.ErrOwnAd) {
			t.Errorf("review of one's own ad: %v", err)
		}
		if _, err := db.SQL().Exec(`DELETE FROM sponsor_ads WHERE id = $1`, own.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.List(ctx, ann, "", "", 10); !errors.Is(err, sponsor.ErrReviewForbidden) {
			t.Errorf("list without the permission: %v", err)
		}
		if _, err := s.List(ctx, rev, "open", "", 10); userd.ErrorOf(err).Code != "validation_failed" {
			t.Errorf("list with a bad status: %v", err)
		}
		if _, err := s.Active(ctx, "a/b", 10); !errors.Is(err, engagement.ErrInvalidItem) {
			t.Errorf("active with a bad slug: %v", err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM sponsor_ads WHERE status = 'pending' AND reviewed_at IS NULL`); n != 1 {
			t.Fatalf("%d untouched pending ads after bad reviews; want 1", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM notifications`) + dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'sponsor_ad.reviewed'`); n != 0 {
			t.Fatalf("%d notifications and reviews after bad reviews", n)
		}
	})
}

// TestPendingCap: submissions of one user racing past MaxPending: exactly
// MaxPending are stored; a decision makes room for one more.
func TestPendingCap(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), sponsor.NewService(db)
		dbtest.NewClock(db, noon)
		ann, rev := dbtest.User(t, db, "ann@example.com"), reviewer(t, db, "rev@example.com")
		var refused atomic.Int32
		errs := dbtest.AtOnce(sponsor.MaxPending+5, func(int) error {
			_, err := s.Submit(ctx, ann, userd.Client{}, ad("a", noon, time.Hour))
			if errors.Is(err, sponsor.ErrTooManyPending) {
				refused.Add(1)
				return nil
			}
			return err
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM sponsor_ads WHERE user_id = $1`, ann.UserID); n != sponsor.MaxPending || refused.Load() != 5 {
			t.Fatalf("%d ads stored, %d refused; want %d, 5", n, refused.Load(), sponsor.MaxPending)
		}
		mine, err := s.Mine(ctx, ann, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		review(t, s, rev, mine[0].ID, sponsor.Rejected, "")
		submit(t, s, ann, ad("a", noon, time.Hour))
		if _, err := s.Submit(ctx, ann, userd.Client{}, ad("a", noon, time.Hour)); !errors.Is(err, sponsor.ErrTooManyPending) {
			t.Fatalf("past the cap again: %v", err)
		}
		// Mine pages through all of them, newest first.
		var seen []string
		for before := ""; ; {
			page, err := s.Mine(ctx, ann, before, 20)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				seen = append(seen, a.ID)
			}
			if len(page) < 20 {
				break
			}
			before = page[len(page)-1].ID
		}
		if len(seen) != sponsor.MaxPending+1 || !sortedDown(seen) {
			t.Fatalf("mine paged %d ads (want %d), newest first: %v", len(seen), sponsor.MaxPending+1, sortedDown(seen))
		}
	})
}

func sortedDown(ids []string) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] >= ids[i-1] {
			return false
		}
	}
	return true
}

// TestActiveWindow: the public list holds the approved ads whose window
// holds the clock (starts_at included, ends_at excluded), for one item or
// all, by starts_at then id; pending and rejected ads are never in it.
func TestActiveWindow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s, clk := context.Background(), sponsor.NewService(db), dbtest.NewClock(db, noon)
		ann, rev := dbtest.User(t, db, "ann@example.com"), reviewer(t, db, "rev@example.com")
		names := map[string]string{}
		put := func(name, item string, start time.Time, d time.Duration, status string) {
			got := submit(t, s, ann, ad(item, start, d))
			names[got.ID] = name
			if status != sponsor.Pending {
				review(t, s, rev, got.ID, status, "")
			}
		}
		day := 24 * time.Hour
		put("a-now", "a", noon.Add(-time.Hour), day, sponsor.Approved)
		put("a-early", "a", noon.Add(-2*time.Hour), day, sponsor.Approved)
		put("b-now", "b", noon.Add(-3*time.Hour), 4*time.Hour, sponsor.Approved)
		put("a-tomorrow", "a", noon.Add(day), day, sponsor.Approved)
		put("a-pending", "a", noon.Add(-time.Hour), day, sponsor.Pending)
		put("a-rejected", "a", noon.Add(-time.Hour), day, sponsor.Rejected)
		active := func(item string) string {
			t.Helper()
			list, err := s.Active(ctx, item, 10)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, a := range list {
				out = append(out, names[a.ID])
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct {
			at        time.Time
			a, b, all string
		}{
			{noon, "a-early,a-now", "b-now", "b-now,a-early,a-now"},
			{noon.Add(time.Hour - time.Microsecond), "a-early,a-now", "b-now", "b-now,a-early,a-now"},
			{noon.Add(time.Hour), "a-early,a-now", "", "a-early,a-now"}, // b-now ends at 13:00, excluded
			{noon.Add(day - 2*time.Hour), "a-now", "", "a-now"},         // a-early ends then
			{noon.Add(day - time.Hour), "", "", ""},
			{noon.Add(day), "a-tomorrow", "", "a-tomorrow"},
			{noon.Add(2*day - time.Microsecond), "a-tomorrow", "", "a-tomorrow"},
			{noon.Add(2 * day), "", "", ""},
		} {
			clk.Set(c.at)
			if got := active("a"); got != c.a {
				t.Errorf("at %s, item a: %q; want %q", c.at, got, c.a)
			}
			if got := active("b"); got != c.b {
				t.Errorf("at %s, item b: %q; want %q", c.at, got, c.b)
			}
			if got := active(""); got != c.all {
				t.Errorf("at %s, every item: %q; want %q", c.at, got, c.all)
			}
		}
		clk.Set(noon)
		if list, err := s.Active(ctx, "", 2); err != nil || len(list) != 2 || names[list[0].ID] != "b-now" {
			t.Fatalf("limited to 2: %v, %v", list, err)
		}
	})
}

// TestDeletion: deleting the reviewer leaves their decisions with
// reviewed_by null; deleting the sponsor deletes their ads.
func TestDeletion(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), sponsor.NewService(db)
		dbtest.NewClock(db, noon)
		ann, bob, rev := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com"), reviewer(t, db, "rev@example.com")
		a1 := submit(t, s, ann, ad("a", noon, time.Hour))
		a2 := submit(t, s, ann, ad("b", noon, time.Hour))
		b1 := submit(t, s, bob, ad("a", noon, time.Hour))
		review(t, s, rev, a1.ID, sponsor.Approved, "ok")
		review(t, s, rev, b1.ID, sponsor.Rejected, "no")
		del := func(id string) {
			t.Helper()
			if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return lifecycle.DeleteUser(ctx, tx, id) }); err != nil {
				t.Fatal(err)
			}
		}
		del(rev.UserID)
		q := `SELECT count(*) FROM sponsor_ads WHERE reviewed_by IS NULL AND reviewed_at IS NOT NULL AND (id = $1 AND status = 'approved' AND review_note = 'ok' OR id = $2 AND status = 'rejected' AND review_note = 'no')`
		if n := dbtest.Count(t, db, q, a1.ID, b1.ID); n != 2 {
			t.Fatalf("%d reviewed ads kept with reviewed_by null; want 2", n)
		}
		if list, err := s.Active(ctx, "a", 10); err != nil || len(list) != 1 || list[0].ID != a1.ID || list[0].ReviewedBy != "" {
			t.Fatalf("active after the reviewer's deletion: %+v, %v", list, err)
		}
		// Not shown while the sponsor is suspended, nor on a hidden item.
		db.SQL().Exec(`UPDATE users SET status = 'suspended' WHERE id = $1`, ann.UserID)
		if list, _ := s.Active(ctx, "a", 10); len(list) != 0 {
			t.Fatalf("a suspended sponsor's ad is shown: %+v", list)
		}
		db.SQL().Exec(`UPDATE users SET status = 'active' WHERE id = $1`, ann.UserID)
		db.SQL().Exec(`INSERT INTO hidden_items (item_slug, hidden, created_at) VALUES ('a', 'removed', $1)`, time.Now().UTC())
		if list, _ := s.Active(ctx, "a", 10); len(list) != 0 {
			t.Fatalf("an ad on a removed item is shown: %+v", list)
		}
		db.SQL().Exec(`DELETE FROM hidden_items`)
		del(ann.UserID)
		if n := dbtest.Count(t, db, `SELECT count(*) FROM sponsor_ads WHERE id IN ($1, $2) OR user_id = $3`, a1.ID, a2.ID, ann.UserID); n != 0 {
			t.Fatalf("%d of the deleted sponsor's ads left", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM sponsor_ads WHERE id = $1`, b1.ID); n != 1 {
			t.Fatalf("another sponsor's ad: %d rows", n)
		}
	})
}
