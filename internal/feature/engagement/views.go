package engagement

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/batch"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Views are counted once per item, viewer and UTC day (item_views' primary
// key). A signed-in viewer is their user id. An anonymous viewer is "a:"
// and a keyed hash (HMAC-SHA256) of the anonymous_id their client sends or,
// without one, of their address and user agent, under a key of the UTC day
// (view_keys): neither the address nor the anonymous_id is stored, and once
// a day's key is deleted (when the day after next gets its key) nobody can
// tell whose hashes that day holds. The same person viewing signed in and anonymously is two
// viewers.
//
// Views arrive in storms, so concurrent View calls share transactions: the
// first call of a batch leads it; the batch gathers views while the
// batches before it commit, then commits them all at once. Every call
// returns once its batch committed (or with the batch's error).

// ErrInvalidAnonymousID answers an anonymous_id that is not 1 to 200
// printable characters.
var ErrInvalidAnonymousID = &userd.Error{Kind: userd.KindInvalid, Code: "validation_failed", Message: "An anonymous_id is 1 to 200 printable characters.",
	Fields: []userd.FieldError{{Field: "anonymous_id", Code: "invalid_anonymous_id", Message: "An anonymous_id is 1 to 200 printable characters."}}}

const (
	// maxAnonymousID is the longest anonymous_id, in characters.
	maxAnonymousID = 200
	// maxBatch bounds the views of one transaction.
	maxBatch = 500
	// commitsAtOnce is how many batches of views commit at once.
	commitsAtOnce = 2
)

// View counts a view of item by the actor, or, for the zero Actor, by an
// anonymous viewer named by anonymousID (nil when the client sent none) or
// else by the client's address and user agent. A second view by the same
// viewer on the same UTC day counts nothing. It returns once the view is
// committed. It returns ErrInvalidItem and ErrInvalidAnonymousID.
func (s *Service) View(ctx context.Context, a userd.Actor, c userd.Client, item string, anonymousID *string) error {
	if err := CheckItem(item); err != nil {
		return err
	}
	if anonymousID != nil && !ValidAnonymousID(*anonymousID) {
		return ErrInvalidAnonymousID
	}
	v := &viewing{view: view{item: item, viewer: a.UserID, day: Day(s.db.Now())}, limit: "view:" + a.UserID}
	if v.viewer == "" {
		v.limit = "view:" + c.IP
		key, err := s.viewKey(ctx, v.day)
		if err != nil {
			return err
		}
		// An anonymous_id is printable: it never holds the NUL that parts
		// an address from a user agent, so the two never hash alike.
		subject := c.IP + "\x00" + c.UserAgent
		if anonymousID != nil {
			subject = *anonymousID
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(subject))
		v.viewer = "a:" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	return s.countView(ctx, v)
}

// ValidAnonymousID reports whether id is an anonymous id: 1 to 200
// printable characters.
func ValidAnonymousID(id string) bool {
	if id == "" || !utf8.ValidString(id) || utf8.RuneCountInString(id) > maxAnonymousID {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// view is one row of item_views.
type view struct{ item, viewer, day string }

// viewing is one View call of a batch.
type viewing struct {
	view
	limit string // the rate limit's key: the viewer's user id, or their address
	err   error  // the view's own refusal
}

// viewState is what a Service keeps in memory for views: the day's key and
// the batches of views.
type viewState struct {
	keyMu sync.Mutex
	day   string // the day of key
	key   []byte

	batches *batch.Batcher[*viewing]
}

// countView counts v in the batch it joins, once the batch commits, unless
// its limit refuses it.
func (s *Service) countView(ctx context.Context, v *viewing) error {
	// The batch is everyone's: the leader's caller going away does not
	// stop it.
	ctx = context.WithoutCancel(ctx)
	err := s.viewing.batches.Add(v, func(batch []*viewing) error {
		// System: the rows are no user's, the counters every viewer's.
		return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return s.commitViews(ctx, tx, batch) })
	})
	if err != nil {
		return err
	}
	return v.err
}

// commitViews counts the views of a batch against their limits and inserts
// those that pass.
func (s *Service) commitViews(ctx context.Context, tx *sqldb.Tx, batch []*viewing) error {
	views := make([]view, 0, len(batch))
	keys := make([]string, len(batch))
	for i, v := range batch {
		keys[i] = v.limit
	}
	var refusals []error
	if s.deps.Limiter != nil {
		var err error
		if refusals, err = s.deps.Limiter.HitAll(ctx, tx, keys, s.deps.Limits.Views); err != nil {
			return err
		}
	}
	for i, v := range batch {
		if v.err = nil; refusals != nil {
			v.err = refusals[i]
		}
		if v.err == nil {
			views = append(views, v.view)
		}
	}
	// Rows are written and counters locked in one order (day, item,
	// viewer; then item, day), so that batches and votes never wait on each
	// other in a circle.
	slices.SortFunc(views, func(a, b view) int {
		return cmp.Or(strings.Compare(a.day, b.day), strings.Compare(a.item, b.item), strings.Compare(a.viewer, b.viewer))
	})
	return insertViews(ctx, tx, slices.Compact(views))
}

// insertViews inserts the views that are new, in the order of views
// (distinct, sorted by day, item and viewer), and counts those.
func insertViews(ctx context.Context, tx *sqldb.Tx, views []view) error {
	var added []dayViews
	for len(views) > 0 {
		n := 1
		for n < len(views) && views[n].day == views[0].day {
			n++
		}
		day := views[0].day
		rows := make([][]any, n)
		for i, v := range views[:n] {
			rows[i] = []any{v.item, v.viewer, day, tx.Now}
		}
		values, args := sqldb.Rows(tx, 1, []string{"text", "text", "date", "timestamptz"}, rows)
		inserted, err := sqldb.All(ctx, tx, sqldb.ScanString, `INSERT INTO item_views (item_id, viewer_id, viewed_date_utc, created_at)
			`+values+` ON CONFLICT (item_id, viewer_id, viewed_date_utc) DO NOTHING RETURNING item_id`, args...)
		if err != nil {
			return fmt.Errorf("insert views: %w", err)
		}
		for _, it := range inserted {
			added = append(added, dayViews{it, day, 1})
		}
		views = views[n:]
	}
	return countViews(ctx, tx, added)
}

// dayViews is how many views of an item a day gained.
type dayViews struct {
	item, day string
	n         int64
}

// countViews adds views (an item's and day's in any number of parts) to
// their items' counters in two statements, whatever the number of items:
// each item's views go to one random shard of item_stats and the same
// shard of item_daily_stats. The all-time rows
// are locked first, in the order of items, then the daily ones: a vote,
// favorite or comment locks its one item's rows in that order too, so they
// never wait on each other in a circle. Views take no shard 0, which a
// deletion (Forget) locks item after item, both tables for each.
func countViews(ctx context.Context, tx *sqldb.Tx, added []dayViews) error {
	if len(added) == 0 {
		return nil
	}
	slices.SortFunc(added, func(a, b dayViews) int { return cmp.Or(strings.Compare(a.item, b.item), strings.Compare(a.day, b.day)) })
	var days, items []dayViews // the sums of each item and day, of each item
	for _, a := range added {
		if i := len(days) - 1; i >= 0 && days[i].item == a.item && days[i].day == a.day {
			days[i].n += a.n
		} else {
			days = append(days, a)
		}
		if i := len(items) - 1; i >= 0 && items[i].item == a.item {
			items[i].n += a.n
		} else {
			items = append(items, dayViews{item: a.item, n: a.n})
		}
	}
	shards := make(map[string]int, len(items))
	totals := make([][]any, len(items))
	for i, it := range items {
		tx.InvalidateSoon(userd.ItemKey(it.item)) // see add
		shards[it.item] = 1 + shard()%(Shards-1)
		totals[i] = []any{it.item, shards[it.item], it.n, tx.Now}
	}
	daily := make([][]any, len(days))
	for i, d := range days {
		daily[i] = []any{d.item, d.day, shards[d.item], 0, 0, 0, 0, d.n}
	}
	values, args := sqldb.Rows(tx, 1, []string{"text", "int", "bigint", "timestamptz"}, totals)
	_, err := tx.Exec(ctx, `INSERT INTO item_stats (item_slug, shard, views_count, updated_at) `+values+`
		ON CONFLICT (item_slug, shard) DO UPDATE SET views_count = item_stats.views_count + excluded.views_count, updated_at = excluded.updated_at`, args...)
	if err != nil {
		return fmt.Errorf("count views: %w", err)
	}
	values, args = sqldb.Rows(tx, 1, []string{"text", "date", "int", "bigint", "bigint", "bigint", "bigint", "bigint"}, daily)
	if _, err := tx.Exec(ctx, dailyInto+values+dailyConflict, args...); err != nil {
		return fmt.Errorf("count daily views: %w", err)
	}
	return nil
}

// Expire deletes the views of the days before yesterday: a view's row only
// keeps its viewer from counting twice on its day (the counters keep the
// count), so a signed-in viewer's user id stays no longer than that.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM item_views WHERE viewed_date_utc < $1`, Day(now.AddDate(0, 0, -1)))
}

// Sealed is the daily view keys' sealed column, for master key rotation.
var Sealed = sqldb.SealedColumn{Table: "view_keys", Column: "secret", IDColumn: "id",
	AD: func(id, _ string) []byte { return viewKeyAD(id) }}

func viewKeyAD(id string) []byte { return seal.AD("view_keys", "secret", id) }

// viewKey returns the key of the UTC day, from memory once it is known.
func (s *Service) viewKey(ctx context.Context, day string) ([]byte, error) {
	st := s.viewing
	st.keyMu.Lock()
	defer st.keyMu.Unlock()
	if st.day == day {
		return st.key, nil
	}
	key, err := dayKey(ctx, s.db, s.deps.Keyring, day)
	if err != nil {
		return nil, err
	}
	st.day, st.key = day, key
	return key, nil
}

// dayKey returns the day's key from view_keys, making it when the day has
// none yet; whichever process makes it, every process reads the one that
// committed first. Making a day's key deletes those of the days before the
// day before, so that their hashes can no longer be recomputed.
func dayKey(ctx context.Context, db *sqldb.DB, ring *seal.Keyring, day string) (key []byte, err error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, fmt.Errorf("view key: %w", err)
	}
	// System: the keys belong to no user.
	err = db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		id, fresh := userd.NewID(tx.Now), make([]byte, seal.KeySize)
		rand.Read(fresh) // never fails: crypto/rand panics rather than return an error
		res, err := tx.Exec(ctx, `INSERT INTO view_keys (id, day, secret, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (day) DO NOTHING`,
			id, day, ring.Seal(fresh, viewKeyAD(id)), tx.Now)
		if err != nil {
			return fmt.Errorf("make view key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			key = fresh
			if _, err := tx.Exec(ctx, `DELETE FROM view_keys WHERE day < $1`, Day(d.AddDate(0, 0, -1))); err != nil {
				return fmt.Errorf("delete old view keys: %w", err)
			}
			return nil
		}
		var sealed []byte
		if err := tx.QueryRow(ctx, `SELECT id, secret FROM view_keys WHERE day = $1`, day).Scan(&id, &sealed); err != nil {
			return fmt.Errorf("read view key: %w", err)
		}
		key, err = ring.Open(sealed, viewKeyAD(id))
		if err != nil {
			return fmt.Errorf("open view key of %s: %w", day, err)
		}
		return nil
	})
	return key, err
}
