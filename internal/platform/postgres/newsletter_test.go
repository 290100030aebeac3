package postgres_test

import (
	"context"
	"testing"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestNewsletterClosedToApp: a user's transaction neither reads nor writes
// newsletter_subscriptions, which only system-scoped transactions touch;
// those do.
func TestNewsletterClosedToApp(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	seedTwo(t, db)
	insert := `INSERT INTO newsletter_subscriptions (id, email, status, unsubscribe_token_hash, unsubscribe_token_sealed, created_at, updated_at)
		VALUES ('01900000-0000-7000-8000-0000000000f1', 'x@example.com', 'pending', '\x01', '\x02', now(), now())`
	ctx := sqldb.AsUser(context.Background(), userA)
	for _, stmt := range []string{insert, `SELECT count(*) FROM newsletter_subscriptions`, `UPDATE newsletter_subscriptions SET status = 'confirmed'`,
		`DELETE FROM newsletter_subscriptions`} {
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, stmt)
			return err
		})
		if err == nil {
			t.Errorf("%s as userd_app: allowed", stmt)
		}
	}
	sys := sqldb.System(context.Background())
	err := db.Tx(sys, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(sys, insert)
		return err
	})
	if err != nil {
		t.Fatalf("as the system: %v", err)
	}
}
