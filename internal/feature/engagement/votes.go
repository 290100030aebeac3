package engagement

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/batch"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Votes arrive in storms on one hot item, so concurrent votes share
// transactions as views do (see batch.Batcher): a batch claims its voters'
// profiles, sets their votes and writes their activity log in a statement
// each, and moves each item's counters once. A voter's rate limit, the
// only error of one vote that a batch meets, refuses that vote alone; any
// other error (a voter deleted meanwhile) sends every vote of the batch
// through a transaction of its own, which meets only its own error.

const (
	// maxVotes bounds the votes of one transaction.
	maxVotes = 128
	// votesAtOnce is how many batches of votes commit at once.
	votesAtOnce = 2
)

// ballot is one vote of a batch.
type ballot struct {
	ctx    context.Context // the voter's, without its cancellation: its actor signs the activity log
	userID string
	client userd.Client
	item   string
	value  int   // 1, -1, or 0 to take the vote back
	err    error // the vote's own outcome
}

func (s *Service) vote(ctx context.Context, a userd.Actor, c userd.Client, item string, value int) error {
	if err := CheckItem(item); err != nil {
		return err // before any transaction
	}
	b := &ballot{ctx: context.WithoutCancel(ctx), userID: a.UserID, client: c, item: item, value: value}
	if err := s.voting.Add(b, s.commitVotes); err != nil {
		return err
	}
	return b.err
}

// commitVotes casts a batch of votes, each with its own outcome. A voter's
// second vote on an item waits for the batch's commit, so that the batch
// reads each vote once.
func (s *Service) commitVotes(ballots []*ballot) error {
	first, later := batch.Firsts(ballots, func(b *ballot) [2]string { return [2]string{b.userID, b.item} })
	// System: the item's counters are every voter's rows, not the actor's.
	ctx := ballots[0].ctx
	err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return s.castVotes(ctx, tx, first) })
	if err != nil {
		later = ballots
	}
	for _, b := range later {
		b.err = s.db.Tx(sqldb.System(b.ctx), func(tx *sqldb.Tx) error {
			if err := s.castVotes(b.ctx, tx, []*ballot{b}); err != nil {
				return err
			}
			return b.err // a refusal rolls its hit back
		})
	}
	return nil
}

// castVotes sets each voter's vote on an item (one each) to its value, or
// takes it back (0), and moves the items' counters by what changed: a new
// vote adds one, a changed vote moves one from a counter to the other, the
// same vote changes nothing. A change goes to the voter's activity log. A
// vote over its voter's rate limit gets the refusal as its err and changes
// nothing but the limit's count.
func (s *Service) castVotes(ctx context.Context, tx *sqldb.Tx, ballots []*ballot) error {
	// Voters in one order, which their profiles are locked in.
	slices.SortFunc(ballots, func(a, b *ballot) int {
		return cmp.Or(strings.Compare(a.userID, b.userID), strings.Compare(a.item, b.item))
	})
	if s.deps.Limiter != nil {
		keys := make([]string, len(ballots))
		for i, b := range ballots {
			keys[i] = "vote:" + b.userID
		}
		refusals, err := s.deps.Limiter.HitAll(ctx, tx, keys, s.deps.Limits.Votes)
		if err != nil {
			return err
		}
		for i, b := range ballots {
			b.err = refusals[i]
		}
		ballots = slices.DeleteFunc(slices.Clone(ballots), func(b *ballot) bool { return b.err != nil })
	}
	if len(ballots) == 0 {
		return nil
	}
	users := make([]string, len(ballots))
	for i, b := range ballots {
		users[i] = b.userID
	}
	profiles, err := claimProfiles(ctx, tx, slices.Compact(users))
	if err != nil {
		return err
	}
	olds, err := setVotes(ctx, tx, profiles, ballots)
	if err != nil {
		return fmt.Errorf("vote: %w", err)
	}
	// The log first and the counters last: a counter row stays locked from
	// its update to the commit, which other voters of the item wait on.
	var events []audit.Event
	deltas := map[string]Delta{}
	for i, b := range ballots {
		old := olds[i]
		if old == b.value {
			continue
		}
		by := userd.Actor{UserID: b.userID}
		if b.value == 0 {
			events = append(events, audit.Completed(userd.ActorFrom(b.ctx),
				itemEvent(by, b.userID, profiles[b.userID], b.client, audit.VoteWithdrawn, b.item, map[string]any{"was": old})))
		} else {
			events = append(events, audit.Completed(userd.ActorFrom(b.ctx),
				itemEvent(by, b.userID, profiles[b.userID], b.client, audit.Voted, b.item, map[string]any{"value": b.value, "was": old})))
		}
		oldUp, oldDown := counts(old)
		up, down := counts(b.value)
		d := deltas[b.item]
		d.Up += up - oldUp
		d.Down += down - oldDown
		deltas[b.item] = d
	}
	if err := audit.RecordAll(ctx, tx, events); err != nil {
		return err
	}
	// Items in one order, which their counters are locked in.
	for _, item := range slices.Sorted(maps.Keys(deltas)) {
		if err := bump(ctx, tx, item, deltas[item]); err != nil {
			return err
		}
	}
	return nil
}

// setVotes sets the votes of ballots (one a voter and item), whose voters'
// profiles the transaction has claimed, and returns what each was (0:
// none). PostgreSQL does it in one statement; SQLite, whose statements cost
// no round trip, in one a vote.
func setVotes(ctx context.Context, tx *sqldb.Tx, profiles map[string]string, ballots []*ballot) ([]int, error) {
	olds := make([]int, len(ballots))
	if !tx.WritingWith() {
		for i, b := range ballots {
			old, err := setVote(ctx, tx, profiles[b.userID], b.item, b.value)
			if err != nil {
				return nil, err
			}
			olds[i] = old
		}
		return olds, nil
	}
	rows := make([][]any, len(ballots))
	for i, b := range ballots {
		rows[i] = []any{profiles[b.userID], b.item, b.value, userd.NewID(tx.Now)}
	}
	values, args := sqldb.Rows(tx, 2, []string{"uuid", "text", "int", "uuid"}, rows)
	args = append([]any{tx.Now}, args...)
	// The WITH's reads see the rows as they were before the statement.
	was := map[[2]string]int{}
	err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
		var profile, item string
		var old int
		err := row.Scan(&profile, &item, &old)
		was[[2]string{profile, item}] = old
		return err
	}, `WITH v (profile, item, value, id) AS (`+values+`),
		old AS (SELECT votes.userid, votes.item_id, votes.value FROM votes JOIN v ON votes.userid = v.profile AND votes.item_id = v.item),
		up AS (INSERT INTO votes (id, userid, item_id, value, created_at, updated_at) SELECT id, profile, item, value, $1::timestamptz, $1::timestamptz FROM v WHERE value <> 0
			ON CONFLICT (userid, item_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
			WHERE votes.value <> excluded.value),
		gone AS (DELETE FROM votes USING v WHERE v.value = 0 AND votes.userid = v.profile AND votes.item_id = v.item)
		SELECT v.profile, v.item, COALESCE(old.value, 0) FROM v LEFT JOIN old ON old.userid = v.profile AND old.item_id = v.item`, args...)
	if err != nil {
		return nil, err
	}
	for i, b := range ballots {
		olds[i] = was[[2]string{profiles[b.userID], b.item}]
	}
	return olds, nil
}
