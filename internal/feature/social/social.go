// Package social owns the follow graph: user_follows and the exact counters
// of user_follow_stats, kept in each follow's transaction (which concurrent
// follows share: see Service.SetFollow) and spread over shards so that a hot
// account's followers do not queue on one row.
package social

import (
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
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Shards is how many rows a user's counters are spread over.
const Shards = 16

// Errors that the functions of this package return.
var (
	ErrSelfFollow = &userd.Error{Kind: userd.KindInvalid, Code: "self_follow", Message: "A user cannot follow themself.",
		Fields: []userd.FieldError{{Field: "id", Code: "self_follow", Message: "A user cannot follow themself."}}}
	ErrUserNotFound = userd.Errorf(userd.KindNotFound, "user_not_found", "No such user.")
)

// delta is a change to one shard of a user's counters.
type delta struct {
	userID               string
	shard                int
	followers, following int64
}

func shard() int {
	n, _ := rand.Int(rand.Reader, big.NewInt(Shards))
	return int(n.Int64())
}

// sortDeltas puts deltas in (user, shard) order: the order that every
// transaction locks counter rows in.
func sortDeltas(ds []delta) {
	slices.SortFunc(ds, func(a, b delta) int {
		if c := strings.Compare(a.userID, b.userID); c != 0 {
			return c
		}
		return a.shard - b.shard
	})
}

// bump applies deltas of distinct users in one statement, in (user, shard)
// order, so that two transactions that touch the same rows lock them in the
// same order and cannot deadlock, and invalidates the lists whose counts
// they change.
func bump(ctx context.Context, tx *sqldb.Tx, ds ...delta) error {
	// Soon: a storm of follows of one user would otherwise commit one at a
	// time behind PostgreSQL's notification lock (see sqldb.InvalidateSoon).
	for _, d := range ds {
		if d.followers != 0 {
			tx.InvalidateSoon(userd.FollowersKey(d.userID))
		}
		if d.following != 0 {
			tx.InvalidateSoon(userd.FollowingKey(d.userID))
		}
	}
	sortDeltas(ds)
	var b strings.Builder
	b.WriteString(`INSERT INTO user_follow_stats (user_id, shard, followers_count, followings_count, updated_at) VALUES `)
	args := []any{tx.Now}
	for i, d := range ds {
		if i > 0 {
			b.WriteString(", ")
		}
		k := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $1)", k+1, k+2, k+3, k+4)
		args = append(args, d.userID, d.shard, d.followers, d.following)
	}
	b.WriteString(` ON CONFLICT (user_id, shard) DO UPDATE SET followers_count = user_follow_stats.followers_count + excluded.followers_count,
		followings_count = user_follow_stats.followings_count + excluded.followings_count, updated_at = excluded.updated_at`)
	if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("update follow counters: %w", err)
	}
	return nil
}

// Follow makes follower follow following; following twice is not an error.
// It reports whether the follow is new, and returns ErrSelfFollow or
// ErrUserNotFound. It touches both users' rows, so it runs in a transaction
// that may cross users.
func Follow(ctx context.Context, tx *sqldb.Tx, follower, following string) (bool, error) {
	if follower == following {
		return false, ErrSelfFollow
	}
	s := shard()
	ds := []delta{{userID: following, shard: s, followers: 1}, {userID: follower, shard: s, following: 1}}
	if tx.WritingWith() {
		return followOnce(ctx, tx, follower, following, ds)
	}
	var id string
	err := tx.QueryRow(ctx, `INSERT INTO user_follows (id, follower_id, following_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (follower_id, following_id) DO NOTHING RETURNING id`, userd.NewID(tx.Now), follower, following, tx.Now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, followErr(err)
	}
	return true, bump(ctx, tx, ds...)
}

func followErr(err error) error {
	if c := sqldb.ViolatedKind(err); c != nil && c.Kind == sqldb.ForeignKey {
		return ErrUserNotFound
	}
	return fmt.Errorf("follow: %w", err)
}

// followOnce is Follow on an engine whose WITH may write (PostgreSQL): the
// follow and, when it is new, its two counter rows, in one statement and so
// one round trip, where SQLite, in process, takes two statements. The counter
// rows are written in bump's order.
func followOnce(ctx context.Context, tx *sqldb.Tx, follower, following string, ds []delta) (bool, error) {
	sortDeltas(ds)
	res, err := tx.Exec(ctx, `WITH f AS (
			INSERT INTO user_follows (id, follower_id, following_id, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (follower_id, following_id) DO NOTHING RETURNING id)
		INSERT INTO user_follow_stats (user_id, shard, followers_count, followings_count, updated_at)
		SELECT v.user_id, v.shard, v.followers, v.following, $4 FROM f,
			(VALUES ($5::uuid, $6::integer, $7::bigint, $8::bigint), ($9::uuid, $10::integer, $11::bigint, $12::bigint)) v (user_id, shard, followers, following)
		ORDER BY v.user_id
		ON CONFLICT (user_id, shard) DO UPDATE SET followers_count = user_follow_stats.followers_count + excluded.followers_count,
			followings_count = user_follow_stats.followings_count + excluded.followings_count, updated_at = excluded.updated_at`,
		userd.NewID(tx.Now), follower, following, tx.Now,
		ds[0].userID, ds[0].shard, ds[0].followers, ds[0].following, ds[1].userID, ds[1].shard, ds[1].followers, ds[1].following)
	if err != nil {
		return false, followErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	tx.InvalidateSoon(userd.FollowersKey(following), userd.FollowingKey(follower)) // see bump
	return true, nil
}

// Unfollow ends a follow; ending one that does not exist is not an error.
// It reports whether there was one.
func Unfollow(ctx context.Context, tx *sqldb.Tx, follower, following string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM user_follows WHERE follower_id = $1 AND following_id = $2`, follower, following)
	if err != nil {
		return false, fmt.Errorf("unfollow: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	s := shard()
	return true, bump(ctx, tx, delta{userID: following, shard: s, followers: -1}, delta{userID: follower, shard: s, following: -1})
}

// Stats returns a user's follower and following counts.
func Stats(ctx context.Context, tx *sqldb.Tx, userID string) (followers, followings int64, err error) {
	err = tx.QueryRow(ctx, `SELECT COALESCE(SUM(followers_count), 0), COALESCE(SUM(followings_count), 0) FROM user_follow_stats WHERE user_id = $1`, userID).
		Scan(&followers, &followings)
	if err != nil {
		return 0, 0, fmt.Errorf("follow counters: %w", err)
	}
	return followers, followings, nil
}

// Follows reports whether follower follows following.
func Follows(ctx context.Context, tx *sqldb.Tx, follower, following string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM user_follows WHERE follower_id = $1 AND following_id = $2`, follower, following).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("follows: %w", err)
	}
	return n > 0, nil
}

// Edge is one follow seen from one side: the other user's public fields.
type Edge struct {
	FollowID string // the cursor
	account.Card
	At time.Time
}

// Followers lists who follows userID, newest first, before the follow
// beforeID ("" for the first page).
func Followers(ctx context.Context, tx *sqldb.Tx, userID, beforeID string, limit int) ([]Edge, error) {
	return edges(ctx, tx, "following_id", "follower_id", userID, beforeID, limit)
}

// Following lists whom userID follows, newest first.
func Following(ctx context.Context, tx *sqldb.Tx, userID, beforeID string, limit int) ([]Edge, error) {
	return edges(ctx, tx, "follower_id", "following_id", userID, beforeID, limit)
}

// edges walks the index (side, id) backwards from beforeID: a page deep in a
// million followers costs what the first one does.
func edges(ctx context.Context, tx *sqldb.Tx, side, other, userID, beforeID string, limit int) ([]Edge, error) {
	beforeID = sqldb.Before(beforeID)
	out, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (Edge, error) {
		var e Edge
		err := row.Scan(append(append([]any{&e.FollowID}, e.Card.Dest()...), &e.At)...)
		e.At = e.At.UTC()
		return e, err
	}, `SELECT f.id, `+account.CardColumns+`, f.created_at
		FROM user_follows f JOIN users u ON u.id = f.`+other+`
		WHERE f.`+side+` = $1 AND f.id < $2 ORDER BY f.id DESC LIMIT $3`, userID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("list follows: %w", err)
	}
	return out, nil
}

// Forget takes a user out of the graph before they are deleted: every user
// they followed loses a follower and every follower loses a following, in
// the caller's transaction, which must hold the user's row locked (so that
// no follow of them commits in between) and may cross users. The follows
// themselves go with the user (ON DELETE CASCADE).
func Forget(ctx context.Context, tx *sqldb.Tx, userID string) error {
	for _, q := range []string{
		`INSERT INTO user_follow_stats (user_id, shard, followers_count, followings_count, updated_at)
			SELECT following_id, 0, -count(*), 0, $2 FROM user_follows WHERE follower_id = $1 GROUP BY following_id
			ON CONFLICT (user_id, shard) DO UPDATE SET followers_count = user_follow_stats.followers_count + excluded.followers_count,
				updated_at = excluded.updated_at`,
		`INSERT INTO user_follow_stats (user_id, shard, followers_count, followings_count, updated_at)
			SELECT follower_id, 0, 0, -count(*), $2 FROM user_follows WHERE following_id = $1 GROUP BY follower_id
			ON CONFLICT (user_id, shard) DO UPDATE SET followings_count = user_follow_stats.followings_count + excluded.followings_count,
				updated_at = excluded.updated_at`,
	} {
		if _, err := tx.Exec(ctx, q, userID, tx.Now); err != nil {
			return fmt.Errorf("forget follows: %w", err)
		}
	}
	return nil
}

// FollowMany makes every one of followers follow following, in one
// statement per call and with exact counters: the bulk path for seeding and
// loading. Followers must be distinct, other than following, and not follow
// it yet.
func FollowMany(ctx context.Context, tx *sqldb.Tx, following string, followers []string) error {
	if len(followers) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO user_follows (id, follower_id, following_id, created_at) VALUES `)
	args := []any{following, tx.Now}
	for i, f := range followers {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d, $%d, $1, $2)", len(args)+1, len(args)+2)
		args = append(args, userd.NewID(tx.Now), f)
	}
	if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("follow many: %w", err)
	}
	ds := make([]delta, 0, len(followers)+1)
	for _, f := range followers {
		ds = append(ds, delta{userID: f, following: 1})
	}
	return bump(ctx, tx, append(ds, delta{userID: following, shard: shard(), followers: int64(len(followers))})...)
}
