package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/platform/sqldb"
)

// w8Follows is W8's data set: the deleted user has this many followers
// (fewer when fewer users are seeded) and notificationsPerUser
// notifications.
const w8Follows = 100_000

// deleteWorkload runs W8: an administrator deletes a user whom w8Follows
// users follow and who has notificationsPerUser notifications, and then
// every follow counter must still add up to the follows that exist.
func deleteWorkload(ctx context.Context, tg *target, db *sqldb.DB, ids []string, hub string) (row, error) {
	victim := ids[len(ids)-1]
	fans := slices.DeleteFunc(slices.Clone(ids[3:min(len(ids), 3+w8Follows+1)]), func(id string) bool { return id == victim || id == hub })
	fans = fans[:min(len(fans), w8Follows)]
	for i := 0; i < len(fans); i += 1000 {
		batch := fans[i:min(len(fans), i+1000)]
		if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return social.FollowMany(ctx, tx, victim, batch) }); err != nil {
			return row{}, err
		}
	}
	if err := seedNotifications(ctx, db, victim); err != nil {
		return row{}, err
	}
	if err := settle(ctx, db); err != nil {
		return row{}, err
	}
	req, err := http.NewRequestWithContext(ctx, "DELETE", tg.base+"/v1/admin/users/"+victim, nil)
	if err != nil {
		return row{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tg.session)
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	took := time.Since(start)
	if err != nil {
		return row{}, err
	}
	res.Body.Close()
	var follows, followers, followings, left int64
	err = db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM user_follows`).Scan(&follows); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(followers_count), 0), COALESCE(SUM(followings_count), 0) FROM user_follow_stats`).
			Scan(&followers, &followings); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE user_id = $1`, victim).Scan(&left)
	})
	if err != nil {
		return row{}, err
	}
	exact := follows == followers && follows == followings && left == 0
	r := result{Requests: 1, RPS: 1 / took.Seconds(), P50: took, P99: took}
	if res.StatusCode != http.StatusNoContent {
		r.Errors = 1
	}
	fmt.Fprintf(os.Stderr, "  %-24s %d in %s; %d follows, counters %d / %d, %d notifications left\n",
		"W8 delete a user", res.StatusCode, took.Round(time.Millisecond), follows, followers, followings, left)
	return row{Workload: fmt.Sprintf("W8 delete (%d follows)", len(fans)), Engine: db.Engine(), result: r, Ratio: took.Seconds() / 2, RatioOf: "2 s",
		Target: "≤2s, exact", Holds: took <= 2*time.Second && exact && r.Errors == 0, PeakRSSMB: peakRSS(tg.pid)}, nil
}
