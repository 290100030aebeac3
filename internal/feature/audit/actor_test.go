package audit_test

import (
	"context"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestActors: an entry names who acted when that is not whose it is (an
// API key, another user, from the event or the context's actor), never the
// owner twice; the owner's own list hides another actor's address and
// agent, and the trail keeps them.
func TestActors(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ann, adm := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "adm@example.com")
		key := userd.NewID(db.Now())
		record := func(ctx context.Context, e audit.Event) {
			t.Helper()
			e.Action, e.IP, e.UserAgent = audit.CredentialRevealed, "192.0.2.9", "reader/1.0"
			if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return audit.Record(ctx, tx, e) }); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		record(ctx, audit.Event{UserID: ann.UserID})                                                // ann herself
		record(ctx, audit.Event{UserID: ann.UserID, ActorUserID: adm.UserID})                       // an administrator, said
		record(userd.WithActor(ctx, adm), audit.Event{UserID: ann.UserID})                          // an administrator, from the request
		record(userd.WithActor(ctx, userd.Actor{APIKeyID: key}), audit.Event{UserID: ann.UserID})   // a key, from the request
		record(userd.WithActor(ctx, ann), audit.Event{UserID: ann.UserID, ActorUserID: ann.UserID}) // ann, said twice
		want := []struct{ key, actor, ip string }{{"", "", "192.0.2.9"}, {key, "", ""}, {"", adm.UserID, ""}, {"", adm.UserID, ""}, {"", "", "192.0.2.9"}}
		own, err := audit.ListOwn(ctx, db, ann, "", 10)
		if err != nil || len(own) != len(want) {
			t.Fatalf("ann's trail: %d entries, %v", len(own), err)
		}
		for i, w := range want { // newest first
			e := own[i]
			if e.APIKeyID != w.key || e.ActorUserID != w.actor || e.IP != w.ip || (w.ip == "") != (e.UserAgent == "") {
				t.Errorf("entry %d: key %q actor %q ip %q agent %q; want key %q actor %q ip %q", i, e.APIKeyID, e.ActorUserID, e.IP, e.UserAgent, w.key, w.actor, w.ip)
			}
		}
		var all []audit.Entry
		db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
			all, err = audit.List(ctx, tx, audit.Filter{UserID: ann.UserID}, "", 10)
			return err
		})
		for _, e := range all {
			if e.IP != "192.0.2.9" || e.UserAgent != "reader/1.0" {
				t.Errorf("the trail lost where %s acted from: %q %q", e.ID, e.IP, e.UserAgent)
			}
		}
	})
}
