package engagement_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

var viewRing, _ = seal.NewKeyring(bytes.Repeat([]byte{9}, seal.KeySize))

// viewService returns a Service that hashes anonymous viewers and
// remembers items' counters, so that each check of them also checks that
// views drop what it remembers.
func viewService(t *testing.T, db *sqldb.DB) *engagement.Service {
	return remembering(t, db, engagement.Deps{Keyring: viewRing})
}

func ptr(s string) *string { return &s }

// views checks that the item's views counter equals its item_views rows and
// is want.
func views(t *testing.T, db *sqldb.DB, s *engagement.Service, item string, want int64) {
	t.Helper()
	var rows int64
	if err := db.SQL().QueryRow(`SELECT count(*) FROM item_views WHERE item_id = $1`, item).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	got, err := s.Items(context.Background(), userd.Actor{}, []string{item})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Views != want || rows != want {
		t.Fatalf("%s: views_count %d, rows %d; want %d", item, got[0].Views, rows, want)
	}
}

// TestViewOncePerViewerAndDay: a viewer's views of an item count once a UTC
// day, the same viewer whether one process or another hashes them, and
// again just after midnight.
func TestViewOncePerViewerAndDay(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, clk := context.Background(), dbtest.NewClock(db, june)
		clk.Set(time.Date(2026, 6, 1, 23, 59, 59, 0, time.UTC))
		s, other := viewService(t, db), viewService(t, db) // two processes on one database
		u := dbtest.User(t, db, "viewer@example.com")
		browser := userd.Client{IP: "203.0.113.7", UserAgent: "Browser/1"}
		steps := []struct {
			s      *engagement.Service
			a      userd.Actor
			c      userd.Client
			anonID *string
		}{
			{s, u, browser, nil},
			{other, u, userd.Client{}, ptr("ignored-when-signed-in")},
			{s, userd.Actor{}, browser, ptr("device-1")},
			{other, userd.Actor{}, userd.Client{IP: "198.51.100.1"}, ptr("device-1")},
			{s, userd.Actor{}, browser, nil},
			{other, userd.Actor{}, browser, nil},
			{s, userd.Actor{}, userd.Client{IP: browser.IP, UserAgent: "Browser/2"}, nil},
		}
		run := func() {
			t.Helper()
			for i, st := range steps {
				if err := st.s.View(ctx, st.a, st.c, "post-1", st.anonID); err != nil {
					t.Fatalf("view %d: %v", i, err)
				}
			}
		}
		run()
		views(t, db, s, "post-1", 4) // the user, device-1, Browser/1 and Browser/2 at the address
		clk.Set(time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC))
		run()
		views(t, db, s, "post-1", 8)
		var days int
		db.SQL().QueryRow(`SELECT count(DISTINCT viewed_date_utc) FROM item_views`).Scan(&days)
		if days != 2 {
			t.Fatalf("views on %d days; want 2", days)
		}
		views(t, db, s, "post-2", 0)
	})
}

// TestViewSignedInAndAnonymousApart: the same person viewing signed in and
// anonymously, from the same browser with the same anonymous_id, is two
// viewers.
func TestViewSignedInAndAnonymousApart(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), viewService(t, db)
		u := dbtest.User(t, db, "person@example.com")
		browser := userd.Client{IP: "203.0.113.7", UserAgent: "Browser/1"}
		for _, a := range []userd.Actor{u, {}, u, {}} {
			if err := s.View(ctx, a, browser, "post-1", ptr("person-device")); err != nil {
				t.Fatal(err)
			}
		}
		views(t, db, s, "post-1", 2)
		var signedIn int
		db.SQL().QueryRow(`SELECT count(*) FROM item_views WHERE viewer_id = $1`, u.UserID).Scan(&signedIn)
		if signedIn != 1 {
			t.Fatalf("%d rows of the signed-in viewer; want 1", signedIn)
		}
	})
}

// TestViewStoresNoRawIdentity: item_views holds the keyed hash of an
// anonymous viewer under the day's key, never the address, the user agent
// or the anonymous_id.
func TestViewStoresNoRawIdentity(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), viewService(t, db)
		c := userd.Client{IP: "203.0.113.7", UserAgent: "Browser/1"}
		if err := s.View(ctx, userd.Actor{}, c, "post-1", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.View(ctx, userd.Actor{}, c, "post-1", ptr("device-1")); err != nil {
			t.Fatal(err)
		}
		var id string
		var sealed []byte
		if err := db.SQL().QueryRow(`SELECT id, secret FROM view_keys`).Scan(&id, &sealed); err != nil {
			t.Fatal(err)
		}
		key, err := viewRing.Open(sealed, engagement.Sealed.AD(id, ""))
		if err != nil {
			t.Fatal(err)
		}
		hash := func(subject string) string {
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(subject))
			return "a:" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		}
		rows, err := db.SQL().Query(`SELECT item_id, viewer_id FROM item_views ORDER BY viewer_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var item, viewer string
			rows.Scan(&item, &viewer)
			got = append(got, item+" "+viewer)
		}
		want := []string{"post-1 " + hash("203.0.113.7\x00Browser/1"), "post-1 " + hash("device-1")}
		if want[0] > want[1] {
			want[0], want[1] = want[1], want[0]
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, raw := range []string{"203.0.113.7", "Browser/1", "device-1"} {
			if strings.Contains(strings.Join(got, " "), raw) {
				t.Fatalf("item_views holds %q", raw)
			}
		}
	})
}

// TestViewStorm: 100 views at once, of 5 items by 30 anonymous viewers and
// 5 users, most of them more than once: each item's counter equals its
// rows, which are its distinct viewers.
func TestViewStorm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), viewService(t, db)
		us := users(t, db, 10, "storm")
		viewer := func(i int) (userd.Actor, string) {
			if i%4 == 0 {
				return us[i%10], us[i%10].UserID
			}
			return userd.Actor{}, fmt.Sprint("anon-", i%30)
		}
		errs := dbtest.AtOnce(100, func(i int) error {
			a, id := viewer(i)
			return s.View(ctx, a, userd.Client{}, fmt.Sprint("item-", i%5), ptr(id))
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		distinct := map[string]map[string]bool{}
		for i := range 100 {
			_, id := viewer(i)
			item := fmt.Sprint("item-", i%5)
			if distinct[item] == nil {
				distinct[item] = map[string]bool{}
			}
			distinct[item][id] = true
		}
		total := 0
		for item, ids := range distinct {
			views(t, db, s, item, int64(len(ids)))
			total += len(ids)
		}
		if total != 35 {
			t.Fatalf("%d distinct views; want 35", total) // 5 users' and 30 anonymous viewers'
		}
	})
}

// TestViewKeyRotation: each UTC day has its own key, made on its first
// anonymous view; making day 3's deletes day 1's and keeps day 2's.
func TestViewKeyRotation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, clk, s := context.Background(), dbtest.NewClock(db, june), viewService(t, db)
		day := func(d int) time.Time { return time.Date(2026, 6, d, 12, 0, 0, 0, time.UTC) }
		keys := func() string {
			var out []string
			for d := 1; d <= 3; d++ {
				var n int
				db.SQL().QueryRow(`SELECT count(*) FROM view_keys WHERE day = $1`, engagement.Day(day(d))).Scan(&n)
				out = append(out, fmt.Sprint(n))
			}
			return strings.Join(out, "")
		}
		for _, step := range []struct {
			day  int
			want string
		}{{1, "100"}, {2, "110"}, {3, "011"}} {
			clk.Set(day(step.day))
			for range 2 {
				if err := s.View(ctx, userd.Actor{}, userd.Client{}, "post-1", ptr("device-1")); err != nil {
					t.Fatal(err)
				}
			}
			if got := keys(); got != step.want {
				t.Fatalf("day %d: keys of days 1, 2, 3: %s; want %s", step.day, got, step.want)
			}
		}
		views(t, db, s, "post-1", 3)
		var hashes int
		db.SQL().QueryRow(`SELECT count(DISTINCT viewer_id) FROM item_views`).Scan(&hashes)
		if hashes != 3 {
			t.Fatalf("one anonymous_id hashed to %d viewers over 3 days; want 3 (a key a day)", hashes)
		}
	})
}

// TestViewInvalid: a bad item or anonymous_id counts nothing.
func TestViewInvalid(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), viewService(t, db)
		u := dbtest.User(t, db, "viewer@example.com")
		for _, c := range []struct {
			name   string
			a      userd.Actor
			item   string
			anonID *string
			want   error
		}{
			{"bad item", userd.Actor{}, "a b", nil, engagement.ErrInvalidItem},
			{"empty anonymous_id", userd.Actor{}, "post-1", ptr(""), engagement.ErrInvalidAnonymousID},
			{"long anonymous_id", userd.Actor{}, "post-1", ptr(strings.Repeat("é", 201)), engagement.ErrInvalidAnonymousID},
			{"control character", userd.Actor{}, "post-1", ptr("a\nb"), engagement.ErrInvalidAnonymousID},
			{"not UTF-8", userd.Actor{}, "post-1", ptr("a\xffb"), engagement.ErrInvalidAnonymousID},
			{"signed in, bad anonymous_id", u, "post-1", ptr("a\x00b"), engagement.ErrInvalidAnonymousID},
		} {
			if err := s.View(ctx, c.a, userd.Client{}, c.item, c.anonID); !errors.Is(err, c.want) {
				t.Fatalf("%s: %v; want %v", c.name, err, c.want)
			}
		}
		views(t, db, s, "post-1", 0)
		if err := s.View(ctx, userd.Actor{}, userd.Client{}, "post-1", ptr(strings.Repeat("é", 200))); err != nil {
			t.Fatalf("200 characters: %v", err)
		}
		views(t, db, s, "post-1", 1)
	})
}

// TestViewBatchFailsTogether: when the transaction of a batch of views
// fails, every view of it gets the error, and none is counted.
func TestViewBatchFailsTogether(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), viewService(t, db)
		if _, err := db.SQL().Exec(`ALTER TABLE item_views RENAME TO item_views_gone`); err != nil {
			t.Fatal(err)
		}
		errs := dbtest.AtOnce(20, func(i int) error {
			return s.View(ctx, userd.Actor{}, userd.Client{}, "post-1", ptr(fmt.Sprint("device-", i)))
		})
		for i, err := range errs {
			if err == nil {
				t.Fatalf("view %d succeeded without item_views", i)
			}
		}
		var counted int64
		db.SQL().QueryRow(`SELECT COALESCE(SUM(views_count), 0) FROM item_stats`).Scan(&counted)
		if counted != 0 {
			t.Fatalf("views_count %d; want 0", counted)
		}
	})
}

// TestViewLimit: views share transactions yet each viewer keeps their own
// limit: of five anonymous views at once from one address (each with its
// own anonymous_id), three count and two are refused, while another
// address and a signed-in viewer from the first address count apart.
func TestViewLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := engagement.NewService(db, engagement.Deps{Keyring: viewRing, Limiter: ratelimit.New(db, true),
			Limits: engagement.Limits{Views: ratelimit.Rule{Max: 3, Window: time.Hour}}})
		u := dbtest.User(t, db, "limited@example.com")
		crowd := userd.Client{IP: "198.51.100.1"}
		errs := dbtest.AtOnce(9, func(i int) error {
			switch {
			case i < 5:
				return s.View(ctx, userd.Actor{}, crowd, "item", ptr(fmt.Sprint("visitor-", i)))
			case i < 7:
				return s.View(ctx, userd.Actor{}, userd.Client{IP: "198.51.100.2"}, "item", ptr(fmt.Sprint("visitor-", i)))
			}
			return s.View(ctx, u, crowd, fmt.Sprint("item-", i), nil)
		})
		refused := 0
		for i, err := range errs {
			switch {
			case err == nil:
			case i < 5 && userd.ErrorKind(err) == userd.KindRateLimited:
				refused++
			default:
				t.Fatalf("view %d: %v", i, err)
			}
		}
		if refused != 2 {
			t.Fatalf("%d views refused; want 2", refused)
		}
		views(t, db, s, "item", 5)
		views(t, db, s, "item-7", 1)
		views(t, db, s, "item-8", 1)
	})
}
