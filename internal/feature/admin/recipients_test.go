package admin_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestAdminRecipients: a recipient is named by id, by email (in any case)
// or by legacy id; each is found once, in the order named; refs that name
// nobody are refused, each with its field error, as are too many.
func TestAdminRecipients(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		ann, bob := b.person("ann", "ann@example.com"), b.person("bob", "bob@example.com")
		cid := b.person("cid", "cid@example.com")
		if _, err := db.SQL().Exec(`UPDATE users SET legacy_id = 'crm-42' WHERE id = $1`, cid); err != nil {
			t.Fatal(err)
		}
		got, err := b.s.Recipients(ctx, []string{"BOB@Example.com", ann, "crm-42", "bob@example.com"})
		if want := []string{bob, ann, cid}; err != nil || !cmp.Equal(got, want) {
			t.Fatalf("Recipients = %v, %v; want %v", got, err, want)
		}
		_, err = b.s.Recipients(ctx, []string{ann, "nobody@example.com", userd.NewID(db.Now()), "crm-0"})
		if got, want := invalid(t, err), []string{"recipients/unknown_user", "recipients/unknown_user", "recipients/unknown_user"}; !cmp.Equal(got, want) {
			t.Fatalf("unknown refs: %v; want %v", got, want)
		}
		_, err = b.s.Recipients(ctx, make([]string, admin.MaxRecipients+1))
		if got := invalid(t, err); !cmp.Equal(got, []string{"recipients/too_many"}) {
			t.Fatalf("too many refs: %v", got)
		}
	})
}

// crowd makes n users who hold role, in one transaction.
func (b *bench) crowd(n int, role string) {
	b.t.Helper()
	ctx := sqldb.System(context.Background())
	err := b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var as []rbac.Assignment
		for i := range n {
			u, err := account.Insert(ctx, tx, account.New{Identity: account.Identity{Email: fmt.Sprintf("%s-%d@example.com", role, i)}})
			if err != nil {
				return err
			}
			as = append(as, rbac.Assignment{UserID: u.ID, Role: role})
		}
		return rbac.AssignAll(ctx, tx, as)
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// TestAdminNotifyRole: a notification to a role reaches each of its holders
// once, MaxRecipients at a time (an audit entry each), and nobody else; the
// holders are counted per role; a role of nobody gets nothing, an unknown
// role or a bad notification is refused, and so is a role of more than
// MaxRoleRecipients holders, before anything is sent.
func TestAdminNotifyRole(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		ann := b.person("ann", "ann@example.com")
		b.makeRoles(map[string][]string{"CREW": nil, "EMPTY": nil, "CROWD": nil})
		b.crowd(admin.MaxRecipients+1, "CREW")
		adm := b.who("adm")
		counts, err := b.s.RoleHolderCounts(ctx)
		if want := map[string]int{"ADMIN": 1, "END_USER": 2, "CREW": admin.MaxRecipients + 1}; err != nil || !cmp.Equal(counts, want) {
			t.Fatalf("RoleHolderCounts = %v, %v; want %v", counts, err, want)
		}
		n, err := b.s.NotifyRole(ctx, adm, "CREW", notify.New{Type: "crew.news", Title: "All hands"})
		if err != nil || n != admin.MaxRecipients+1 {
			t.Fatalf("NotifyRole(CREW) = %d, %v", n, err)
		}
		var got, distinct, annGot int
		db.SQL().QueryRow(`SELECT count(*), count(DISTINCT n.user_id) FROM notifications n JOIN user_roles ur ON ur.user_id = n.user_id
			JOIN roles r ON r.id = ur.role_id AND r.name = 'CREW' WHERE n.type = 'crew.news'`).Scan(&got, &distinct)
		db.SQL().QueryRow(`SELECT count(*) FROM notifications WHERE user_id = $1`, ann).Scan(&annGot)
		if got != admin.MaxRecipients+1 || distinct != got || annGot != 0 {
			t.Fatalf("notifications: %d to %d holders, %d to ann", got, distinct, annGot)
		}
		if got, want := b.metadata(b.id["adm"], "admin.notification_sent"), []map[string]any{
			{"type": "crew.news", "recipients": float64(admin.MaxRecipients)}, {"type": "crew.news", "recipients": 1.0}}; !cmp.Equal(got, want) {
			t.Fatalf("the trail %v; want %v", got, want)
		}
		if n, err := b.s.NotifyRole(ctx, adm, "EMPTY", notify.New{Type: "x", Title: "t"}); err != nil || n != 0 {
			t.Fatalf("NotifyRole(EMPTY) = %d, %v", n, err)
		}
		b.crowd(admin.MaxRoleRecipients+1, "CROWD")
		send := func(role string, n notify.New) func() error {
			return func() error { _, err := b.s.NotifyRole(ctx, adm, role, n); return err }
		}
		b.refuse(t, []refusal{
			{"an unknown role", send("NOBODY", notify.New{Type: "x", Title: "t"}), nil, rbac.ErrRoleNotFound},
			{"a bad notification", send("CREW", notify.New{Type: "x"}), []string{"title/invalid_text"}, nil},
			{"too many holders", send("CROWD", notify.New{Type: "x", Title: "t"}), nil, admin.ErrTooManyHolders},
		})
	})
}
