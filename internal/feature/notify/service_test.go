package notify_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestMain stops the package's throwaway PostgreSQL cluster when its tests
// end.
func TestMain(m *testing.M) { dbtest.Main(m) }

// TestServiceCounts: the unread count follows every change exactly, also
// when reads and deletes race; another user's notification is not found.
func TestServiceCounts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), notify.NewService(db)
		ann, bob := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com")
		var ids []string
		err := db.Tx(sqldb.AsUser(ctx, ann.UserID), func(tx *sqldb.Tx) error {
			for i := range 10 {
				n, err := notify.Create(ctx, tx, ann.UserID, notify.New{Type: "test.n", Title: "n" + strconv.Itoa(i), Data: []byte(`{}`)})
				if err != nil {
					return err
				}
				ids = append(ids, n.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRead(ctx, bob, ids[0]); !errors.Is(err, notify.ErrNotFound) {
			t.Fatalf("bob reading ann's = %v", err)
		}
		if err := s.Delete(ctx, ann, "not-an-id"); !errors.Is(err, notify.ErrNotFound) {
			t.Fatalf("a malformed id = %v", err)
		}
		// Four mark the same notification read while others delete two.
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				var err error
				if i < 4 {
					err = s.MarkRead(ctx, ann, ids[1])
				} else {
					err = s.Delete(ctx, ann, ids[i-2])
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n, err := s.Unread(ctx, ann); err != nil || n != 7 {
			t.Fatalf("unread = %d, %v; want 7", n, err)
		}
		if unread, _ := s.List(ctx, ann, true, "", 100); len(unread) != 7 {
			t.Fatalf("unread list = %d; want 7", len(unread))
		}
		if n, err := s.MarkAllRead(ctx, ann); err != nil || n != 7 {
			t.Fatalf("mark all read = %d, %v; want 7", n, err)
		}
		if n, _ := s.Unread(ctx, ann); n != 0 {
			t.Fatalf("unread after all read = %d", n)
		}
		if after, _ := s.After(ctx, ann, ids[5], 100); len(after) != 4 || after[0].ID != ids[6] {
			t.Fatalf("after the sixth = %d items", len(after))
		}
	})
}
