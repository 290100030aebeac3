package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestBeginEntersScope: a transaction's first statement already runs as its
// scope's role with its user set, a read-only one cannot write, the scope
// ends with the transaction, and a scope whose user is not an id does not
// begin.
func TestBeginEntersScope(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	ctx := context.Background()
	id := userd.NewID(db.Now())
	for _, c := range []struct {
		ctx        context.Context
		role, user string
	}{{sqldb.AsUser(ctx, id), "userd_app", id}, {sqldb.System(ctx), "userd_system", ""}} {
		var role, user string
		err := db.View(c.ctx, func(tx *sqldb.Tx) error {
			return tx.QueryRow(ctx, `SELECT current_user, current_setting('userd.user_id')`).Scan(&role, &user)
		})
		if err != nil || role != c.role || user != c.user {
			t.Fatalf("in scope: %q %q %v; want %q %q", role, user, err, c.role, c.user)
		}
		err = db.View(c.ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM sessions`)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("a write in a read-only transaction: %v", err)
		}
	}
	var role string
	if err := db.SQL().QueryRow(`SELECT current_user`).Scan(&role); err != nil || role == "userd_app" || role == "userd_system" {
		t.Fatalf("outside a transaction: %q %v", role, err)
	}
	err := db.View(sqldb.AsUser(ctx, "x' OR true; --"), func(tx *sqldb.Tx) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not an id") {
		t.Fatalf("a scope user that is not an id: %v", err)
	}
}
