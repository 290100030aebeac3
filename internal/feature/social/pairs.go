package social

import (
	"context"
	"fmt"
	"slices"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Pair is a follow: Follower follows Following.
type Pair struct {
	Follower, Following string
}

// pairsAtOnce is how many follows FollowPairs writes a statement.
const pairsAtOnce = 200

// FollowPairs stores the follows of pairs that do not exist yet, a
// statement per pairsAtOnce, and returns how many it stored; then it
// recounts the counters of every user of pairs (see Recount). Pairs must
// name existing users, each other than the other. It keeps other
// transactions from writing follows and counters until tx ends, so that
// the counts are exact; tx may cross users.
func FollowPairs(ctx context.Context, tx *sqldb.Tx, pairs []Pair) (int, error) {
	for _, table := range []string{"user_follows", "user_follow_stats"} {
		if err := tx.LockWrites(ctx, table); err != nil {
			return 0, fmt.Errorf("lock %s: %w", table, err)
		}
	}
	stored := 0
	for chunk := range slices.Chunk(pairs, pairsAtOnce) {
		args := make([]any, 0, 4*len(chunk))
		for _, p := range chunk {
			args = append(args, userd.NewID(tx.Now), p.Follower, p.Following, tx.Now)
		}
		res, err := tx.Exec(ctx, `INSERT INTO user_follows (id, follower_id, following_id, created_at) VALUES `+sqldb.Values(1, len(chunk), 4)+`
			ON CONFLICT (follower_id, following_id) DO NOTHING`, args...)
		if err != nil {
			return stored, followErr(fmt.Errorf("follow pairs: %w", err))
		}
		n, _ := res.RowsAffected()
		stored += int(n)
	}
	users := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		users = append(users, p.Follower, p.Following)
	}
	return stored, recount(ctx, tx, users)
}

// recount sets the counters of users to what user_follows holds: one row
// each (shard 0), the other shards deleted. The caller keeps others from
// writing follows and counters meanwhile.
func recount(ctx context.Context, tx *sqldb.Tx, users []string) error {
	slices.Sort(users)
	users = slices.Compact(users)
	for chunk := range slices.Chunk(users, 500) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, tx.Now)
		for _, u := range chunk {
			args = append(args, u)
			tx.Invalidate(userd.FollowersKey(u), userd.FollowingKey(u))
		}
		in := sqldb.Values(2, 1, len(chunk))
		if _, err := tx.Exec(ctx, `DELETE FROM user_follow_stats WHERE user_id IN `+sqldb.Values(1, 1, len(chunk)), args[1:]...); err != nil {
			return fmt.Errorf("clear follow counters: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO user_follow_stats (user_id, shard, followers_count, followings_count, updated_at)
			SELECT u.id, 0, (SELECT count(*) FROM user_follows f WHERE f.following_id = u.id),
				(SELECT count(*) FROM user_follows f WHERE f.follower_id = u.id), $1
			FROM users u WHERE u.id IN `+in, args...)
		if err != nil {
			return fmt.Errorf("recount follows: %w", err)
		}
	}
	return nil
}
