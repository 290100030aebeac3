package layout_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/layout"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestReplaceVersions: the default layout is version 0; a write over a
// version makes the next one; a write over a stale version is ErrStale and
// changes nothing; a write without one always lands.
func TestReplaceVersions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), layout.NewService(db)
		ann := dbtest.User(t, db, "ann@example.com")
		l, err := s.Mine(ctx, ann)
		if err != nil || l.Version != 0 || string(l.Desktop) != "[]" || string(l.Mobile) != "[]" {
			t.Fatalf("default = %+v, %v", l, err)
		}
		w := json.RawMessage(`[{"id":"a"}]`)
		for i, tc := range []struct {
			ifVersion, want int
			err             error
		}{{0, 1, nil}, {0, 0, layout.ErrStale}, {1, 2, nil}, {1, 0, layout.ErrStale}, {-1, 3, nil}} {
			l, err := s.Replace(ctx, ann, w, nil, tc.ifVersion)
			if !errors.Is(err, tc.err) || (err == nil && l.Version != tc.want) {
				t.Fatalf("write %d over %d = version %d, %v; want %d, %v", i, tc.ifVersion, l.Version, err, tc.want, tc.err)
			}
		}
		if l, _ := s.Mine(ctx, ann); l.Version != 3 || string(l.Desktop) != `[{"id":"a"}]` || string(l.Mobile) != "[]" {
			t.Fatalf("after the writes = %+v", l)
		}
		// Another user's layout is their own.
		if l, _ := s.Mine(ctx, dbtest.User(t, db, "bob@example.com")); l.Version != 0 {
			t.Fatalf("bob's layout = %+v", l)
		}
	})
}

// TestReplaceRace: eight writers over the same version: exactly one lands.
func TestReplaceRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), layout.NewService(db)
		ann := dbtest.User(t, db, "ann@example.com")
		if _, err := s.Replace(ctx, ann, nil, nil, 0); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		landed, stale := 0, 0
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, err := s.Replace(ctx, ann, json.RawMessage(`[{"w":1}]`), nil, 1)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					landed++
				case errors.Is(err, layout.ErrStale):
					stale++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if l, _ := s.Mine(ctx, ann); landed != 1 || stale != 7 || l.Version != 2 {
			t.Fatalf("%d landed, %d stale, version %d; want 1, 7, 2", landed, stale, l.Version)
		}
	})
}

// TestReplaceRefusesBadLayouts: not an array of objects, or too large:
// KindInvalid, and nothing written.
func TestReplaceRefusesBadLayouts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), layout.NewService(db)
		ann := dbtest.User(t, db, "ann@example.com")
		huge := json.RawMessage(`[{"x":"` + strings.Repeat("a", layout.MaxBytes) + `"}]`)
		for name, desktop := range map[string]json.RawMessage{
			"an object": json.RawMessage(`{"a":1}`), "numbers": json.RawMessage(`[1,2]`), "too large": huge,
		} {
			if _, err := s.Replace(ctx, ann, desktop, nil, -1); userd.ErrorKind(err) != userd.KindInvalid {
				t.Errorf("%s = %v; want KindInvalid", name, err)
			}
		}
		if l, _ := s.Mine(ctx, ann); l.Version != 0 {
			t.Fatalf("a refused write wrote version %d", l.Version)
		}
	})
}

// TestPatch: a patch changes one layout and keeps the other; null empties
// one; a patch of nothing or of a bad layout is refused and changes
// nothing; one over a stale version is ErrStale; two patches at once, one
// of each layout, both land.
func TestPatch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), layout.NewService(db)
		ann := dbtest.User(t, db, "ann@example.com")
		got := func(want string) {
			t.Helper()
			l, err := s.Mine(ctx, ann)
			if err != nil || string(l.Desktop)+" "+string(l.Mobile) != want {
				t.Fatalf("layout = %s %s, %v; want %s", l.Desktop, l.Mobile, err, want)
			}
		}
		if l, err := s.Patch(ctx, ann, json.RawMessage(`[{"id":"d"}]`), nil, 0); err != nil || l.Version != 1 {
			t.Fatalf("first patch = %+v, %v", l, err)
		}
		if l, err := s.Patch(ctx, ann, nil, json.RawMessage(`[{"id":"m"}]`), -1); err != nil || l.Version != 2 {
			t.Fatalf("second patch = %+v, %v", l, err)
		}
		got(`[{"id":"d"}] [{"id":"m"}]`)
		for _, bad := range []struct {
			desktop, mobile json.RawMessage
			version         int
			kind            userd.Kind
		}{{nil, nil, -1, userd.KindInvalid}, {json.RawMessage(`{"id":1}`), nil, -1, userd.KindInvalid},
			{nil, json.RawMessage(`[{"x":"` + strings.Repeat("y", layout.MaxBytes) + `"}]`), -1, userd.KindInvalid},
			{json.RawMessage(`[]`), nil, 1, userd.KindPreconditionFailed}} {
			if _, err := s.Patch(ctx, ann, bad.desktop, bad.mobile, bad.version); userd.ErrorKind(err) != bad.kind {
				t.Fatalf("patch %s %.20s over %d = %v; want %v", bad.desktop, bad.mobile, bad.version, err, bad.kind)
			}
		}
		got(`[{"id":"d"}] [{"id":"m"}]`)
		if _, err := s.Patch(ctx, ann, json.RawMessage(`null`), nil, 2); err != nil {
			t.Fatal(err)
		}
		got(`[] [{"id":"m"}]`)
		errs := dbtest.AtOnce(2, func(i int) error {
			d, m := json.RawMessage(`[{"id":"d2"}]`), json.RawMessage(nil)
			if i == 1 {
				d, m = nil, json.RawMessage(`[{"id":"m2"}]`)
			}
			_, err := s.Patch(ctx, ann, d, m, -1)
			return err
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		got(`[{"id":"d2"}] [{"id":"m2"}]`)
		if l, _ := s.Mine(ctx, ann); l.Version != 5 {
			t.Fatalf("version %d after five writes", l.Version)
		}
	})
}
