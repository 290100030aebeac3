package billing_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestMemberRoles: the members of an organisation hold its entitled plans'
// roles in the sessions that have it active, whatever their role there,
// and nobody else does: not their other sessions, not a non-member whose
// session names it. Past due within the grace keeps them, the grace's end
// (the clean-up) takes them, and so do a cancellation, a plan that stops
// granting them, a removal from the organisation and a role made an
// administrator's, which no plan gives to a user either. A role held both
// by the user and through the organisation counts once.
func TestMemberRoles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ctx, sys := context.Background(), sqldb.System(context.Background())
		ann, bob, eve := user(t, db, "ann@example.com"), user(t, db, "bob@example.com"), user(t, db, "eve@example.com")
		const acme, other = "01900000-0000-7000-8000-0000000000f1", "01900000-0000-7000-8000-0000000000f2"
		for _, q := range []string{
			`INSERT INTO organizations (id, kind, name, slug, created_at, updated_at) VALUES ('` + acme + `', 'business', 'Acme', 'acme', $1, $1), ('` + other + `', 'business', 'Other', 'other', $1, $1)`,
			`INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES ('` + acme + `', '` + ann + `', 'owner', $1),
				('` + acme + `', '` + bob + `', 'member', $1), ('` + other + `', '` + eve + `', 'owner', $1)`,
		} {
			if _, err := db.SQL().Exec(q, noon); err != nil {
				t.Fatal(err)
			}
		}
		var proID string
		err := db.Tx(sys, func(tx *sqldb.Tx) error {
			if _, err := rbac.CreatePermission(sys, tx, "pro:export", "Export in the pro plan."); err != nil {
				return err
			}
			name, perms := "PRO_FEATURES", []string{"pro:export"}
			r, err := rbac.Create(sys, tx, rbac.RolePatch{Name: &name, Permissions: &perms})
			proID = r.ID
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "pro", []string{"PRO_FEATURES"}); err != nil {
			t.Fatal(err)
		}
		// Sessions: bob's with acme active and with none, eve's naming
		// acme (not hers), ann's with acme active.
		bobAcme, bobNone, eveAcme, annAcme := session(t, db, bob, acme), session(t, db, bob, ""), session(t, db, eve, acme), session(t, db, ann, acme)
		want := func(step string, holders ...string) {
			t.Helper()
			for _, sess := range []string{bobAcme, bobNone, eveAcme, annAcme} {
				g := sessionGrants(t, db, sess)
				holds := slices.Contains(holders, sess)
				if slices.Contains(g.Roles, "PRO_FEATURES") != holds || slices.Contains(g.Permissions, "pro:export") != holds || g.Admin ||
					!slices.Contains(g.Roles, rbac.DefaultRole) {
					t.Fatalf("%s: session %s holds %+v; want PRO_FEATURES %v", step, sess, g, holds)
				}
			}
		}
		want("no subscription")

		deliver(t, s, c, event("evt_link", "checkout.session.completed", noon, map[string]any{"customer": "cus_acme", "metadata": map[string]any{"userd_organization_id": acme}}))
		deliver(t, s, c, event("evt_1", "customer.subscription.created", noon, sub("sub_acme", "cus_acme", "active", "pro")))
		want("active", bobAcme, annAcme)
		if _, byPlan := roles(t, db, bob); len(byPlan) != 0 {
			t.Fatalf("bob holds %q by plan in user_roles", byPlan)
		}

		c.set(noon.Add(time.Hour))
		deliver(t, s, c, event("evt_2", "invoice.payment_failed", noon.Add(time.Hour), map[string]any{"customer": "cus_acme", "subscription": "sub_acme"}))
		expire := func() int64 {
			var n int64
			if err := db.Tx(sys, func(tx *sqldb.Tx) (err error) { n, err = billing.Expire(sys, tx, c.now()); return err }); err != nil {
				t.Fatal(err)
			}
			return n
		}
		c.set(noon.Add(time.Hour + billing.DefaultGrace - time.Minute))
		if n := expire(); n != 0 {
			t.Fatalf("expired %d within the grace", n)
		}
		want("past_due within the grace", bobAcme, annAcme)
		c.set(noon.Add(time.Hour + billing.DefaultGrace))
		if n := expire(); n != 1 {
			t.Fatalf("expired %d at the grace's end; want 1", n)
		}
		want("past_due after the grace")

		c.set(noon.Add(100 * time.Hour))
		deliver(t, s, c, event("evt_3", "invoice.paid", c.now(), map[string]any{"customer": "cus_acme", "subscription": "sub_acme"}))
		want("paid again", bobAcme, annAcme)

		if _, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "pro", nil); err != nil {
			t.Fatal(err)
		}
		want("the plan grants nothing")
		if _, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "pro", []string{"PRO_FEATURES"}); err != nil {
			t.Fatal(err)
		}
		want("the plan grants it again", bobAcme, annAcme)

		if _, err := db.SQL().Exec(`DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2`, acme, bob); err != nil {
			t.Fatal(err)
		}
		want("bob removed", annAcme)

		// Ann subscribes herself too: the role turned an administrator's
		// leaves her user_roles and her organisation's sessions.
		if _, err := s.Grant(ctx, admin, userd.Client{}, billing.Grant{UserID: ann, Plan: "pro", EndsAt: c.now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if all, byPlan := roles(t, db, ann); !slices.Equal(all, []string{"END_USER", "PRO_FEATURES"}) || !slices.Equal(byPlan, []string{"PRO_FEATURES"}) {
			t.Fatalf("ann's own plan: %q, by plan %q", all, byPlan)
		}
		if g := sessionGrants(t, db, annAcme); !slices.Equal(g.Roles, []string{"END_USER", "PRO_FEATURES"}) || !slices.Equal(g.Permissions, []string{"account:read", "account:write", "pro:export"}) {
			t.Fatalf("ann's session, holding the role twice over: %+v", g)
		}
		err = db.Tx(sys, func(tx *sqldb.Tx) error {
			yes := true
			_, err := rbac.Update(sys, tx, proID, rbac.RolePatch{IsAdmin: &yes})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if all, byPlan := roles(t, db, ann); !slices.Equal(all, []string{"END_USER"}) || len(byPlan) != 0 {
			t.Fatalf("ann once the role is an administrator's: %q, by plan %q", all, byPlan)
		}
		if g := sessionGrants(t, db, annAcme); g.Admin || !slices.Equal(g.Roles, []string{"END_USER"}) {
			t.Fatalf("ann's session once the role is an administrator's: %+v", g)
		}
		err = db.Tx(sys, func(tx *sqldb.Tx) error {
			no := false
			_, err := rbac.Update(sys, tx, proID, rbac.RolePatch{IsAdmin: &no})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want("an ordinary role again", annAcme)

		deliver(t, s, c, event("evt_4", "customer.subscription.deleted", c.now(), sub("sub_acme", "cus_acme", "canceled", "pro")))
		want("canceled")
	})
}

// session opens a session for a user with the organisation org active (""
// for none) and returns its id.
func session(t *testing.T, db *sqldb.DB, userID, org string) string {
	t.Helper()
	id := userd.NewID(noon)
	_, err := db.SQL().Exec(`INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, expires_at, active_organization_id)
		VALUES ($1, $2, $3, $4, $4, $5, $6)`, id, userID, []byte(id), noon, noon.Add(1000*time.Hour), sqldb.Nullable(org))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// sessionGrants reads a session's grants as authentication does: its
// user's roles and its active organisation's plans' roles.
func sessionGrants(t *testing.T, db *sqldb.DB, sessionID string) userd.Grants {
	t.Helper()
	ctx := sqldb.System(context.Background())
	var gs rbac.GrantScan
	var roles *rbac.Catalog
	err := db.View(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRow(ctx, `SELECT `+rbac.GrantColumn("s.user_id", billing.MemberRoles("s"))+` FROM sessions s WHERE s.id = $1`, sessionID).Scan(gs.Dest()...)
		if err != nil {
			return err
		}
		roles, err = rbac.ReadCatalog(ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return gs.Carried(roles)
}
