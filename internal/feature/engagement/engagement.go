// Package engagement owns what users do with items: client_profiles (made on
// a user's first vote or favorite), votes, favorites, and the exact counters
// of item_stats, kept in each change's own transaction and spread over
// shards so that a hot item's voters do not queue on one row.
//
// Items live elsewhere (in Git) and are named by their slug; no table holds
// them.
package engagement

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Shards is how many rows an item's counters are spread over.
const Shards = 64

// MaxItems is how many items one read may ask for.
const MaxItems = 100

// Errors that the functions of this package return.
var (
	ErrInvalidItem = userd.Errorf(userd.KindInvalid, "invalid_item",
		"An item is a slug of 1 to 200 letters, digits and . _ ~ : -")
	ErrTooManyItems = userd.Errorf(userd.KindInvalid, "too_many_items", "At most 100 items at once.")
	ErrInvalidVote  = &userd.Error{Kind: userd.KindInvalid, Code: "validation_failed", Message: "A vote is 1 or -1.",
		Fields: []userd.FieldError{{Field: "value", Code: "invalid_vote", Message: "A vote is 1 or -1."}}}
	ErrProfileNotFound = userd.Errorf(userd.KindNotFound, "client_profile_not_found", "The user has no client profile yet.")
	// ErrUserGone answers a change by a user deleted meanwhile.
	ErrUserGone = userd.Errorf(userd.KindNotFound, "user_not_found", "No such user.")
)

// CheckItem returns ErrInvalidItem unless item is a slug: 1 to 200 of
// A-Z a-z 0-9 . _ ~ : - (a loop, not a regular expression: a list page
// checks a hundred at once).
func CheckItem(item string) error {
	if len(item) == 0 || len(item) > 200 {
		return ErrInvalidItem
	}
	for i := range len(item) {
		switch c := item[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("._~:-", c) >= 0:
		default:
			return ErrInvalidItem
		}
	}
	return nil
}

func shard() int {
	n, _ := rand.Int(rand.Reader, big.NewInt(Shards))
	return int(n.Int64())
}

// Delta is a change of an item's counters.
type Delta struct {
	Up, Down, Favorites, Comments, Views int64
}

// bump adds d to a shard of the item's counters, on the transaction's UTC
// day. On PostgreSQL it takes one of the item's shards that no other
// transaction holds, if any, so that the writers of a hot item do not queue
// on each other's rows until they commit; otherwise, a random one.
func bump(ctx context.Context, tx *sqldb.Tx, item string, d Delta) error {
	day := Day(tx.Now)
	if tx.WritingWith() {
		tx.InvalidateSoon(userd.ItemKey(item))
		res, err := tx.Exec(ctx, `WITH free AS (SELECT shard FROM item_stats WHERE item_slug = $1 ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED),
			total AS (UPDATE item_stats SET upvotes = upvotes + $3, downvotes = downvotes + $4, favorites_count = favorites_count + $5,
				comments_count = comments_count + $6, views_count = views_count + $7, updated_at = $8
				WHERE item_slug = $1 AND shard = (SELECT shard FROM free) RETURNING shard)
			`+dailyInto+`SELECT $1, $2, shard, $3, $4, $5, $6, $7 FROM total`+dailyConflict,
			item, day, d.Up, d.Down, d.Favorites, d.Comments, d.Views, tx.Now)
		if err != nil {
			return fmt.Errorf("update item counters: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
	}
	return add(ctx, tx, item, day, shard(), d)
}

// The statements of the counters: the all-time shard's upsert, and the
// daily one's in two parts (the values between them).
const (
	totalUpsert = `INSERT INTO item_stats (item_slug, shard, upvotes, downvotes, favorites_count, comments_count, views_count, updated_at)
		VALUES ($1, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (item_slug, shard) DO UPDATE SET upvotes = item_stats.upvotes + excluded.upvotes,
			downvotes = item_stats.downvotes + excluded.downvotes, favorites_count = item_stats.favorites_count + excluded.favorites_count,
			comments_count = item_stats.comments_count + excluded.comments_count, views_count = item_stats.views_count + excluded.views_count,
			updated_at = excluded.updated_at`
	dailyInto     = `INSERT INTO item_daily_stats (item_slug, day, shard, upvotes, downvotes, favorites_count, comments_count, views_count) `
	dailyConflict = ` ON CONFLICT (item_slug, day, shard) DO UPDATE SET upvotes = item_daily_stats.upvotes + excluded.upvotes,
			downvotes = item_daily_stats.downvotes + excluded.downvotes, favorites_count = item_daily_stats.favorites_count + excluded.favorites_count,
			comments_count = item_daily_stats.comments_count + excluded.comments_count, views_count = item_daily_stats.views_count + excluded.views_count`
)

// add adds d to one shard of the item's all-time counters and to the same
// shard of what the UTC day added (item_daily_stats, which period rankings
// read). The all-time row is locked first, then the day's, in every
// transaction: PostgreSQL does both in one statement whose daily insert
// reads what the first returns, so it runs second.
//
// Every change of the counters drops them from the memory of every process
// (InvalidateSoon: a hot item's writers would otherwise queue on
// PostgreSQL's notification lock).
func add(ctx context.Context, tx *sqldb.Tx, item, day string, n int, d Delta) error {
	tx.InvalidateSoon(userd.ItemKey(item))
	args := []any{item, day, n, d.Up, d.Down, d.Favorites, d.Comments, d.Views, tx.Now}
	if tx.WritingWith() {
		_, err := tx.Exec(ctx, `WITH total AS (`+totalUpsert+` RETURNING 1) `+dailyInto+
			`SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM total`+dailyConflict, args...)
		if err != nil {
			return fmt.Errorf("update item counters: %w", err)
		}
		return nil
	}
	if _, err := tx.Exec(ctx, totalUpsert, args...); err != nil {
		return fmt.Errorf("update item counters: %w", err)
	}
	if _, err := tx.Exec(ctx, dailyInto+`VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`+dailyConflict, args[:8]...); err != nil {
		return fmt.Errorf("update item daily counters: %w", err)
	}
	return nil
}

// Day is t's UTC day as the DATE columns store it (YYYY-MM-DD).
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// counts returns the counter changes of a vote of value v (0: none).
func counts(v int) (up, down int64) {
	switch v {
	case 1:
		return 1, 0
	case -1:
		return 0, 1
	}
	return 0, 0
}

// ClaimProfile returns the id of the user's client profile, making it on
// first use, and locks its row until the transaction ends. Every change of
// a user's votes, favorites and comments takes it first, and a deletion
// locks it too (Forget), so a deletion never counts a user's votes while one
// of their changes is in flight. It returns ErrUserGone.
func ClaimProfile(ctx context.Context, tx *sqldb.Tx, userID string) (string, error) {
	ids, err := claimProfiles(ctx, tx, []string{userID})
	return ids[userID], err
}

// claimProfiles is ClaimProfile for distinct users, sorted (the order their
// rows are locked in), in one statement: it returns their profiles' ids by
// user, or ErrUserGone when any of them is gone.
func claimProfiles(ctx context.Context, tx *sqldb.Tx, userIDs []string) (map[string]string, error) {
	// The no-op update locks a row as FOR UPDATE would (SQLite's one
	// writer needs no row locks), and the statement returns the id either way.
	rows := make([][]any, len(userIDs))
	for i, u := range userIDs {
		rows[i] = []any{userd.NewID(tx.Now), u, tx.Now}
	}
	values, args := sqldb.Rows(tx, 1, []string{"uuid", "uuid", "timestamptz"}, rows)
	ids := make(map[string]string, len(userIDs))
	err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
		var id, user string
		err := row.Scan(&id, &user)
		ids[user] = id
		return err
	}, `WITH v (id, user_id, at) AS (`+values+`)
		INSERT INTO client_profiles (id, user_id, created_at, updated_at) SELECT id, user_id, at, at FROM v WHERE true
		ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id RETURNING id, user_id`, args...)
	if c := sqldb.ViolatedKind(err); c != nil && c.Kind == sqldb.ForeignKey {
		return nil, ErrUserGone
	}
	if err != nil {
		return nil, fmt.Errorf("client profile: %w", err)
	}
	return ids, nil
}

// setVote sets the vote of a client profile, which the transaction has
// claimed, on item to value (0: none) and returns what it was (0: none),
// in SQLite (see setVotes).
func setVote(ctx context.Context, tx *sqldb.Tx, profile, item string, value int) (old int, err error) {
	err = tx.QueryRow(ctx, `SELECT value FROM votes WHERE userid = $1 AND item_id = $2`, profile, item).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	switch {
	case old == value:
		return old, nil
	case value == 0:
		_, err = tx.Exec(ctx, `DELETE FROM votes WHERE userid = $1 AND item_id = $2`, profile, item)
	default:
		_, err = tx.Exec(ctx, `INSERT INTO votes (id, userid, item_id, value, created_at, updated_at) VALUES ($3, $1, $2, $4, $5, $5)
			ON CONFLICT (userid, item_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, profile, item, userd.NewID(tx.Now), value, tx.Now)
	}
	return old, err
}

// setFavorite marks item a favorite of the user (on) or not; doing it twice
// changes nothing. It moves the item's counter and writes the user's
// activity log only when the favorite is really made or ended, in a
// transaction that may cross users.
func setFavorite(ctx context.Context, tx *sqldb.Tx, userID string, c userd.Client, item string, on bool) error {
	if err := CheckItem(item); err != nil {
		return err
	}
	profile, err := ClaimProfile(ctx, tx, userID)
	if err != nil {
		return err
	}
	var res sql.Result
	if on {
		res, err = tx.Exec(ctx, `INSERT INTO favorites (id, user_id, item_slug, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, item_slug) DO NOTHING`, userd.NewID(tx.Now), userID, item, tx.Now)
	} else {
		res, err = tx.Exec(ctx, `DELETE FROM favorites WHERE user_id = $1 AND item_slug = $2`, userID, item)
	}
	if err != nil {
		return fmt.Errorf("favorite: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	d, action := int64(1), audit.Favorited
	if !on {
		d, action = -1, audit.Unfavorited
	}
	// The counters last, as castVotes's.
	if err := record(ctx, tx, userID, profile, c, action, item, nil); err != nil {
		return err
	}
	return bump(ctx, tx, item, Delta{Favorites: d})
}

// Forget takes a user's votes, favorites and live comments out of the
// items' counters before the user is deleted, in the caller's transaction,
// which must hold the user's row locked (no new client profile or favorite
// can commit meanwhile) and may cross users. Each row comes off the day it
// was last counted on (a vote's last change, a favorite's or comment's
// making), so the days still add up to the totals. It locks the user's
// client profile, which waits for any change of theirs in flight (each
// takes it first) and keeps new ones out. The rows themselves go with the
// user (ON DELETE CASCADE).
func Forget(ctx context.Context, tx *sqldb.Tx, userID string) error {
	if _, err := tx.LockRow(ctx, "client_profiles", "user_id", userID); err != nil {
		return err
	}
	type key struct{ item, day string }
	type counted struct {
		key
		d Delta
	}
	scan := func(row sqldb.Scanner) (c counted, err error) {
		var value int
		var at time.Time
		err = row.Scan(&c.item, &value, &at)
		c.day = Day(at)
		switch value {
		case 1:
			c.d.Up = -1
		case -1:
			c.d.Down = -1
		case 2:
			c.d.Favorites = -1
		case 3:
			c.d.Comments = -1
		}
		return c, err
	}
	rows, err := sqldb.All(ctx, tx, scan, `SELECT v.item_id, v.value, v.updated_at FROM votes v JOIN client_profiles c ON c.id = v.userid WHERE c.user_id = $1
		UNION ALL SELECT item_slug, 2, created_at FROM favorites WHERE user_id = $1
		UNION ALL SELECT m.item_id, 3, m.created_at FROM comments m JOIN client_profiles c ON c.id = m.user_id WHERE c.user_id = $1 AND m.deleted_at IS NULL AND m.hidden IS NULL`, userID)
	if err != nil {
		return fmt.Errorf("forget engagement: %w", err)
	}
	sum := map[key]Delta{}
	var keys []key
	for _, r := range rows {
		d, ok := sum[r.key]
		if !ok {
			keys = append(keys, r.key)
		}
		sum[r.key] = Delta{Up: d.Up + r.d.Up, Down: d.Down + r.d.Down, Favorites: d.Favorites + r.d.Favorites, Comments: d.Comments + r.d.Comments}
	}
	// In one order, so that two deletions do not wait on each other's rows.
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(strings.Compare(a.item, b.item), strings.Compare(a.day, b.day)) })
	for _, k := range keys {
		if err := add(ctx, tx, k.item, k.day, 0, sum[k]); err != nil {
			return fmt.Errorf("forget engagement: %w", err)
		}
	}
	return nil
}

// Stats are an item's counters and, for a signed-in viewer, what they did
// with it.
type Stats struct {
	Item               string
	Upvotes, Downvotes int64
	Favorites          int64
	Comments           int64  // live comments (not tombstones), replies included
	Views              int64  // one per viewer and UTC day
	Featured           bool   // featured now (see FeaturedNow)
	Hidden             string // Held by reports or Removed by a moderator; "" when shown
	MyVote             *int   // nil for an anonymous viewer; 0 when they did not vote
	FavoritedByMe      *bool  // nil for an anonymous viewer
	// Turns is when Featured next changes by itself, as its featured
	// window opens or closes; zero when it never does.
	Turns time.Time
}

// shared is what every viewer of an item sees: its counters, when it is
// featured, and whether it is hidden; a Service remembers it (see
// Service.Items).
type shared struct {
	up, down, favorites, comments, views int64
	featured                             bool         // it has a row in featured_items
	from, until                          sql.NullTime // the row's window
	hidden                               string       // "", Held or Removed
}

// stats returns the item's Stats as anyone sees them at now.
func (sh shared) stats(item string, now time.Time) Stats {
	st := Stats{Item: item, Upvotes: sh.up, Downvotes: sh.down, Favorites: sh.favorites, Comments: sh.comments, Views: sh.views,
		Featured: sh.featured && (!sh.from.Valid || !sh.from.Time.After(now)) && (!sh.until.Valid || sh.until.Time.After(now)),
		Hidden:   sh.hidden}
	switch {
	case !sh.featured:
	case sh.from.Valid && sh.from.Time.After(now):
		st.Turns = sh.from.Time
	case sh.until.Valid && sh.until.Time.After(now):
		st.Turns = sh.until.Time
	}
	return st
}

// readShared returns what every viewer sees of distinct, valid items, in
// the order given: the counters, the featured window and the hidden state,
// one statement each.
func readShared(ctx context.Context, tx *sqldb.Tx, items []string) ([]shared, error) {
	out := make([]shared, len(items))
	at := make(map[string]*shared, len(items))
	for i, it := range items {
		at[it] = &out[i]
	}
	in, args := sqldb.In(tx, "item_slug", 1, items)
	err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
		var slug string
		var c shared
		if err := row.Scan(&slug, &c.up, &c.down, &c.favorites, &c.comments, &c.views); err != nil {
			return err
		}
		sh := at[slug]
		sh.up, sh.down, sh.favorites, sh.comments, sh.views = c.up, c.down, c.favorites, c.comments, c.views
		return nil
	}, `SELECT item_slug, SUM(upvotes), SUM(downvotes), SUM(favorites_count), SUM(comments_count), SUM(views_count)
		FROM item_stats WHERE `+in+` GROUP BY item_slug`, args...)
	if err == nil {
		err = sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
			var slug string
			var from, until sql.NullTime
			if err := row.Scan(&slug, &from, &until); err != nil {
				return err
			}
			sh := at[slug]
			sh.featured, sh.from, sh.until = true, from, until
			return nil
		}, `SELECT item_slug, featured_from, featured_until FROM featured_items WHERE `+in, args...)
	}
	if err == nil {
		err = sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
			var slug, hidden string
			err := row.Scan(&slug, &hidden)
			at[slug].hidden = hidden
			return err
		}, `SELECT item_slug, hidden FROM hidden_items WHERE `+in, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("item stats: %w", err)
	}
	return out, nil
}

// readMine sets the viewer's vote and favorite on each of stats, whose
// items are distinct and valid, in one statement.
func readMine(ctx context.Context, tx *sqldb.Tx, viewerID string, stats []Stats) error {
	at := make(map[string]*Stats, len(stats))
	items := make([]string, len(stats))
	for i := range stats {
		st := &stats[i]
		st.MyVote, st.FavoritedByMe = new(int), new(bool)
		at[st.Item], items[i] = st, st.Item
	}
	votes, args := sqldb.In(tx, "v.item_id", 2, items)
	favs, _ := sqldb.In(tx, "item_slug", 2, items)
	args = append([]any{viewerID}, args...)
	// The value of a vote, or 2 for a favorite.
	err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
		var slug string
		var value int
		if err := row.Scan(&slug, &value); err != nil {
			return err
		}
		if value == 2 {
			*at[slug].FavoritedByMe = true
		} else {
			*at[slug].MyVote = value
		}
		return nil
	}, `SELECT v.item_id, v.value FROM votes v JOIN client_profiles c ON c.id = v.userid WHERE c.user_id = $1 AND `+votes+`
		UNION ALL SELECT item_slug, 2 FROM favorites WHERE user_id = $1 AND `+favs, args...)
	if err != nil {
		return fmt.Errorf("the viewer's votes and favorites: %w", err)
	}
	return nil
}

// Fav is one of a user's favorites.
type Fav struct {
	ID   string // the cursor
	Item string
	At   time.Time
}

// Favorites lists a user's favorites, newest first, before the favorite
// beforeID ("" for the first page).
func Favorites(ctx context.Context, tx *sqldb.Tx, userID, beforeID string, limit int) ([]Fav, error) {
	out, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (Fav, error) {
		var f Fav
		err := row.Scan(&f.ID, &f.Item, &f.At)
		f.At = f.At.UTC()
		return f, err
	}, `SELECT id, item_slug, created_at FROM favorites WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
		userID, sqldb.Before(beforeID), limit)
	if err != nil {
		return nil, fmt.Errorf("list favorites: %w", err)
	}
	return out, nil
}

// MyVote is one of a user's votes.
type MyVote struct {
	ID    string // the cursor
	Item  string
	Value int
	At    time.Time // when it was last changed
}

// Votes lists a user's votes, newest first by when they were first cast,
// before the vote beforeID ("" for the first page).
func Votes(ctx context.Context, tx *sqldb.Tx, userID, beforeID string, limit int) ([]MyVote, error) {
	out, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (MyVote, error) {
		var v MyVote
		err := row.Scan(&v.ID, &v.Item, &v.Value, &v.At)
		v.At = v.At.UTC()
		return v, err
	}, `SELECT v.id, v.item_id, v.value, v.updated_at FROM votes v JOIN client_profiles c ON c.id = v.userid
		WHERE c.user_id = $1 AND v.id < $2 ORDER BY v.id DESC LIMIT $3`, userID, sqldb.Before(beforeID), limit)
	if err != nil {
		return nil, fmt.Errorf("list votes: %w", err)
	}
	return out, nil
}
