// Package engagement owns what users do with items: client_profiles (made on
// a user's first vote or favorite), votes, favorites, and the exact counters
// of item_stats, kept in each change's own transaction and spread over
// shards so that a hot item's voters do not queue on one row.
//
// Items live elsewhere (in Git) and are named by their slug; no table holds
// them.
package engagement

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Shards is how many rows an item's counters are spread over.
const Shards = 16

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

var slug = regexp.MustCompile(`^[A-Za-z0-9._~:-]{1,200}$`)

// CheckItem returns ErrInvalidItem unless item is a slug.
func CheckItem(item string) error {
	if !slug.MatchString(item) {
		return ErrInvalidItem
	}
	return nil
}

func shard() int {
	n, _ := rand.Int(rand.Reader, big.NewInt(Shards))
	return int(n.Int64())
}

// bump changes one shard of an item's counters.
func bump(ctx context.Context, tx *sqldb.Tx, item string, up, down, favorites int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO item_stats (item_slug, shard, upvotes, downvotes, favorites_count, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (item_slug, shard) DO UPDATE SET upvotes = item_stats.upvotes + excluded.upvotes,
			downvotes = item_stats.downvotes + excluded.downvotes,
			favorites_count = item_stats.favorites_count + excluded.favorites_count, updated_at = excluded.updated_at`,
		item, shard(), up, down, favorites, tx.Now)
	if err != nil {
		return fmt.Errorf("update item counters: %w", err)
	}
	return nil
}

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

// claim returns the id of the user's client profile, making it on first use,
// and locks its row until the transaction ends. Every change of a user's
// votes and favorites claims it first, and a deletion locks it too (Forget),
// so a deletion never counts a user's votes while one of their changes is in
// flight. It returns ErrUserGone.
func claim(ctx context.Context, tx *sqldb.Tx, userID string) (string, error) {
	_, err := tx.Exec(ctx, `INSERT INTO client_profiles (id, user_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (user_id) DO NOTHING`, userd.NewID(tx.Now), userID, tx.Now)
	if c := sqldb.ViolatedKind(err); c != nil && c.Kind == sqldb.ForeignKey {
		return "", ErrUserGone
	}
	if err != nil {
		return "", fmt.Errorf("make client profile: %w", err)
	}
	ok, err := tx.LockRow(ctx, "client_profiles", "user_id", userID)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrUserGone
	}
	var id string
	if err := tx.QueryRow(ctx, `SELECT id FROM client_profiles WHERE user_id = $1`, userID).Scan(&id); err != nil {
		return "", fmt.Errorf("client profile: %w", err)
	}
	return id, nil
}

// Vote sets the user's vote on item to value (1 or -1), or takes it back
// (0), and moves the item's counters by what changed: a new vote adds one,
// a changed vote moves one from a counter to the other, the same vote
// changes nothing. It runs in a transaction that may cross users (the
// counters are every voter's).
func Vote(ctx context.Context, tx *sqldb.Tx, userID, item string, value int) error {
	if err := CheckItem(item); err != nil {
		return err
	}
	if value != 1 && value != -1 && value != 0 {
		return ErrInvalidVote
	}
	profile, err := claim(ctx, tx, userID)
	if err != nil {
		return err
	}
	var old int
	err = tx.QueryRow(ctx, `SELECT value FROM votes WHERE userid = $1 AND item_id = $2`, profile, item).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read vote: %w", err)
	}
	if old == value {
		return nil
	}
	switch {
	case value == 0:
		_, err = tx.Exec(ctx, `DELETE FROM votes WHERE userid = $1 AND item_id = $2`, profile, item)
	case old == 0:
		_, err = tx.Exec(ctx, `INSERT INTO votes (id, userid, item_id, value, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			userd.NewID(tx.Now), profile, item, value, tx.Now)
	default:
		_, err = tx.Exec(ctx, `UPDATE votes SET value = $3, updated_at = $4 WHERE userid = $1 AND item_id = $2`, profile, item, value, tx.Now)
	}
	if err != nil {
		return fmt.Errorf("vote: %w", err)
	}
	oldUp, oldDown := counts(old)
	up, down := counts(value)
	return bump(ctx, tx, item, up-oldUp, down-oldDown, 0)
}

// Favorite marks item a favorite of the user (on) or not; doing it twice
// changes nothing. It moves the item's counter only when the favorite is
// really made or ended, in a transaction that may cross users.
func Favorite(ctx context.Context, tx *sqldb.Tx, userID, item string, on bool) error {
	if err := CheckItem(item); err != nil {
		return err
	}
	if _, err := claim(ctx, tx, userID); err != nil {
		return err
	}
	var res sql.Result
	var err error
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
	d := int64(1)
	if !on {
		d = -1
	}
	return bump(ctx, tx, item, 0, 0, d)
}

// Forget takes a user's votes and favorites out of the items' counters
// before the user is deleted, in the caller's transaction, which must hold
// the user's row locked (no new client profile or favorite can commit
// meanwhile) and may cross users. It locks the user's client profile, which
// waits for any change of theirs in flight (each claims it first) and keeps
// new ones out. The rows themselves go with the user (ON DELETE CASCADE).
func Forget(ctx context.Context, tx *sqldb.Tx, userID string) error {
	if _, err := tx.LockRow(ctx, "client_profiles", "user_id", userID); err != nil {
		return err
	}
	for _, q := range []string{
		`INSERT INTO item_stats (item_slug, shard, upvotes, downvotes, favorites_count, updated_at)
			SELECT v.item_id, 0, -SUM(CASE WHEN v.value = 1 THEN 1 ELSE 0 END), -SUM(CASE WHEN v.value = -1 THEN 1 ELSE 0 END), 0, $2
			FROM votes v JOIN client_profiles c ON c.id = v.userid WHERE c.user_id = $1 GROUP BY v.item_id ORDER BY v.item_id
			ON CONFLICT (item_slug, shard) DO UPDATE SET upvotes = item_stats.upvotes + excluded.upvotes,
				downvotes = item_stats.downvotes + excluded.downvotes, updated_at = excluded.updated_at`,
		`INSERT INTO item_stats (item_slug, shard, upvotes, downvotes, favorites_count, updated_at)
			SELECT item_slug, 0, 0, 0, -count(*), $2 FROM favorites WHERE user_id = $1 GROUP BY item_slug ORDER BY item_slug
			ON CONFLICT (item_slug, shard) DO UPDATE SET favorites_count = item_stats.favorites_count + excluded.favorites_count,
				updated_at = excluded.updated_at`,
	} {
		if _, err := tx.Exec(ctx, q, userID, tx.Now); err != nil {
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
	Featured           bool  // featured now (see FeaturedNow)
	MyVote             *int  // nil for an anonymous viewer; 0 when they did not vote
	FavoritedByMe      *bool // nil for an anonymous viewer
}

// placeholders returns "$from, $from+1, ..." for n values.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// Read returns the stats of distinct, valid items, in the order given, as
// viewerID ("" for anyone) sees them, with whether each is featured at the
// transaction's clock.
func Read(ctx context.Context, tx *sqldb.Tx, viewerID string, items []string) ([]Stats, error) {
	out := make([]Stats, len(items))
	at := make(map[string]*Stats, len(items))
	args := make([]any, 0, len(items)+1)
	args = append(args, viewerID)
	for i, it := range items {
		out[i].Item = it
		at[it] = &out[i]
		args = append(args, it)
	}
	in := placeholders(2, len(items))
	counters, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (c Stats, err error) {
		return c, row.Scan(&c.Item, &c.Upvotes, &c.Downvotes, &c.Favorites)
	}, `SELECT item_slug, COALESCE(SUM(upvotes), 0), COALESCE(SUM(downvotes), 0), COALESCE(SUM(favorites_count), 0)
		FROM item_stats WHERE item_slug IN (`+placeholders(1, len(items))+`) GROUP BY item_slug`, args[1:]...)
	if err != nil {
		return nil, fmt.Errorf("item counters: %w", err)
	}
	for _, c := range counters {
		if s := at[c.Item]; s != nil {
			s.Upvotes, s.Downvotes, s.Favorites = c.Upvotes, c.Downvotes, c.Favorites
		}
	}
	featured, err := featuredAmong(ctx, tx, items)
	if err != nil {
		return nil, err
	}
	for _, it := range featured {
		at[it].Featured = true
	}
	if viewerID == "" {
		return out, nil
	}
	for i := range out {
		out[i].MyVote, out[i].FavoritedByMe = new(int), new(bool)
	}
	votes, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (v MyVote, err error) { return v, row.Scan(&v.Item, &v.Value) },
		`SELECT v.item_id, v.value FROM votes v JOIN client_profiles c ON c.id = v.userid WHERE c.user_id = $1 AND v.item_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("my votes: %w", err)
	}
	for _, v := range votes {
		*at[v.Item].MyVote = v.Value
	}
	favorites, err := sqldb.All(ctx, tx, scanSlug, `SELECT item_slug FROM favorites WHERE user_id = $1 AND item_slug IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("my favorites: %w", err)
	}
	for _, it := range favorites {
		*at[it].FavoritedByMe = true
	}
	return out, nil
}

func scanSlug(row sqldb.Scanner) (slug string, err error) { return slug, row.Scan(&slug) }

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
