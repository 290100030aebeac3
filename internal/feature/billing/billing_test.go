package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// secret is the stripe webhook secret of the tests.
const secret = "whsec_test"

// noon is when every test's clock starts.
var noon = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// clock is a test clock that db.SetClock reads.
type clock struct{ at atomic.Int64 }

func (c *clock) now() time.Time  { return time.Unix(0, c.at.Load()).UTC() }
func (c *clock) set(t time.Time) { c.at.Store(t.UnixNano()) }

func newService(db *sqldb.DB) (*billing.Service, *clock) {
	c := &clock{}
	c.set(noon)
	db.SetClock(c.now)
	return billing.NewService(db, billing.Deps{Grace: billing.DefaultGrace, StripeSecret: secret,
		Limiter: ratelimit.New(db, true), Deliveries: billing.DefaultDeliveries}), c
}

// admin is an administrator.
var admin = userd.Actor{Grants: userd.Grants{Admin: true}}

// clerk holds both billing permissions and roles:write, and nothing else.
var clerk = userd.Actor{Grants: userd.Grants{Permissions: []string{billing.ReadPermission, billing.WritePermission, rbac.RolesWrite}}}

// user makes a user who holds END_USER, as sign-up leaves them.
func user(t *testing.T, db *sqldb.DB, email string) string {
	t.Helper()
	a := dbtest.User(t, db, email)
	ctx := sqldb.System(context.Background())
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error { return rbac.AssignDefault(ctx, tx, a.UserID) }); err != nil {
		t.Fatal(err)
	}
	return a.UserID
}

// event is a Stripe event's body.
func event(id, typ string, created time.Time, object map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "created": created.Unix(), "data": map[string]any{"object": object}})
	return b
}

// sub is a Stripe subscription object.
func sub(id, customer, status, plan string) map[string]any {
	return map[string]any{"id": id, "object": "subscription", "customer": customer, "status": status, "cancel_at_period_end": false,
		"items": map[string]any{"data": []any{map[string]any{"quantity": 2, "current_period_start": noon.Unix(), "current_period_end": noon.Add(30 * 24 * time.Hour).Unix(),
			"price": map[string]any{"id": "price_123", "lookup_key": plan}}}}}
}

// checkout is a completed Checkout Session linking customer to a user.
func checkout(customer, userID string) map[string]any {
	return map[string]any{"id": "cs_1", "object": "checkout.session", "customer": customer, "client_reference_id": userID}
}

// deliver sends a body signed now, as Stripe does.
func deliver(t *testing.T, s *billing.Service, c *clock, body []byte) billing.Receipt {
	t.Helper()
	r, err := s.Receive(context.Background(), userd.Client{}, billing.Stripe, billing.SignStripe(body, []byte(secret), c.now()), body)
	if err != nil {
		t.Fatalf("deliver %s: %v", body, err)
	}
	return r
}

// roles returns a user's roles, and those they hold by plan.
func roles(t *testing.T, db *sqldb.DB, userID string) (all, byPlan []string) {
	t.Helper()
	ctx := sqldb.System(context.Background())
	err := db.View(ctx, func(tx *sqldb.Tx) error {
		g, err := rbac.Grants(ctx, tx, userID)
		all = g.Roles
		if err == nil {
			byPlan, err = rbac.HeldByPlan(ctx, tx, userID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all, byPlan
}

// TestVerifyStripe checks Stripe's signature scheme: one right v1 among
// several passes; a forged, stale, future or unsigned one does not.
func TestVerifyStripe(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	good := billing.SignStripe(body, []byte(secret), noon)
	forged := billing.SignStripe(body, []byte("whsec_other"), noon)
	ts, v1, _ := strings.Cut(good, ",")
	for _, tt := range []struct {
		name, header string
		body         []byte
		at           time.Time
		ok           bool
	}{
		{"signed", good, body, noon, true},
		{"within tolerance", good, body, noon.Add(5 * time.Minute), true},
		{"one of several v1", ts + ",v1=00ff," + v1 + ",v0=abc", body, noon, true},
		{"forged", forged, body, noon, false},
		{"stale", good, body, noon.Add(5*time.Minute + time.Second), false},
		{"from the future", good, body, noon.Add(-6 * time.Minute), false},
		{"body changed", good, []byte(`{"id":"evt_2"}`), noon, false},
		{"no v1", ts, body, noon, false},
		{"no timestamp", v1, body, noon, false},
		{"empty", "", body, noon, false},
	} {
		err := billing.VerifyStripe(tt.header, tt.body, []byte(secret), tt.at)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, billing.ErrInvalidSignature) {
			t.Errorf("%s: %v; want ok %v", tt.name, err, tt.ok)
		}
	}
	if billing.VerifyStripe(good, body, nil, noon) == nil {
		t.Error("no secret passed")
	}
}

// TestEventsApplyOnceInOrder: a replay changes nothing; a deletion that
// comes before an older update keeps the subscription canceled; an
// unknown type is recorded and ignored; a bad signature is refused and
// audited.
func TestEventsApplyOnceInOrder(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ann := user(t, db, "ann@example.com")
		if r := deliver(t, s, c, event("evt_link", "checkout.session.completed", noon, checkout("cus_ann", ann))); !r.Applied || r.Duplicate {
			t.Fatalf("link = %+v", r)
		}
		created := event("evt_1", "customer.subscription.created", noon, sub("sub_1", "cus_ann", "active", "pro"))
		if r := deliver(t, s, c, created); !r.Applied || r.Duplicate || r.EventID != "evt_1" {
			t.Fatalf("created = %+v", r)
		}
		c.set(noon.Add(time.Minute))
		if r := deliver(t, s, c, created); r.Applied || !r.Duplicate {
			t.Fatalf("replay = %+v", r)
		}
		// Deleted at noon+2m arrives before the update of noon+1m.
		deleted := sub("sub_1", "cus_ann", "canceled", "pro")
		deleted["canceled_at"] = noon.Add(2 * time.Minute).Unix()
		if r := deliver(t, s, c, event("evt_3", "customer.subscription.deleted", noon.Add(2*time.Minute), deleted)); !r.Applied {
			t.Fatalf("deleted = %+v", r)
		}
		if r := deliver(t, s, c, event("evt_2", "customer.subscription.updated", noon.Add(time.Minute), sub("sub_1", "cus_ann", "past_due", "pro"))); r.Applied || r.Duplicate {
			t.Fatalf("older update = %+v", r)
		}
		if r := deliver(t, s, c, event("evt_4", "customer.created", noon.Add(3*time.Minute), map[string]any{"id": "cus_ann"})); r.Applied || r.Duplicate {
			t.Fatalf("unknown type = %+v", r)
		}
		got, err := s.MineAll(context.Background(), userd.Actor{UserID: ann})
		if err != nil || len(got) != 1 {
			t.Fatalf("mine = %+v, %v", got, err)
		}
		g := got[0]
		if g.Status != billing.Canceled || g.Plan != "pro" || g.Quantity != 2 || g.Provider != "stripe" || g.SubscriptionID != "sub_1" || g.Customer != "cus_ann" ||
			g.Entitled || g.CanceledAt == nil || !g.CanceledAt.Equal(noon.Add(2*time.Minute)) || !g.EventAt.Equal(noon.Add(2*time.Minute)) ||
			!g.PeriodEnd.Equal(noon.Add(30*24*time.Hour)) || g.UserID != ann {
			t.Fatalf("subscription = %+v", g)
		}
		var history []string
		for _, h := range g.History {
			history = append(history, h.FromStatus+">"+h.Status+" "+h.EventID)
		}
		if !slices.Equal(history, []string{">active evt_1", "active>canceled evt_3"}) {
			t.Fatalf("history = %q", history)
		}
		type row struct {
			id    string
			ok    bool
			error string
		}
		var events []row
		rows, err := db.SQL().Query(`SELECT event_id, applied, coalesce(error, '') FROM billing_events ORDER BY event_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var r row
			rows.Scan(&r.id, &r.ok, &r.error)
			events = append(events, r)
		}
		rows.Close()
		want := []row{{"evt_1", true, ""}, {"evt_2", false, "superseded: older than the last event applied to the subscription"}, {"evt_3", true, ""},
			{"evt_4", false, "ignored: userd does not apply this type of event"}, {"evt_link", true, ""}}
		if !slices.Equal(events, want) {
			t.Fatalf("events = %+v", events)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE user_id = $1 AND action = 'billing.subscription_changed'`, ann); n != 2 {
			t.Fatalf("%d changes audited; want 2", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM notifications WHERE user_id = $1 AND type = 'billing.subscription_canceled'`, ann); n != 1 {
			t.Fatalf("%d cancellation notices; want 1", n)
		}

		// Forged and stale: refused, audited, nothing recorded.
		body := event("evt_5", "customer.subscription.updated", noon, sub("sub_1", "cus_ann", "active", "pro"))
		for _, header := range []string{billing.SignStripe(body, []byte("whsec_forged"), c.now()), billing.SignStripe(body, []byte(secret), c.now().Add(-6*time.Minute))} {
			if _, err := s.Receive(context.Background(), userd.Client{IP: "203.0.113.9"}, billing.Stripe, header, body); !errors.Is(err, billing.ErrInvalidSignature) {
				t.Fatalf("bad signature = %v", err)
			}
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'billing.event_rejected' AND user_id IS NULL AND ip = '203.0.113.9'`); n != 1 {
			t.Fatalf("%d rejections audited; want the address's first", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM billing_events`); n != 5 {
			t.Fatalf("%d events recorded; want 5", n)
		}
		if _, err := s.Receive(context.Background(), userd.Client{}, billing.Manual, "", body); !errors.Is(err, billing.ErrProviderNotFound) {
			t.Fatalf("manual webhook = %v", err)
		}
	})
}

// TestConcurrentDeliveries: 20 deliveries of one event at once apply it
// once.
func TestConcurrentDeliveries(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ann := user(t, db, "ann@example.com")
		deliver(t, s, c, event("evt_link", "checkout.session.completed", noon, checkout("cus_ann", ann)))
		body := event("evt_1", "customer.subscription.created", noon, sub("sub_1", "cus_ann", "active", "pro"))
		header := billing.SignStripe(body, []byte(secret), c.now())
		var applied atomic.Int32
		errs := dbtest.AtOnce(20, func(int) error {
			r, err := s.Receive(context.Background(), userd.Client{}, billing.Stripe, header, body)
			if r.Applied {
				applied.Add(1)
			}
			return err
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if applied.Load() != 1 {
			t.Fatalf("applied %d times; want 1", applied.Load())
		}
		for q, want := range map[string]int{
			`SELECT count(*) FROM billing_events`:                                              2,
			`SELECT count(*) FROM subscriptions`:                                               1,
			`SELECT count(*) FROM subscription_history`:                                        1,
			`SELECT count(*) FROM activity_logs WHERE action = 'billing.subscription_changed'`: 1,
		} {
			if n := dbtest.Count(t, db, q); n != want {
				t.Errorf("%s = %d; want %d", q, n, want)
			}
		}
	})
}

// TestUnknownCustomerThenLink: events for a customer userd does not know
// wait; the checkout that links the customer applies them, in order.
func TestUnknownCustomerThenLink(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ann := user(t, db, "ann@example.com")
		if r := deliver(t, s, c, event("evt_2", "customer.subscription.updated", noon.Add(time.Second), sub("sub_1", "cus_new", "active", "pro"))); r.Applied {
			t.Fatalf("unknown customer = %+v", r)
		}
		if r := deliver(t, s, c, event("evt_1", "customer.subscription.created", noon, sub("sub_1", "cus_new", "trialing", "pro"))); r.Applied {
			t.Fatalf("unknown customer = %+v", r)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM billing_events WHERE NOT applied AND error IS NULL AND customer_id = 'cus_new'`); n != 2 {
			t.Fatalf("%d events waiting; want 2", n)
		}
		if _, err := s.Mine(context.Background(), userd.Actor{UserID: ann}); !errors.Is(err, billing.ErrNoSubscription) {
			t.Fatalf("mine before the link = %v", err)
		}
		if r := deliver(t, s, c, event("evt_3", "checkout.session.completed", noon.Add(2*time.Second), checkout("cus_new", ann))); !r.Applied {
			t.Fatalf("link = %+v", r)
		}
		got, err := s.MineAll(context.Background(), userd.Actor{UserID: ann})
		if err != nil || len(got) != 1 || got[0].Status != billing.Active || len(got[0].History) != 2 ||
			got[0].History[0].Status != billing.Trialing || got[0].History[1].Status != billing.Active || got[0].History[1].EventID != "evt_2" {
			t.Fatalf("after the link = %+v, %v", got, err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM billing_events WHERE applied`); n != 3 {
			t.Fatalf("%d events applied; want 3", n)
		}
		accounts, err := s.Accounts(context.Background(), userd.Actor{UserID: ann})
		if err != nil || len(accounts) != 1 || accounts[0].Customer != "cus_new" || accounts[0].Provider != "stripe" || accounts[0].UserID != ann {
			t.Fatalf("accounts = %+v, %v", accounts, err)
		}
		// Another user cannot take the customer over.
		bob := user(t, db, "bob@example.com")
		if r := deliver(t, s, c, event("evt_4", "checkout.session.completed", noon.Add(3*time.Second), checkout("cus_new", bob))); r.Applied {
			t.Fatalf("relink = %+v", r)
		}
		// Nor is a checkout that names no one silent.
		deliver(t, s, c, event("evt_5", "checkout.session.completed", noon.Add(4*time.Second), checkout("cus_other", "01900000-0000-7000-8000-000000000000")))
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'billing.event_rejected' AND target_type = 'payment_account'
			AND target_id IN ('cus_new', 'cus_other')`); n != 2 {
			t.Fatalf("%d refused links audited; want 2", n)
		}
	})
}

// TestPlansGrantRoles: a plan's roles come with an active or trialing
// subscription and go when it ends, but never a role given by hand; a
// past_due subscription keeps them for the grace period; a manual grant
// keeps them until its end.
func TestPlansGrantRoles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ctx := context.Background()
		sys := sqldb.System(ctx)
		err := db.Tx(sys, func(tx *sqldb.Tx) error {
			for _, name := range []string{"PRO", "SUPPORT"} {
				if _, err := rbac.Create(sys, tx, rbac.RolePatch{Name: &name}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "pro", []string{"NOPE"}); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("unknown role = %v", err)
		}
		if _, err := s.SetPlanRoles(ctx, userd.Actor{}, userd.Client{}, "pro", nil); !errors.Is(err, billing.ErrWriteForbidden) {
			t.Fatalf("no permission = %v", err)
		}
		ann, bob := user(t, db, "ann@example.com"), user(t, db, "bob@example.com")
		err = db.Tx(sys, func(tx *sqldb.Tx) error {
			_, err := rbac.Assign(sys, tx, bob, "PRO") // by hand
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		deliver(t, s, c, event("evt_a", "checkout.session.completed", noon, checkout("cus_ann", ann)))
		deliver(t, s, c, event("evt_b", "checkout.session.completed", noon, checkout("cus_bob", bob)))
		deliver(t, s, c, event("evt_1", "customer.subscription.created", noon, sub("sub_ann", "cus_ann", "trialing", "pro")))
		deliver(t, s, c, event("evt_2", "customer.subscription.created", noon, sub("sub_bob", "cus_bob", "active", "pro")))
		check := func(who, id string, wantAll, wantPlan []string) {
			t.Helper()
			all, byPlan := roles(t, db, id)
			if !slices.Equal(all, wantAll) || !slices.Equal(byPlan, wantPlan) {
				t.Fatalf("%s: roles %q, by plan %q; want %q, %q", who, all, byPlan, wantAll, wantPlan)
			}
		}
		check("ann before the plan's roles", ann, []string{"END_USER"}, nil)
		got, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "pro", []string{"SUPPORT", "PRO", "PRO"})
		if err != nil || !slices.Equal(got, []string{"PRO", "SUPPORT"}) {
			t.Fatalf("set plan roles = %q, %v", got, err)
		}
		check("ann trialing", ann, []string{"END_USER", "PRO", "SUPPORT"}, []string{"PRO", "SUPPORT"})
		check("bob active", bob, []string{"END_USER", "PRO", "SUPPORT"}, []string{"SUPPORT"})

		// past_due: kept for the grace period, then gone (the janitor).
		c.set(noon.Add(time.Hour))
		deliver(t, s, c, event("evt_3", "invoice.payment_failed", noon.Add(time.Hour), map[string]any{"customer": "cus_ann", "subscription": "sub_ann"}))
		check("ann past_due", ann, []string{"END_USER", "PRO", "SUPPORT"}, []string{"PRO", "SUPPORT"})
		if n := dbtest.Count(t, db, `SELECT count(*) FROM notifications WHERE user_id = $1 AND type = 'billing.payment_failed'`, ann); n != 1 {
			t.Fatalf("%d payment_failed notices; want 1", n)
		}
		expire := func() int64 {
			var n int64
			err := db.Tx(sys, func(tx *sqldb.Tx) (err error) {
				n, err = billing.Expire(sys, tx, tx.Now)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		c.set(noon.Add(time.Hour + billing.DefaultGrace - time.Second))
		if n := expire(); n != 0 {
			t.Fatalf("expired %d within the grace", n)
		}
		check("ann within the grace", ann, []string{"END_USER", "PRO", "SUPPORT"}, []string{"PRO", "SUPPORT"})
		c.set(noon.Add(time.Hour + billing.DefaultGrace))
		if n := expire(); n != 1 {
			t.Fatalf("expired %d after the grace; want 1", n)
		}
		check("ann after the grace", ann, []string{"END_USER"}, nil)
		deliver(t, s, c, event("evt_4", "invoice.paid", noon.Add(time.Hour+billing.DefaultGrace), map[string]any{"customer": "cus_ann", "subscription": "sub_ann"}))
		check("ann paid", ann, []string{"END_USER", "PRO", "SUPPORT"}, []string{"PRO", "SUPPORT"})
		// Given by hand while the plan gives it too: hers beyond the plan.
		err = db.Tx(sys, func(tx *sqldb.Tx) error {
			_, err := rbac.Assign(sys, tx, ann, "SUPPORT")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		check("ann given SUPPORT by hand", ann, []string{"END_USER", "PRO", "SUPPORT"}, []string{"PRO"})
		deliver(t, s, c, event("evt_6", "customer.subscription.deleted", c.now(), sub("sub_ann", "cus_ann", "canceled", "pro")))
		check("ann canceled", ann, []string{"END_USER", "SUPPORT"}, nil)

		// Bob's cancellation takes the plan's role, not his own.
		deliver(t, s, c, event("evt_5", "customer.subscription.deleted", c.now(), sub("sub_bob", "cus_bob", "canceled", "pro")))
		check("bob canceled", bob, []string{"END_USER", "PRO"}, nil)

		// A manual grant, until its end.
		end := c.now().Add(24 * time.Hour)
		g, err := s.Grant(ctx, admin, userd.Client{}, billing.Grant{UserID: bob, Plan: "pro", EndsAt: end})
		if err != nil || g.Provider != billing.Manual || g.Status != billing.Active || !g.Entitled || !g.PeriodEnd.Equal(end) || g.UserID != bob {
			t.Fatalf("grant = %+v, %v", g, err)
		}
		check("bob comped", bob, []string{"END_USER", "PRO", "SUPPORT"}, []string{"SUPPORT"})
		for _, bad := range []billing.Grant{{UserID: bob, Plan: "pro", EndsAt: noon}, {Plan: "pro", EndsAt: end}, {UserID: bob, Plan: "a b", EndsAt: end}} {
			if _, err := s.Grant(ctx, admin, userd.Client{}, bad); userd.ErrorKind(err) != userd.KindInvalid {
				t.Fatalf("grant %+v = %v", bad, err)
			}
		}
		c.set(end)
		if n := expire(); n != 1 {
			t.Fatalf("expired %d at the grant's end; want 1", n)
		}
		check("bob's comp ended", bob, []string{"END_USER", "PRO"}, nil)
		mine, err := s.Mine(ctx, userd.Actor{UserID: bob})
		if err != nil || mine.Status != billing.Canceled {
			t.Fatalf("bob's subscription = %+v, %v", mine, err)
		}
		list, err := s.List(ctx, admin, billing.Filter{Provider: billing.Manual, Status: billing.Canceled}, "", 10)
		if err != nil || len(list) != 1 || list[0].ID != g.ID {
			t.Fatalf("admin list = %+v, %v", list, err)
		}
		// By owner: bob's two (the provider's and the grant), ann's one,
		// none for an id that names no one.
		for owner, want := range map[billing.Filter]int{{UserID: bob}: 2, {UserID: ann, Plan: "pro"}: 1, {UserID: "nope"}: 0,
			{OrganizationID: "00000000-0000-7000-8000-000000000000"}: 0, {UserID: bob, Provider: billing.Manual}: 1} {
			if list, err := s.List(ctx, admin, owner, "", 10); err != nil || len(list) != want {
				t.Errorf("admin list %+v = %d, %v; want %d", owner, len(list), err, want)
			}
		}
	})
}

// FuzzVerifyStripe: no header or body makes the check panic or pass
// without the secret's signature, and a signed body passes.
func FuzzVerifyStripe(f *testing.F) {
	f.Add("t=1780315200,v1=00", []byte(`{}`))
	f.Add(billing.SignStripe([]byte(`{"id":"evt_1"}`), []byte(secret), noon), []byte(`{"id":"evt_1"}`))
	f.Add("t=,v1=,v1,=,,", []byte(nil))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		_, v1, _ := strings.Cut(billing.SignStripe(body, []byte(secret), noon), ",")
		if billing.VerifyStripe(header, body, []byte(secret), noon) == nil && !strings.Contains(strings.ToLower(header), v1) {
			t.Fatalf("%q passed for %q", header, body)
		}
		if err := billing.VerifyStripe(billing.SignStripe(body, []byte(secret), noon), body, []byte(secret), noon); err != nil {
			t.Fatalf("a signed body failed: %v", err)
		}
	})
}

// TestOrganizationSubscription: a checkout that names an organisation links
// the customer to it; its subscription is recorded for it (no user's, no
// roles given), read by Organization, and its owners hear of a failed
// payment.
func TestOrganizationSubscription(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ctx := context.Background()
		ann, bob := user(t, db, "ann@example.com"), user(t, db, "bob@example.com")
		const org, other = "01900000-0000-7000-8000-0000000000f1", "01900000-0000-7000-8000-0000000000f2"
		for _, q := range []string{
			`INSERT INTO organizations (id, kind, name, slug, created_at, updated_at) VALUES ('` + org + `', 'business', 'Acme', 'acme', $1, $1), ('` + other + `', 'team', 'Other', 'other', $1, $1)`,
			`INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES ('` + org + `', '` + ann + `', 'owner', $1), ('` + org + `', '` + bob + `', 'member', $1)`,
		} {
			if _, err := db.SQL().Exec(q, noon); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "team", []string{"END_USER"}); err != nil {
			t.Fatal(err)
		}
		deliver(t, s, c, event("evt_link", "checkout.session.completed", noon, map[string]any{"customer": "cus_org", "metadata": map[string]any{"userd_organization_id": org}}))
		deliver(t, s, c, event("evt_1", "customer.subscription.created", noon, sub("sub_org", "cus_org", "active", "team")))
		deliver(t, s, c, event("evt_2", "invoice.payment_failed", noon.Add(time.Minute), map[string]any{"customer": "cus_org", "subscription": "sub_org"}))
		got, err := s.Organization(ctx, org)
		if err != nil || got.OrganizationID != org || got.UserID != "" || got.Status != billing.PastDue || got.Plan != "team" || !got.Entitled || len(got.History) != 2 {
			t.Fatalf("organisation's subscription = %+v, %v", got, err)
		}
		if _, err := s.Organization(ctx, other); !errors.Is(err, billing.ErrNoSubscription) {
			t.Fatalf("other organisation = %v", err)
		}
		if _, err := s.Mine(ctx, userd.Actor{UserID: ann}); !errors.Is(err, billing.ErrNoSubscription) {
			t.Fatalf("ann's own = %v", err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM notifications WHERE type = 'billing.payment_failed' AND user_id = $1`, ann); n != 1 {
			t.Fatalf("the owner heard %d times; want 1", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM notifications WHERE type = 'billing.payment_failed'`); n != 1 {
			t.Fatalf("%d notices; want the owner's 1", n)
		}
		if _, byPlan := roles(t, db, bob); len(byPlan) != 0 {
			t.Fatalf("a member holds %q by plan", byPlan)
		}
		g, err := s.Grant(ctx, admin, userd.Client{}, billing.Grant{OrganizationID: other, Plan: "comp", EndsAt: noon.Add(time.Hour)})
		if err != nil || g.OrganizationID != other {
			t.Fatalf("grant to an organisation = %+v, %v", g, err)
		}
		if _, err := s.Grant(ctx, admin, userd.Client{}, billing.Grant{OrganizationID: "01900000-0000-7000-8000-0000000000f3", Plan: "comp", EndsAt: noon.Add(time.Hour)}); !errors.Is(err, billing.ErrOrganizationNotFound) {
			t.Fatalf("grant to no organisation = %v", err)
		}
	})
}

// TestNoEscalation: billing:write alone gives no privilege its holder
// lacks: a plan cannot be made to grant (or stop granting) a role they may
// not give, a comp plan cannot go to a user they do not cover nor grant a
// role they do not cover, and only an administrator sets a webhook secret.
// No plan grants an administrator's role, whoever sets it.
func TestNoEscalation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ctx := context.Background()
		sys := sqldb.System(ctx)
		self, boss := user(t, db, "self@example.com"), user(t, db, "boss@example.com")
		err := db.Tx(sys, func(tx *sqldb.Tx) error {
			name, staff, perms := "PRO", "STAFF", []string{"users:write"}
			if _, err := rbac.Create(sys, tx, rbac.RolePatch{Name: &staff, Permissions: &perms}); err != nil {
				return err
			}
			if _, err := rbac.Create(sys, tx, rbac.RolePatch{Name: &name}); err != nil {
				return err
			}
			_, err := rbac.Assign(sys, tx, boss, rbac.AdminRole)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// The clerk is self, with END_USER's permissions too.
		all, _ := roles(t, db, self)
		me := clerk
		me.UserID = self
		err = db.View(sys, func(tx *sqldb.Tx) error {
			g, err := rbac.Grants(sys, tx, self)
			me.Grants.Permissions = append(me.Grants.Permissions, g.Permissions...)
			return err
		})
		if err != nil || !slices.Equal(all, []string{"END_USER"}) {
			t.Fatal(err, all)
		}
		end := c.now().Add(24 * time.Hour)
		for name, err := range map[string]error{
			"plan grants STAFF": func() error {
				_, err := s.SetPlanRoles(ctx, me, userd.Client{}, "comp", []string{"STAFF"})
				return err
			}(),
			"no roles:write": func() error {
				_, err := s.SetPlanRoles(ctx, userd.Actor{Grants: userd.Grants{Permissions: []string{billing.WritePermission}}}, userd.Client{}, "comp", []string{"PRO"})
				return err
			}(),
			"secret": func() error {
				v := "whsec_mine"
				_, err := s.SetProvider(ctx, me, userd.Client{}, billing.Stripe, &v, nil)
				return err
			}(),
			"grant to an admin": func() error {
				_, err := s.Grant(ctx, me, userd.Client{}, billing.Grant{UserID: boss, Plan: "plain", EndsAt: end})
				return err
			}(),
		} {
			if !errors.Is(err, rbac.ErrInsufficientPrivilege) {
				t.Errorf("%s = %v; want insufficient_privilege", name, err)
			}
		}
		// No plan grants ADMIN, not even by an administrator's hand.
		_, err = s.SetPlanRoles(ctx, admin, userd.Client{}, "comp", []string{rbac.AdminRole})
		if e := userd.ErrorOf(err); e == nil || e.Kind != userd.KindInvalid || len(e.Fields) != 1 || e.Fields[0].Code != "admin_role" {
			t.Fatalf("a plan granting ADMIN = %v", err)
		}
		// A plan that an administrator made grant a permission the clerk
		// lacks: the clerk neither grants it nor changes it.
		if _, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "comp", []string{"STAFF"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Grant(ctx, me, userd.Client{}, billing.Grant{UserID: self, Plan: "comp", EndsAt: end}); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
			t.Fatalf("comp plan granting STAFF = %v", err)
		}
		if _, err := s.SetPlanRoles(ctx, me, userd.Client{}, "comp", nil); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
			t.Fatalf("clearing a plan granting STAFF = %v", err)
		}
		if all, _ := roles(t, db, self); !slices.Equal(all, []string{"END_USER"}) {
			t.Fatalf("self holds %q", all)
		}
		// What the clerk may do: a plan of a role without permissions, to
		// themselves; enabling a provider without touching its secret.
		if _, err := s.SetPlanRoles(ctx, me, userd.Client{}, "pro", []string{"PRO"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Grant(ctx, me, userd.Client{}, billing.Grant{UserID: self, Plan: "pro", EndsAt: end}); err != nil {
			t.Fatal(err)
		}
		on := true
		if _, err := s.SetProvider(ctx, me, userd.Client{}, billing.Stripe, nil, &on); err != nil {
			t.Fatal(err)
		}
		if all, _ := roles(t, db, self); !slices.Equal(all, []string{"END_USER", "PRO"}) {
			t.Fatalf("self holds %q", all)
		}
	})
}

// TestLinkRacesItsEvents: a checkout and the subscription of its customer
// delivered at once, round after round: the subscription is applied every
// time, whichever transaction commits first.
func TestLinkRacesItsEvents(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		const rounds = 20
		for i := range rounds {
			id := user(t, db, fmt.Sprintf("u%d@example.com", i))
			customer, subID := fmt.Sprintf("cus_%d", i), fmt.Sprintf("sub_%d", i)
			bodies := [][]byte{
				event("evt_link_"+customer, "checkout.session.completed", noon, checkout(customer, id)),
				event("evt_sub_"+customer, "customer.subscription.created", noon, sub(subID, customer, "active", "pro")),
			}
			errs := dbtest.AtOnce(2, func(j int) error {
				_, err := s.Receive(context.Background(), userd.Client{}, billing.Stripe, billing.SignStripe(bodies[j], []byte(secret), c.now()), bodies[j])
				return err
			})
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			got, err := s.Mine(context.Background(), userd.Actor{UserID: id})
			if err != nil || got.Status != billing.Active || got.SubscriptionID != subID {
				t.Fatalf("round %d: subscription = %+v, %v", i, got, err)
			}
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM billing_events WHERE NOT applied`); n != 0 {
			t.Fatalf("%d events left waiting", n)
		}
	})
}

// TestSameSecond: Stripe's times are whole seconds, so events of one
// second arrive in any order: a created event does not overwrite the
// update that came first, a deleted subscription is not brought back, and
// an event of the same second does not move a subscription back to
// incomplete.
func TestSameSecond(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		if _, err := s.SetPlanRoles(context.Background(), admin, userd.Client{}, "pro", []string{"END_USER"}); err != nil {
			t.Fatal(err)
		}
		for i, tt := range []struct {
			name       string
			types      []string
			statuses   []string
			wantStatus string
			entitled   bool
		}{
			{"updated then created", []string{"customer.subscription.updated", "customer.subscription.created"}, []string{"active", "incomplete"}, billing.Active, true},
			{"deleted then updated", []string{"customer.subscription.deleted", "customer.subscription.updated"}, []string{"canceled", "active"}, billing.Canceled, false},
			{"active then incomplete", []string{"customer.subscription.updated", "customer.subscription.updated"}, []string{"active", "incomplete"}, billing.Active, true},
			{"expired then active, later", []string{"customer.subscription.updated", "customer.subscription.updated"}, []string{"incomplete_expired", "active"}, billing.IncompleteExpired, false},
		} {
			id := user(t, db, fmt.Sprintf("u%d@example.com", i))
			customer, subID := fmt.Sprintf("cus_%d", i), fmt.Sprintf("sub_%d", i)
			deliver(t, s, c, event("evt_link_"+customer, "checkout.session.completed", noon, checkout(customer, id)))
			for j, typ := range tt.types {
				at := noon
				if tt.name == "expired then active, later" {
					at = noon.Add(time.Duration(j) * time.Second)
				}
				deliver(t, s, c, event(fmt.Sprintf("evt_%d_%d", i, j), typ, at, sub(subID, customer, tt.statuses[j], "pro")))
			}
			got, err := s.Mine(context.Background(), userd.Actor{UserID: id})
			if err != nil || got.Status != tt.wantStatus || got.Entitled != tt.entitled {
				t.Errorf("%s: status %s, entitled %v, %v; want %s, %v", tt.name, got.Status, got.Entitled, err, tt.wantStatus, tt.entitled)
			}
		}
	})
}

// TestForgedFlood: forged deliveries from one address are audited once per
// window and refused with rate_limited beyond the limit, before their
// signature is checked; another address is not held back, and a new
// window audits again.
func TestForgedFlood(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := &clock{}
		c.set(noon)
		db.SetClock(c.now)
		s := billing.NewService(db, billing.Deps{Grace: billing.DefaultGrace, StripeSecret: secret,
			Limiter: ratelimit.New(db, true), Deliveries: ratelimit.Rule{Max: 5, Window: time.Minute}})
		body := event("evt_1", "customer.subscription.updated", noon, sub("sub_1", "cus_1", "active", "pro"))
		forged := billing.SignStripe(body, []byte("whsec_forged"), noon)
		send := func(ip string) error {
			_, err := s.Receive(context.Background(), userd.Client{IP: ip}, billing.Stripe, forged, body)
			return err
		}
		for i := range 8 {
			err := send("198.51.100.1")
			if want := i < 5; errors.Is(err, billing.ErrInvalidSignature) != want || (!want && userd.ErrorKind(err) != userd.KindRateLimited) {
				t.Fatalf("delivery %d = %v", i, err)
			}
		}
		if err := send("198.51.100.2"); !errors.Is(err, billing.ErrInvalidSignature) {
			t.Fatalf("another address = %v", err)
		}
		c.set(noon.Add(time.Minute))
		if err := send("198.51.100.1"); !errors.Is(err, billing.ErrInvalidSignature) {
			t.Fatalf("next window = %v", err)
		}
		for ip, want := range map[string]int{"198.51.100.1": 2, "198.51.100.2": 1} {
			if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'billing.event_rejected' AND ip = $1`, ip); n != want {
				t.Errorf("%s: %d rejections audited; want %d", ip, n, want)
			}
		}
	})
}

// TestRoleChangesAudited: every change of the roles that plans give is in
// the user's trail, the end of a grace period (the janitor) as much as a
// plan's new roles.
func TestRoleChangesAudited(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ctx := context.Background()
		sys := sqldb.System(ctx)
		err := db.Tx(sys, func(tx *sqldb.Tx) error {
			name := "PRO"
			_, err := rbac.Create(sys, tx, rbac.RolePatch{Name: &name})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ann := user(t, db, "ann@example.com")
		deliver(t, s, c, event("evt_a", "checkout.session.completed", noon, checkout("cus_ann", ann)))
		deliver(t, s, c, event("evt_1", "customer.subscription.created", noon, sub("sub_ann", "cus_ann", "active", "pro")))
		changes := func() []string {
			t.Helper()
			var out []string
			rows, err := db.SQL().Query(`SELECT metadata FROM activity_logs WHERE user_id = $1 AND action = 'billing.roles_changed' ORDER BY id`, ann)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var m string
				rows.Scan(&m)
				out = append(out, m)
			}
			return out
		}
		if got := changes(); len(got) != 0 {
			t.Fatalf("changes before the plan's roles = %q", got)
		}
		if _, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "pro", []string{"PRO"}); err != nil {
			t.Fatal(err)
		}
		deliver(t, s, c, event("evt_2", "invoice.payment_failed", noon, map[string]any{"customer": "cus_ann", "subscription": "sub_ann"}))
		c.set(noon.Add(billing.DefaultGrace))
		err = db.Tx(sys, func(tx *sqldb.Tx) error {
			_, err := billing.Expire(sys, tx, tx.Now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got := changes()
		for i, m := range got {
			got[i] = strings.ReplaceAll(m, " ", "") // PostgreSQL's jsonb spaces its text
		}
		if len(got) != 2 || !strings.Contains(got[0], `"given":["PRO"]`) || !strings.Contains(got[1], `"taken":["PRO"]`) {
			t.Fatalf("changes = %q", got)
		}
	})
}

// TestStaleFailureTellsNobody: a failed payment older than the last event
// applied to its subscription, or of a subscription userd does not know,
// changes nothing and tells nobody; a newer one tells the owner.
func TestStaleFailureTellsNobody(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ann := user(t, db, "ann@example.com")
		deliver(t, s, c, event("evt_a", "checkout.session.completed", noon, checkout("cus_ann", ann)))
		deliver(t, s, c, event("evt_1", "customer.subscription.updated", noon.Add(time.Minute), sub("sub_ann", "cus_ann", "active", "pro")))
		failed := func(id, subID string, at time.Time) billing.Receipt {
			return deliver(t, s, c, event(id, "invoice.payment_failed", at, map[string]any{"customer": "cus_ann", "subscription": subID}))
		}
		notices := func() int {
			return dbtest.Count(t, db, `SELECT count(*) FROM notifications WHERE user_id = $1 AND type = 'billing.payment_failed'`, ann)
		}
		if r := failed("evt_old", "sub_ann", noon); r.Applied || notices() != 0 {
			t.Fatalf("older failure = %+v, %d notices", r, notices())
		}
		if r := failed("evt_other", "sub_other", noon.Add(2*time.Minute)); r.Applied || notices() != 0 {
			t.Fatalf("failure of an unknown subscription = %+v, %d notices", r, notices())
		}
		if r := failed("evt_new", "sub_ann", noon.Add(2*time.Minute)); !r.Applied || notices() != 1 {
			t.Fatalf("newer failure = %+v, %d notices", r, notices())
		}
		if r := failed("evt_retry", "sub_ann", noon.Add(3*time.Minute)); !r.Applied || notices() != 2 {
			t.Fatalf("retry failed again = %+v, %d notices", r, notices())
		}
	})
}

// TestGraceFromTheProvidersTime: a past_due event delivered late starts
// the grace period when the provider says, not when it arrived.
func TestGraceFromTheProvidersTime(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ann := user(t, db, "ann@example.com")
		deliver(t, s, c, event("evt_a", "checkout.session.completed", noon, checkout("cus_ann", ann)))
		deliver(t, s, c, event("evt_1", "customer.subscription.created", noon, sub("sub_ann", "cus_ann", "active", "pro")))
		c.set(noon.Add(48 * time.Hour))
		deliver(t, s, c, event("evt_2", "customer.subscription.updated", noon.Add(time.Hour), sub("sub_ann", "cus_ann", "past_due", "pro")))
		got, err := s.Mine(context.Background(), userd.Actor{UserID: ann})
		if err != nil || got.GraceUntil == nil || !got.GraceUntil.Equal(noon.Add(time.Hour+billing.DefaultGrace)) {
			t.Fatalf("grace until %v, %v; want %v", got.GraceUntil, err, noon.Add(time.Hour+billing.DefaultGrace))
		}
	})
}

// TestGrantLimits: a manual grant lasts at most MaxGrant and ends by hand,
// its roles with it; a plan grants no more roles than a user may hold, nor
// two that exclude each other.
func TestGrantLimits(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ctx := context.Background()
		sys := sqldb.System(ctx)
		err := db.Tx(sys, func(tx *sqldb.Tx) error {
			for _, name := range []string{"PRO", "GOLD"} {
				if _, err := rbac.Create(sys, tx, rbac.RolePatch{Name: &name}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ann := user(t, db, "ann@example.com")
		if _, err := s.Grant(ctx, admin, userd.Client{}, billing.Grant{UserID: ann, Plan: "pro", EndsAt: c.now().Add(billing.MaxGrant + time.Hour)}); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("grant beyond MaxGrant = %v", err)
		}
		many := make([]string, rbac.MaxRolesPerUser+1)
		for i := range many {
			many[i] = fmt.Sprintf("ROLE_%d", i)
		}
		if _, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "pro", many); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("too many roles = %v", err)
		}
		exclusive := billing.NewService(db, billing.Deps{Exclusive: rbac.Exclusive{{"PRO", "GOLD"}}})
		if _, err := exclusive.SetPlanRoles(ctx, admin, userd.Client{}, "pro", []string{"GOLD", "PRO"}); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("exclusive roles = %v", err)
		}
		if _, err := s.SetPlanRoles(ctx, admin, userd.Client{}, "pro", []string{"PRO"}); err != nil {
			t.Fatal(err)
		}
		g, err := s.Grant(ctx, admin, userd.Client{}, billing.Grant{UserID: ann, Plan: "pro", EndsAt: c.now().Add(billing.MaxGrant)})
		if err != nil {
			t.Fatal(err)
		}
		if all, _ := roles(t, db, ann); !slices.Equal(all, []string{"END_USER", "PRO"}) {
			t.Fatalf("granted: %q", all)
		}
		if _, err := s.EndGrant(ctx, userd.Actor{}, userd.Client{}, g.ID); !errors.Is(err, billing.ErrWriteForbidden) {
			t.Fatalf("end without permission = %v", err)
		}
		for range 2 {
			ended, err := s.EndGrant(ctx, admin, userd.Client{}, g.ID)
			if err != nil || ended.Status != billing.Canceled || ended.Entitled {
				t.Fatalf("end = %+v, %v", ended, err)
			}
		}
		if all, _ := roles(t, db, ann); !slices.Equal(all, []string{"END_USER"}) {
			t.Fatalf("ended: %q", all)
		}
		deliver(t, s, c, event("evt_a", "checkout.session.completed", noon, checkout("cus_ann", ann)))
		deliver(t, s, c, event("evt_1", "customer.subscription.created", noon, sub("sub_ann", "cus_ann", "active", "pro")))
		mine, err := s.Mine(ctx, userd.Actor{UserID: ann})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.EndGrant(ctx, admin, userd.Client{}, mine.ID); !errors.Is(err, billing.ErrNotManual) {
			t.Fatalf("end a provider's subscription = %v", err)
		}
		if _, err := s.EndGrant(ctx, admin, userd.Client{}, "01900000-0000-7000-8000-000000000000"); !errors.Is(err, billing.ErrNoSubscription) {
			t.Fatalf("end no subscription = %v", err)
		}
	})
}

// TestDeletionForgetsEvents: deleting a user deletes the providers' events
// about their customer, not another user's, nor the provider.
func TestDeletionForgetsEvents(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, c := newService(db)
		ann, bob := user(t, db, "ann@example.com"), user(t, db, "bob@example.com")
		for _, u := range []struct{ id, customer string }{{ann, "cus_ann"}, {bob, "cus_bob"}} {
			deliver(t, s, c, event("evt_link_"+u.customer, "checkout.session.completed", noon, checkout(u.customer, u.id)))
			deliver(t, s, c, event("evt_sub_"+u.customer, "customer.subscription.created", noon, sub("sub_"+u.customer, u.customer, "active", "pro")))
		}
		sys := sqldb.System(context.Background())
		if err := db.Tx(sys, func(tx *sqldb.Tx) error { return lifecycle.DeleteUser(sys, tx, ann) }); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string]int{
			`SELECT count(*) FROM billing_events WHERE customer_id = 'cus_ann' OR payload LIKE '%cus_ann%'`: 0,
			`SELECT count(*) FROM billing_events WHERE customer_id = 'cus_bob'`:                             2,
			`SELECT count(*) FROM payment_accounts`:                                                         1,
			`SELECT count(*) FROM payment_providers WHERE name = 'stripe'`:                                  1,
		} {
			if n := dbtest.Count(t, db, q); n != want {
				t.Errorf("%s = %d; want %d", q, n, want)
			}
		}
	})
}
