package social

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/batch"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Follows arrive in storms on one account, so concurrent follows and
// unfollows share transactions as votes do (see batch.Batcher): a batch
// inserts its follows in one statement, deletes its unfollows in another
// and moves each user's counters once. Any error of a batch (a user deleted
// meanwhile) sends each of its changes through a transaction of its own,
// which meets only its own error.

const (
	// maxFollows bounds the changes of one transaction.
	maxFollows = 128
	// followsAtOnce is how many batches of changes commit at once.
	followsAtOnce = 2
)

// change is one follow (on) or unfollow of a batch.
type change struct {
	ctx                 context.Context // the caller's, without its cancellation
	follower, following string
	on                  bool
	err                 error // the change's own outcome
}

// commitFollows makes a batch of changes, each with its own outcome. A
// pair's second change waits for the batch's commit, so that the batch
// meets each pair once.
func (s *Service) commitFollows(cs []*change) error {
	first, later := batch.Firsts(cs, func(c *change) [2]string { return [2]string{c.follower, c.following} })
	// System: a follow changes the other user's counters too.
	ctx := cs[0].ctx
	if err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return setFollows(ctx, tx, first) }); err != nil {
		later = cs
	}
	for _, c := range later {
		c.err = s.db.Tx(sqldb.System(c.ctx), func(tx *sqldb.Tx) (err error) {
			if c.on {
				_, err = Follow(c.ctx, tx, c.follower, c.following)
			} else {
				_, err = Unfollow(c.ctx, tx, c.follower, c.following)
			}
			return err
		})
	}
	return nil
}

// setFollows makes changes of distinct pairs, none a self-follow: the
// follows that are new and the unfollows of follows that exist move both
// users' counters, each user's once, on one shard.
func setFollows(ctx context.Context, tx *sqldb.Tx, cs []*change) error {
	// Pairs in one order, which their rows are locked in.
	slices.SortFunc(cs, func(a, b *change) int {
		return cmp.Or(strings.Compare(a.follower, b.follower), strings.Compare(a.following, b.following))
	})
	var follows, unfollows [][]any
	for _, c := range cs {
		if c.on {
			follows = append(follows, []any{userd.NewID(tx.Now), c.follower, c.following, tx.Now})
		} else {
			unfollows = append(unfollows, []any{c.follower, c.following})
		}
	}
	moved := map[string]delta{}
	move := func(row sqldb.Scanner, by int64) error {
		var follower, following string
		if err := row.Scan(&follower, &following); err != nil {
			return err
		}
		d := moved[following]
		d.userID, d.followers = following, d.followers+by
		moved[following] = d
		d = moved[follower]
		d.userID, d.following = follower, d.following+by
		moved[follower] = d
		return nil
	}
	if len(follows) > 0 {
		values, args := sqldb.Rows(tx, 1, []string{"uuid", "uuid", "uuid", "timestamptz"}, follows)
		err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error { return move(row, 1) },
			`WITH v (id, follower, following, at) AS (`+values+`)
			INSERT INTO user_follows (id, follower_id, following_id, created_at) SELECT id, follower, following, at FROM v WHERE true
			ON CONFLICT (follower_id, following_id) DO NOTHING RETURNING follower_id, following_id`, args...)
		if err != nil {
			return followErr(err)
		}
	}
	if len(unfollows) > 0 {
		values, args := sqldb.Rows(tx, 1, []string{"uuid", "uuid"}, unfollows)
		err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error { return move(row, -1) },
			`WITH v (follower, following) AS (`+values+`)
			DELETE FROM user_follows WHERE (follower_id, following_id) IN (SELECT follower, following FROM v)
			RETURNING follower_id, following_id`, args...)
		if err != nil {
			return fmt.Errorf("unfollow: %w", err)
		}
	}
	ds := make([]delta, 0, len(moved))
	for _, id := range slices.Sorted(maps.Keys(moved)) {
		d := moved[id]
		if d.followers == 0 && d.following == 0 {
			continue
		}
		d.shard = shard()
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return nil
	}
	return bump(ctx, tx, ds...)
}
