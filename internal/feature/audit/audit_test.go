package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// base is when the first event of a trail happens; event i happens i
// minutes later.
var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// trail records events, each in its own transaction at its own minute: as
// the user it belongs to when it has one (as the application records a
// user's own events), else across users. It returns the events in the
// order recorded, as List must give them back.
func trail(t *testing.T, db *sqldb.DB, events []audit.Event) []audit.Entry {
	t.Helper()
	ctx := context.Background()
	var out []audit.Entry
	for i, e := range events {
		when := base.Add(time.Duration(i) * time.Minute)
		db.SetClock(func() time.Time { return when })
		scope := sqldb.System(ctx)
		if e.UserID != "" {
			scope = sqldb.AsUser(ctx, e.UserID)
		}
		if err := db.Tx(scope, func(tx *sqldb.Tx) error { return audit.Record(ctx, tx, e) }); err != nil {
			t.Fatalf("record %s: %v", e.Action, err)
		}
		meta := "{}"
		if len(e.Metadata) > 0 {
			b, _ := json.Marshal(e.Metadata)
			meta = string(b)
		}
		out = append(out, audit.Entry{UserID: e.UserID, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
			IP: e.IP, UserAgent: e.UserAgent, Metadata: json.RawMessage(meta), CreatedAt: when})
	}
	db.SetClock(time.Now)
	return out
}

// same fails unless got are the entries of want, in want's order: every
// field but the id equal (metadata as JSON, which PostgreSQL spaces out),
// and ids decreasing. It returns got's ids.
func same(t *testing.T, what string, got, want []audit.Entry) []string {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries %v; want %d %v", what, len(got), actions(got), len(want), actions(want))
	}
	var ids []string
	for i := range got {
		g, w := got[i], want[i]
		var gm, wm any
		if err := json.Unmarshal(g.Metadata, &gm); err != nil {
			t.Fatalf("%s: entry %d: metadata %s: %v", what, i, g.Metadata, err)
		}
		json.Unmarshal(w.Metadata, &wm)
		if !reflect.DeepEqual(gm, wm) {
			t.Fatalf("%s: entry %d (%s): metadata %s; want %s", what, i, g.Action, g.Metadata, w.Metadata)
		}
		if _, ok := userd.ParseID(g.ID); !ok || i > 0 && g.ID >= ids[i-1] {
			t.Fatalf("%s: entry %d: id %q is not a UUID below the one before it (%v)", what, i, g.ID, ids)
		}
		ids = append(ids, g.ID)
		g.ID, g.Metadata, w.Metadata = "", nil, nil
		if !g.CreatedAt.Equal(w.CreatedAt) || g.CreatedAt.Location() != time.UTC {
			t.Fatalf("%s: entry %d (%s): created at %v; want %v in UTC", what, i, g.Action, g.CreatedAt, w.CreatedAt)
		}
		g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: entry %d:\n got %+v\nwant %+v", what, i, g, w)
		}
	}
	return ids
}

func actions(es []audit.Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

// newestFirst returns the entries of es for which keep is true, newest
// first.
func newestFirst(es []audit.Entry, keep func(audit.Entry) bool) []audit.Entry {
	var out []audit.Entry
	for _, e := range slices.Backward(es) {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// TestAuditListOwn: a user's own trail is their entries only (not
// another user's, nor those that belong to nobody), newest first, every
// field as recorded, in pages that a cursor continues without a gap or a
// repeat; a user with no entry has an empty trail.
func TestAuditListOwn(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ann, bob, cat := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com"), dbtest.User(t, db, "cat@example.com")
		all := trail(t, db, []audit.Event{
			{UserID: ann.UserID, Action: audit.Signup, IP: "192.0.2.1", UserAgent: "ua/1"},
			{UserID: bob.UserID, Action: audit.Signup, IP: "192.0.2.2"},
			{UserID: ann.UserID, Action: audit.Login, IP: "192.0.2.1", UserAgent: "ua/1", Metadata: map[string]any{"method": "password"}},
			{Action: audit.LoginFailed, IP: "198.51.100.9", Metadata: map[string]any{"identifier": "ann@example.com"}},
			{UserID: ann.UserID, Action: audit.PasswordChanged, TargetType: "user", TargetID: ann.UserID},
			{UserID: bob.UserID, Action: audit.Login, IP: "192.0.2.2"},
			{UserID: ann.UserID, Action: audit.SessionRevoked, TargetType: "session", TargetID: "s-1", Metadata: map[string]any{"count": 2.0, "all": true}},
			{UserID: ann.UserID, Action: audit.Logout, IP: "192.0.2.3", UserAgent: "ua/2"},
		})
		annWant := newestFirst(all, func(e audit.Entry) bool { return e.UserID == ann.UserID })

		got, err := audit.ListOwn(ctx, db, ann, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ann's trail", got, annWant)
		got, err = audit.ListOwn(ctx, db, bob, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "bob's trail", got, newestFirst(all, func(e audit.Entry) bool { return e.UserID == bob.UserID }))
		if got, err := audit.ListOwn(ctx, db, cat, "", 50); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("cat's trail = %v, %v; want empty, not nil", got, err)
		}

		// Pages of 2: [Logout SessionRevoked] [PasswordChanged Login] [Signup], then none.
		cursor, pages := "", [][]audit.Entry{annWant[0:2], annWant[2:4], annWant[4:5], {}}
		for i, want := range pages {
			page, err := audit.ListOwn(ctx, db, ann, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			ids := same(t, fmt.Sprintf("page %d", i+1), page, want)
			if len(ids) > 0 {
				cursor = ids[len(ids)-1]
			}
		}
		// Another user's cursor shows nothing of theirs.
		bobs, _ := audit.ListOwn(ctx, db, bob, "", 50)
		page, err := audit.ListOwn(ctx, db, ann, bobs[0].ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ann's trail before bob's newest", page, newestFirst(all, func(e audit.Entry) bool {
			return e.UserID == ann.UserID && e.CreatedAt.Before(all[5].CreatedAt)
		}))
	})
}

// TestAuditList: the administration's filters narrow the whole trail: by
// user, by exact action or action prefix, by target, by time (since
// inclusive, until exclusive), together, and paged.
func TestAuditList(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := sqldb.System(context.Background())
		ann, adm := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "admin@example.com")
		// At 09:00, 09:01, … 09:06.
		all := trail(t, db, []audit.Event{
			{UserID: ann.UserID, Action: audit.Signup},
			{UserID: adm.UserID, Action: audit.AdminUserUpdated, TargetType: "user", TargetID: ann.UserID, Metadata: map[string]any{"fields": []any{"city"}}},
			{UserID: ann.UserID, Action: audit.Login},
			{UserID: adm.UserID, Action: audit.AdminRoleAssigned, TargetType: "user", TargetID: ann.UserID},
			{Action: audit.LoginFailed},
			{UserID: adm.UserID, Action: audit.AdminUserUpdated, TargetType: "user", TargetID: adm.UserID},
			{UserID: adm.UserID, Action: audit.AdminNotificationSent, TargetType: "notification"},
		})
		list := func(f audit.Filter, before string, limit int) []audit.Entry {
			t.Helper()
			var out []audit.Entry
			err := db.View(ctx, func(tx *sqldb.Tx) (err error) {
				out, err = audit.List(ctx, tx, f, before, limit)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		for _, tt := range []struct {
			name string
			f    audit.Filter
			keep func(e audit.Entry) bool
		}{
			{"everything", audit.Filter{}, func(audit.Entry) bool { return true }},
			{"one user", audit.Filter{UserID: adm.UserID}, func(e audit.Entry) bool { return e.UserID == adm.UserID }},
			{"an exact action", audit.Filter{Action: audit.AdminUserUpdated}, func(e audit.Entry) bool { return e.Action == audit.AdminUserUpdated }},
			{"an action prefix", audit.Filter{Action: "auth."}, func(e audit.Entry) bool { return strings.HasPrefix(e.Action, "auth.") }},
			{"a prefix without its dot is an exact action", audit.Filter{Action: "auth"}, func(audit.Entry) bool { return false }},
			{"a target", audit.Filter{TargetType: "user", TargetID: ann.UserID}, func(e audit.Entry) bool { return e.TargetID == ann.UserID }},
			{"a target type", audit.Filter{TargetType: "notification"}, func(e audit.Entry) bool { return e.TargetType == "notification" }},
			{"since, inclusive", audit.Filter{Since: base.Add(5 * time.Minute)}, func(e audit.Entry) bool { return !e.CreatedAt.Before(base.Add(5 * time.Minute)) }},
			{"until, exclusive", audit.Filter{Until: base.Add(2 * time.Minute)}, func(e audit.Entry) bool { return e.CreatedAt.Before(base.Add(2 * time.Minute)) }},
			{"a time range in the past", audit.Filter{Since: base.Add(-48 * time.Hour), Until: base.Add(-24 * time.Hour)}, func(audit.Entry) bool { return false }},
			{"user, prefix and range", audit.Filter{UserID: adm.UserID, Action: "admin.", Since: base.Add(2 * time.Minute), Until: base.Add(6 * time.Minute)},
				func(e audit.Entry) bool {
					return e.CreatedAt.Equal(all[3].CreatedAt) || e.CreatedAt.Equal(all[5].CreatedAt)
				}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				same(t, tt.name, list(tt.f, "", 50), newestFirst(all, tt.keep))
			})
		}
		// Pages of 3 of the administrator's updates and assignments.
		f := audit.Filter{UserID: adm.UserID, Action: "admin."}
		want := newestFirst(all, func(e audit.Entry) bool { return e.UserID == adm.UserID })
		ids := same(t, "page 1", list(f, "", 3), want[:3])
		ids = same(t, "page 2", list(f, ids[2], 3), want[3:])
		same(t, "page 3", list(f, ids[0], 3), nil)
	})
}

// TestAuditAppendOnly: on PostgreSQL the trail is append-only for both of
// the application's roles: UPDATE and DELETE of activity_logs are refused
// (insufficient privilege) as a user and across users, the rows stay as they
// were, and appending still works. (SQLite has no roles: there, the only
// writer of the table is this package, which never changes an entry.)
func TestAuditAppendOnly(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	ctx := context.Background()
	ann := dbtest.User(t, db, "ann@example.com")
	before := trail(t, db, []audit.Event{
		{UserID: ann.UserID, Action: audit.Login, IP: "192.0.2.1"},
		{Action: audit.LoginFailed, IP: "192.0.2.9"},
	})
	for _, scope := range []struct {
		name string
		ctx  context.Context
	}{{"as the user", sqldb.AsUser(ctx, ann.UserID)}, {"across users", sqldb.System(ctx)}} {
		for _, stmt := range []string{
			`UPDATE activity_logs SET action = 'auth.logout'`,
			`UPDATE activity_logs SET ip = NULL WHERE user_id = $1`,
			`DELETE FROM activity_logs`,
			`DELETE FROM activity_logs WHERE user_id = $1`,
		} {
			args := []any{}
			if strings.HasSuffix(stmt, "$1") {
				args = append(args, ann.UserID)
			}
			err := db.Tx(scope.ctx, func(tx *sqldb.Tx) error {
				_, err := tx.Exec(ctx, stmt, args...)
				return err
			})
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42501" {
				t.Errorf("%s: %s = %v; want permission denied (42501)", scope.name, stmt, err)
			}
		}
	}
	var got []audit.Entry
	err := db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		got, err = audit.List(ctx, tx, audit.Filter{}, "", 50)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "the trail after the refusals", got, []audit.Entry{before[1], before[0]})
	err = db.Tx(sqldb.AsUser(ctx, ann.UserID), func(tx *sqldb.Tx) error {
		return audit.Record(ctx, tx, audit.Event{UserID: ann.UserID, Action: audit.Logout})
	})
	if err != nil {
		t.Fatalf("appending after the refusals: %v", err)
	}
}
