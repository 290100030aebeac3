package synchronization_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// entry is one trail entry of an action.
type entry struct {
	userID, keyID, targetID string
	meta                    map[string]any
}

// entries lists the trail's entries of an action, oldest first.
func entries(t *testing.T, db *sqldb.DB, action string) []entry {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT user_id, actor_api_key_id, target_id, metadata FROM activity_logs WHERE action = $1 ORDER BY id`, action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var user, key, target sql.NullString
		var meta string
		if err := rows.Scan(&user, &key, &target, &meta); err != nil {
			t.Fatal(err)
		}
		e := entry{userID: user.String, keyID: key.String, targetID: target.String}
		if err := json.Unmarshal([]byte(meta), &e.meta); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dueDeliveries counts the synchronization.due webhooks delivered (or
// recorded as skipped: no URL here).
func dueDeliveries(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM webhook_deliveries WHERE event_type = 'synchronization.due'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestForApplications: a key or an administrator holding
// synchronizations:reveal reads a user's token and runs a synchronization
// now, each an entry in the owner's trail naming the key or the person; a
// caller without it changes nothing and leaves no entry; another user's
// synchronization is not found; a run asked for twice before it went out is
// one synchronization.due delivery, and leaves the daily schedule as it was.
func TestForApplications(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ring, err := seal.NewKeyring(bytes.Repeat([]byte{4}, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		s := synchronization.NewService(db, ring)
		ann, bob := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com")
		str := func(v string) *string { return &v }
		exp := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
		sy, err := s.Create(ctx, ann, synchronization.Patch{Service: str("Rithmic"), AccountID: str("R-1"), Token: str("tok-ann"),
			TokenExpiresAt: &exp, DailySyncTime: str("06:30"), TimeZone: str("Europe/Paris")})
		if err != nil {
			t.Fatal(err)
		}
		bobs, err := s.Create(ctx, bob, synchronization.Patch{Service: str("Rithmic"), AccountID: str("R-2")}) // no token, no daily time
		if err != nil {
			t.Fatal(err)
		}
		c := userd.Client{IP: "192.0.2.9", UserAgent: "app"}
		keyID := userd.NewID(time.Now())
		key := userd.Actor{APIKeyID: keyID, Grants: userd.Grants{Permissions: []string{synchronization.RevealPermission}}}
		adm := userd.Actor{UserID: bob.UserID, Grants: userd.Grants{Admin: true}}
		weak := userd.Actor{APIKeyID: userd.NewID(time.Now()), Grants: userd.Grants{Permissions: []string{"vault:reveal"}}}

		got, token, err := s.TokenFor(ctx, key, c, ann.UserID, sy.ID)
		if err != nil || token != "tok-ann" || got.TokenExpiresAt == nil || !got.TokenExpiresAt.Equal(exp) {
			t.Fatalf("a key's token read = %+v %q, %v", got, token, err)
		}
		if _, token, err := s.TokenFor(ctx, adm, c, ann.UserID, sy.ID); err != nil || token != "tok-ann" {
			t.Fatalf("an administrator's token read = %q, %v", token, err)
		}
		for name, try := range map[string]struct {
			by         userd.Actor
			user, sync string
			want       error
		}{
			"no synchronizations:reveal": {weak, ann.UserID, sy.ID, synchronization.ErrRevealForbidden},
			"the owner without it":       {ann, ann.UserID, sy.ID, synchronization.ErrRevealForbidden},
			"bob's under ann":            {key, ann.UserID, bobs.ID, synchronization.ErrNotFound},
			"ann's under bob":            {key, bob.UserID, sy.ID, synchronization.ErrNotFound},
			"a malformed user id":        {key, "x", sy.ID, synchronization.ErrNotFound},
			"a malformed id":             {key, ann.UserID, "x", synchronization.ErrNotFound},
			"no token":                   {key, bob.UserID, bobs.ID, synchronization.ErrNoToken},
		} {
			if _, token, err := s.TokenFor(ctx, try.by, c, try.user, try.sync); !errors.Is(err, try.want) || token != "" {
				t.Errorf("%s = %q, %v; want %v", name, token, err, try.want)
			}
		}
		reads := entries(t, db, "synchronization.token_revealed")
		if len(reads) != 2 || reads[0].userID != ann.UserID || reads[0].keyID != keyID || reads[0].targetID != sy.ID ||
			reads[0].meta["revealed_by_user_id"] != nil || reads[0].meta["account_id"] != "R-1" ||
			reads[1].userID != ann.UserID || reads[1].keyID != "" || reads[1].meta["revealed_by_user_id"] != bob.UserID {
			t.Fatalf("the token reads' entries = %+v", reads)
		}

		var dailyAt time.Time
		if err := db.SQL().QueryRow(`SELECT run_at FROM jobs WHERE kind = 'sync.due' AND done_at IS NULL`).Scan(&dailyAt); err != nil {
			t.Fatal(err)
		}
		for name, try := range map[string]struct {
			by   userd.Actor
			sync string
			want error
		}{
			"no synchronizations:reveal": {weak, sy.ID, synchronization.ErrRevealForbidden},
			"a malformed id":             {key, "x", synchronization.ErrNotFound},
			"an unknown id":              {key, userd.NewID(time.Now()), synchronization.ErrNotFound},
		} {
			if err := s.RunNow(ctx, try.by, c, try.sync); !errors.Is(err, try.want) {
				t.Errorf("run: %s = %v; want %v", name, err, try.want)
			}
		}
		if n := pendingJobs(t, db); n != 2 { // ann's daily run and expiry warning
			t.Fatalf("pending jobs after refused runs = %d; want 2", n)
		}
		if err := s.RunNow(ctx, key, c, sy.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RunNow(ctx, adm, c, sy.ID); err != nil { // again before it went out: still one
			t.Fatal(err)
		}
		if err := s.RunNow(ctx, key, c, bobs.ID); err != nil { // no daily time: runs all the same
			t.Fatal(err)
		}
		if n := pendingJobs(t, db); n != 4 {
			t.Fatalf("pending jobs after three runs asked for two synchronizations = %d; want 4", n)
		}
		r := jobs.NewRunner(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		synchronization.Register(r, db, ring, webhook.New(db, "", nil))
		if n, err := r.RunDue(ctx); n != 2 || err != nil {
			t.Fatalf("ran %d jobs, %v; want the 2 runs", n, err)
		}
		if n := dueDeliveries(t, db); n != 2 {
			t.Fatalf("%d synchronization.due deliveries; want 2", n)
		}
		if n, _ := r.RunDue(ctx); n != 0 || dueDeliveries(t, db) != 2 {
			t.Fatalf("a run went out again")
		}
		var after time.Time
		if err := db.SQL().QueryRow(`SELECT run_at FROM jobs WHERE kind = 'sync.due' AND done_at IS NULL`).Scan(&after); err != nil || !after.Equal(dailyAt) {
			t.Fatalf("the daily run moved from %v to %v (%v)", dailyAt, after, err)
		}
		runs := entries(t, db, "synchronization.run_requested")
		if len(runs) != 3 || runs[0].userID != ann.UserID || runs[0].keyID != keyID || runs[1].meta["requested_by_user_id"] != bob.UserID ||
			runs[2].userID != bob.UserID || runs[2].targetID != bobs.ID {
			t.Fatalf("the runs' entries = %+v", runs)
		}

		// A run asked for, then the synchronization deleted: nothing goes out.
		if err := s.RunNow(ctx, key, c, bobs.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, bob, bobs.ID); err != nil {
			t.Fatal(err)
		}
		if n, _ := r.RunDue(ctx); n != 0 || dueDeliveries(t, db) != 2 {
			t.Fatalf("a deleted synchronization's run went out (%d jobs ran)", n)
		}
	})
}
