package engagement_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestVoteLimitsInAStorm: votes that share transactions keep each voter's
// limit exactly: of a voter's eight votes at once, on eight items, exactly
// three pass and five are refused, while everyone else's pass; the
// counters and activity log hold exactly the votes that passed.
func TestVoteLimitsInAStorm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := engagement.NewService(db, engagement.Deps{Limiter: ratelimit.New(db, true), Limits: engagement.Limits{
			Votes: ratelimit.Rule{Max: 3, Window: time.Hour}}})
		voters := users(t, db, 41, "lim")
		errs := dbtest.AtOnce(48, func(i int) error {
			if i < 8 {
				return s.Vote(ctx, voters[0], userd.Client{}, fmt.Sprint("item-", i), 1)
			}
			return s.Vote(ctx, voters[i-7], userd.Client{}, "item-0", -1)
		})
		passed, refused := 0, 0
		for i, err := range errs {
			switch {
			case err == nil && i < 8:
				passed++
			case i < 8 && userd.ErrorKind(err) == userd.KindRateLimited:
				var rl *ratelimit.Error
				if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
					t.Fatalf("refusal %v says no time to retry", err)
				}
				refused++
			case err != nil:
				t.Fatalf("vote %d: %v", i, err)
			}
		}
		if passed != 3 || refused != 5 {
			t.Fatalf("%d of the 8 votes passed and %d were refused; want 3 and 5", passed, refused)
		}
		var total, logged int64
		for i := range 8 {
			st := exact(t, db, s, fmt.Sprint("item-", i))
			total += st.Upvotes + st.Downvotes
		}
		if total != 3+40 {
			t.Fatalf("%d votes counted; want %d", total, 3+40)
		}
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE user_id = $1 AND action = 'engagement.voted'`, voters[0].UserID).Scan(&logged)
		if logged != 3 {
			t.Fatalf("%d votes of the limited voter logged; want 3", logged)
		}
	})
}

// TestVoteFlipsOfOneVoter: a voter's votes on one item at once (in one
// batch or several) end as one row, with the counters equal to the rows
// and one log entry per change.
func TestVoteFlipsOfOneVoter(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := engagement.NewService(db, engagement.Deps{})
		voters := users(t, db, 21, "flip")
		errs := dbtest.AtOnce(60, func(i int) error {
			if i < 20 {
				return s.Vote(ctx, voters[0], userd.Client{}, "item", 1-2*(i%2))
			}
			return s.Vote(ctx, voters[1+i%20], userd.Client{}, "item", 1)
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		st := exact(t, db, s, "item")
		if st.Upvotes+st.Downvotes != 21 {
			t.Fatalf("stats %+v; want 21 votes", st)
		}
		// One logged change makes the vote and each other one flips it (the
		// log's order is not the order of commits), so the vote ends as the
		// first one flipped as many times.
		rows, err := db.SQL().Query(`SELECT metadata FROM activity_logs WHERE user_id = $1 AND action = 'engagement.voted'`, voters[0].UserID)
		if err != nil {
			t.Fatal(err)
		}
		first, flips := 0, 0
		for rows.Next() {
			var meta []byte
			var m struct{ Value, Was int }
			if err := rows.Scan(&meta); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(meta, &m); err != nil {
				t.Fatalf("metadata %s: %v", meta, err)
			}
			switch {
			case m.Was == 0 && first == 0:
				first = m.Value
			case m.Was == -m.Value && m.Was != 0:
				flips++
			default:
				t.Fatalf("change %s after a first vote of %d", meta, first)
			}
		}
		rows.Close()
		var last int
		db.SQL().QueryRow(`SELECT v.value FROM votes v JOIN client_profiles p ON p.id = v.userid WHERE p.user_id = $1`, voters[0].UserID).Scan(&last)
		if want := first * (1 - 2*(flips%2)); first == 0 || last != want {
			t.Fatalf("the vote is %d; the log has a first vote of %d and %d flips", last, first, flips)
		}
	})
}

// TestVoteSignedByItsOwnKey: votes cast at once through different API keys
// share transactions, yet each log entry names the key that cast it.
func TestVoteSignedByItsOwnKey(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := engagement.NewService(db, engagement.Deps{})
		voters := users(t, db, 30, "key")
		for i := range voters {
			voters[i].APIKeyID = userd.NewID(time.Now())
		}
		errs := dbtest.AtOnce(len(voters), func(i int) error {
			ctx := userd.WithActor(context.Background(), voters[i])
			return s.Vote(ctx, voters[i], userd.Client{IP: fmt.Sprint("192.0.2.", i)}, "item", 1)
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for i, a := range voters {
			var key, ip string
			err := db.SQL().QueryRow(`SELECT actor_api_key_id, ip FROM activity_logs WHERE user_id = $1 AND action = 'engagement.voted'`, a.UserID).Scan(&key, &ip)
			if err != nil || key != a.APIKeyID || ip != fmt.Sprint("192.0.2.", i) {
				t.Fatalf("voter %d logged with key %q from %q (%v); want %q from 192.0.2.%d", i, key, ip, err, a.APIKeyID, i)
			}
		}
	})
}
