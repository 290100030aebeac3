package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// stripeEvent is a Stripe event's body.
func stripeEvent(id, typ string, object map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "created": time.Now().Unix(), "data": map[string]any{"object": object}})
	return b
}

// deliver posts an event to the stripe webhook, signed with secret at t.
func (c *client) deliver(body []byte, secret string, t time.Time) response {
	c.t.Helper()
	return c.do("POST", "/v1/billing/webhooks/stripe", string(body), "", "Stripe-Signature", billing.SignStripe(body, []byte(secret), t))
}

// tokenRoles returns the roles an access token carries.
func tokenRoles(t *testing.T, c *client, tok string) []string {
	t.Helper()
	var roles []string
	if err := json.Unmarshal(verifiedClaims(t, c.do("GET", "/.well-known/jwks.json", nil, "").Raw, tok)["roles"], &roles); err != nil {
		t.Fatal(err)
	}
	return roles
}

// TestBillingWebhook: with the stripe secret set through the API (sealed,
// never returned), a signed checkout links a customer and its subscription
// applies once; forged and stale signatures are 400 invalid_signature; the
// plan's role is in the next access token and GET /v1/me while the
// subscription is active, and gone after its deletion; the subscriber reads
// their subscription with its history, the administrators every one.
func TestBillingWebhook(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		const secret = "whsec_web_test"
		r := c.do("PUT", "/v1/admin/payment-providers/stripe", map[string]any{"webhook_secret": secret}, adm)
		if r.Status != http.StatusOK || r.Body["has_webhook_secret"] != true || r.Body["enabled"] != true || bytes.Contains(r.Raw, []byte(secret)) {
			t.Fatalf("set secret = %d %s", r.Status, r.Raw)
		}
		var stored []byte
		c.db.SQL().QueryRow(`SELECT webhook_secret FROM payment_providers WHERE name = 'stripe'`).Scan(&stored)
		if len(stored) == 0 || bytes.Contains(stored, []byte(secret)) {
			t.Fatalf("stored secret = %q", stored)
		}
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "PRO"}, adm); r.Status != http.StatusCreated {
			t.Fatalf("create role = %d %s", r.Status, r.Raw)
		}
		r = c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		annID, ann, refresh := str(r.Body["user"].(map[string]any), "id"), str(r.Body["session"].(map[string]any), "token"), str(r.Body, "refresh_token")

		now := time.Now()
		created := stripeEvent("evt_sub", "customer.subscription.created", map[string]any{"id": "sub_1", "customer": "cus_1", "status": "active",
			"items": map[string]any{"data": []any{map[string]any{"quantity": 1, "price": map[string]any{"id": "price_1", "lookup_key": "pro"}}}}})
		runScenarios(t, c, []scenario{
			{"no subscription", "GET", "/v1/me/subscription", nil, ann, 404, "no_subscription"},
			{"anonymous reads", "GET", "/v1/me/subscriptions", nil, "", 401, "unauthenticated"},
			{"a user lists every subscription", "GET", "/v1/admin/subscriptions", nil, ann, 403, "forbidden"},
			{"a user lists the events", "GET", "/v1/admin/billing-events", nil, ann, 403, "forbidden"},
			{"a user sets a plan's roles", "PUT", "/v1/admin/plans/pro", map[string]any{"roles": []string{"PRO"}}, ann, 403, "forbidden"},
			{"a user grants", "POST", "/v1/admin/subscriptions", map[string]any{"user_id": annID, "plan": "comp", "ends_at": now.Add(time.Hour)}, ann, 403, "forbidden"},
			{"a user sets a secret", "PUT", "/v1/admin/payment-providers/stripe", map[string]any{"enabled": false}, ann, 403, "forbidden"},
			{"unknown role", "PUT", "/v1/admin/plans/pro", map[string]any{"roles": []string{"NOPE"}}, adm, 422, "validation_failed"},
			{"bad plan", "PUT", "/v1/admin/plans/a%20b", map[string]any{"roles": []string{}}, adm, 422, "validation_failed"},
			{"grant ended", "POST", "/v1/admin/subscriptions", map[string]any{"user_id": annID, "plan": "comp", "ends_at": now.Add(-time.Hour)}, adm, 422, "validation_failed"},
			{"grant for ever", "POST", "/v1/admin/subscriptions", map[string]any{"user_id": annID, "plan": "comp", "ends_at": now.Add(50 * 365 * 24 * time.Hour)}, adm, 422, "validation_failed"},
			{"a user ends a grant", "DELETE", "/v1/admin/subscriptions/01900000-0000-7000-8000-000000000000", nil, ann, 403, "forbidden"},
			{"end no grant", "DELETE", "/v1/admin/subscriptions/01900000-0000-7000-8000-000000000000", nil, adm, 404, "no_subscription"},
			{"grant to no one", "POST", "/v1/admin/subscriptions", map[string]any{"user_id": "01900000-0000-7000-8000-000000000000", "plan": "comp", "ends_at": now.Add(time.Hour)}, adm, 404, "user_not_found"},
			{"unknown provider", "POST", "/v1/billing/webhooks/paypal", "{}", "", 404, "provider_not_found"},
			{"unsigned", "POST", "/v1/billing/webhooks/stripe", string(created), "", 400, "invalid_signature"},
		})
		for name, sig := range map[string]string{"forged": billing.SignStripe(created, []byte("whsec_forged"), now), "stale": billing.SignStripe(created, []byte(secret), now.Add(-6*time.Minute))} {
			if r := c.do("POST", "/v1/billing/webhooks/stripe", string(created), "", "Stripe-Signature", sig); r.Status != 400 || r.code() != "invalid_signature" {
				t.Fatalf("%s = %d %s", name, r.Status, r.Raw)
			}
		}
		if r := c.do("PUT", "/v1/admin/plans/pro", map[string]any{"roles": []string{"PRO"}}, adm); r.Status != 200 || !slices.Equal(toStrings(r.Body["roles"]), []string{"PRO"}) {
			t.Fatalf("plan roles = %d %s", r.Status, r.Raw)
		}

		// The subscription comes before the checkout that links its customer.
		if r := c.deliver(created, secret, now); r.Status != 200 || r.Body["applied"] != false || r.Body["duplicate"] != false || r.Body["event_id"] != "evt_sub" {
			t.Fatalf("subscription of an unknown customer = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/admin/billing-events?applied=false", nil, adm); len(r.Body["events"].([]any)) != 1 {
			t.Fatalf("events waiting = %s", r.Raw)
		}
		link := stripeEvent("evt_link", "checkout.session.completed", map[string]any{"id": "cs_1", "customer": "cus_1", "metadata": map[string]any{"userd_user_id": annID}})
		if r := c.deliver(link, secret, now); r.Status != 200 || r.Body["applied"] != true {
			t.Fatalf("checkout = %d %s", r.Status, r.Raw)
		}
		if r := c.deliver(link, secret, now); r.Status != 200 || r.Body["duplicate"] != true || r.Body["applied"] != false {
			t.Fatalf("replay = %d %s", r.Status, r.Raw)
		}
		r = c.do("GET", "/v1/me/subscription", nil, ann)
		if r.Status != 200 || str(r.Body, "status") != "active" || str(r.Body, "plan") != "pro" || str(r.Body, "payment_provider") != "stripe" ||
			str(r.Body, "subscription_id") != "sub_1" || str(r.Body, "customer_id") != "cus_1" || r.Body["entitled"] != true || str(r.Body, "user_id") != annID {
			t.Fatalf("my subscription = %d %s", r.Status, r.Raw)
		}
		next := c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": refresh}, "")
		if roles := tokenRoles(t, c, str(next.Body, "access_token")); !slices.Equal(roles, []string{"END_USER", "PRO"}) {
			t.Fatalf("access token roles = %v", roles)
		}
		if me := c.do("GET", "/v1/me", nil, ann); !slices.Equal(toStrings(me.Body["roles"]), []string{"END_USER", "PRO"}) {
			t.Fatalf("me = %s", me.Raw)
		}

		deleted := stripeEvent("evt_del", "customer.subscription.deleted", map[string]any{"id": "sub_1", "customer": "cus_1", "status": "canceled",
			"canceled_at": now.Unix(), "items": map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": "price_1", "lookup_key": "pro"}}}}})
		if r := c.deliver(deleted, secret, now); r.Status != 200 || r.Body["applied"] != true {
			t.Fatalf("deleted = %d %s", r.Status, r.Raw)
		}
		next = c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": str(next.Body, "refresh_token")}, "")
		if roles := tokenRoles(t, c, str(next.Body, "access_token")); !slices.Equal(roles, []string{"END_USER"}) {
			t.Fatalf("access token roles after the cancellation = %v", roles)
		}
		if me := c.do("GET", "/v1/me", nil, ann); !slices.Equal(toStrings(me.Body["roles"]), []string{"END_USER"}) {
			t.Fatalf("me after the cancellation = %s", me.Raw)
		}
		r = c.do("GET", "/v1/me/subscriptions", nil, ann)
		subs, _ := r.Body["subscriptions"].([]any)
		if r.Status != 200 || len(subs) != 1 {
			t.Fatalf("my subscriptions = %d %s", r.Status, r.Raw)
		}
		var history []string
		for _, h := range subs[0].(map[string]any)["history"].([]any) {
			h := h.(map[string]any)
			from, _ := h["from_status"].(string)
			history = append(history, from+">"+str(h, "to_status")+" "+str(h, "event_id"))
		}
		if !slices.Equal(history, []string{">active evt_sub", "active>canceled evt_del"}) {
			t.Fatalf("history = %q", history)
		}

		// A comp plan by hand.
		r = c.do("POST", "/v1/admin/subscriptions", map[string]any{"user_id": annID, "plan": "pro", "ends_at": now.Add(24 * time.Hour).UTC().Format(time.RFC3339)}, adm)
		if r.Status != http.StatusCreated || str(r.Body, "payment_provider") != "manual" || str(r.Body, "status") != "active" || r.Body["entitled"] != true {
			t.Fatalf("grant = %d %s", r.Status, r.Raw)
		}
		if me := c.do("GET", "/v1/me", nil, ann); !slices.Equal(toStrings(me.Body["roles"]), []string{"END_USER", "PRO"}) {
			t.Fatalf("me with the comp plan = %s", me.Raw)
		}
		r = c.do("GET", "/v1/admin/subscriptions?provider=stripe&status=canceled", nil, adm)
		if list, _ := r.Body["subscriptions"].([]any); r.Status != 200 || len(list) != 1 || str(list[0].(map[string]any), "subscription_id") != "sub_1" {
			t.Fatalf("admin list = %d %s", r.Status, r.Raw)
		}
		r = c.do("GET", "/v1/admin/payment-providers", nil, adm)
		if ps, _ := r.Body["providers"].([]any); r.Status != 200 || len(ps) != 2 || str(ps[0].(map[string]any), "name") != "manual" || bytes.Contains(r.Raw, []byte(secret)) {
			t.Fatalf("providers = %d %s", r.Status, r.Raw)
		}
		var rejected, changed int
		c.db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'billing.event_rejected'`).Scan(&rejected)
		c.db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'billing.subscription_changed' AND user_id = $1`, annID).Scan(&changed)
		if rejected != 3 || changed != 3 {
			t.Fatalf("audited %d rejections (want 3), %d changes (want 3)", rejected, changed)
		}
		if r := c.do("GET", "/v1/me/export", nil, ann); !bytes.Contains(r.Raw, []byte(`"subscriptions":[`)) || !bytes.Contains(r.Raw, []byte(`"customer_id":"cus_1"`)) || bytes.Contains(r.Raw, []byte(secret)) {
			t.Fatalf("export = %s", r.Raw)
		}
	})
}

// TestOrgSubscription: an organisation's subscription answers its owners and
// admins whole, its members without the provider's ids, metadata and
// history, and anyone else 404.
func TestOrgSubscription(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		_, ann, _ := c.signupTokens("ann@example.com")
		bobID, bob, _ := c.signupTokens("bob@example.com")
		_, eve, _ := c.signupTokens("eve@example.com")
		org := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Acme"}, ann).Body, "id")
		if r := c.do("GET", "/v1/orgs/"+org+"/subscription", nil, ann); r.Status != 404 || r.code() != "no_subscription" {
			t.Fatalf("before a grant = %d %s", r.Status, r.Raw)
		}
		if _, err := c.db.SQL().Exec(`INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES ($1, $2, 'member', $3)`,
			org, bobID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		ends := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
		if r := c.do("POST", "/v1/admin/subscriptions", map[string]any{"organization_id": org, "plan": "team", "ends_at": ends}, adm); r.Status != 201 {
			t.Fatalf("grant = %d %s", r.Status, r.Raw)
		}
		r := c.do("GET", "/v1/orgs/"+org+"/subscription", nil, ann)
		if r.Status != 200 || r.Body["plan"] != "team" || r.Body["status"] != "active" || r.Body["subscription_id"] == "" ||
			len(r.Body["history"].([]any)) != 1 {
			t.Fatalf("owner reads = %d %s", r.Status, r.Raw)
		}
		r = c.do("GET", "/v1/orgs/"+org+"/subscription", nil, bob)
		if r.Status != 200 || r.Body["plan"] != "team" || r.Body["entitled"] != true || r.Body["subscription_id"] != "" ||
			r.Body["history"] != nil || r.Body["metadata"] != nil {
			t.Fatalf("member reads = %d %s", r.Status, r.Raw)
		}
		for _, id := range []string{org, "01900000-0000-7000-8000-000000000000", "nope"} {
			if r := c.do("GET", "/v1/orgs/"+id+"/subscription", nil, eve); r.Status != 404 || r.code() != "organization_not_found" {
				t.Fatalf("stranger reads %s = %d %s", id, r.Status, r.Raw)
			}
		}
	})
}

// TestOrgPlanRoles: the members of an organisation on plan pro hold its
// role (and its permission) in a session that has it active — in GET
// /v1/me, on a route that needs the permission, and in the next access
// token — and not with another organisation or none active. Each change
// shows on the next request of a session whose caller is cached: past_due
// keeps the role, the grace's end (the clean-up) takes it, a payment gives
// it back, the signed cancellation takes it, and so does the member's
// removal, and so does a change of the plan's roles; accepting an
// invitation back gives it again. No plan grants an administrator's role.
func TestOrgPlanRoles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		clk := withClock(c.db)
		adm := c.admin()
		const secret = "whsec_org_plans"
		if r := c.do("PUT", "/v1/admin/payment-providers/stripe", map[string]any{"webhook_secret": secret}, adm); r.Status != 200 {
			t.Fatalf("set secret = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/admin/roles", map[string]any{"name": "PRO_FEATURES", "permissions": []string{"roles:read"}}, adm); r.Status != http.StatusCreated {
			t.Fatalf("create role = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PUT", "/v1/admin/plans/pro", map[string]any{"roles": []string{"ADMIN"}}, adm); r.Status != 422 || !bytes.Contains(r.Raw, []byte(`"admin_role"`)) {
			t.Fatalf("a plan granting ADMIN = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PUT", "/v1/admin/plans/pro", map[string]any{"roles": []string{"PRO_FEATURES"}}, adm); r.Status != 200 {
			t.Fatalf("plan roles = %d %s", r.Status, r.Raw)
		}
		_, ann, _ := c.signupTokens("ann@example.com")
		bobID, bob, refresh := c.signupTokens("bob@example.com")
		acme := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Acme"}, ann).Body, "id")
		side := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Side"}, bob).Body, "id")
		if _, err := c.db.SQL().Exec(`INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES ($1, $2, 'member', $3)`,
			acme, bobID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		now := clk.now()
		linked := stripeEvent("evt_link", "checkout.session.completed", map[string]any{"id": "cs_1", "customer": "cus_acme", "metadata": map[string]any{"userd_organization_id": acme}})
		created := stripeEvent("evt_sub", "customer.subscription.created", map[string]any{"id": "sub_acme", "customer": "cus_acme", "status": "active",
			"items": map[string]any{"data": []any{map[string]any{"quantity": 1, "price": map[string]any{"id": "price_1", "lookup_key": "pro"}}}}})
		for _, ev := range [][]byte{linked, created} {
			if r := c.deliver(ev, secret, now); r.Status != 200 || r.Body["applied"] != true {
				t.Fatalf("deliver = %d %s", r.Status, r.Raw)
			}
		}
		// holds checks what bob's session holds, through GET /v1/me and a
		// route that needs roles:read, with the session token and with a
		// new access token, whose roles it checks too.
		holds := func(step string, want bool) {
			t.Helper()
			roles := []string{"END_USER"}
			if want {
				roles = []string{"END_USER", "PRO_FEATURES"}
			}
			next := c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": refresh}, "")
			if next.Status != 200 {
				t.Fatalf("%s: refresh = %d %s", step, next.Status, next.Raw)
			}
			refresh = str(next.Body, "refresh_token")
			access := str(next.Body, "access_token")
			if got := tokenRoles(t, c, access); !slices.Equal(got, roles) {
				t.Fatalf("%s: access token roles = %v; want %v", step, got, roles)
			}
			for _, tok := range []string{bob, access} {
				me := c.do("GET", "/v1/me", nil, tok)
				if !slices.Equal(toStrings(me.Body["roles"]), roles) || slices.Contains(toStrings(me.Body["permissions"]), "roles:read") != want {
					t.Fatalf("%s: me = %s; want roles %v", step, me.Raw, roles)
				}
				status := http.StatusForbidden
				if want {
					status = http.StatusOK
				}
				if r := c.do("GET", "/v1/admin/roles", nil, tok); r.Status != status {
					t.Fatalf("%s: roles:read route = %d; want %d", step, r.Status, status)
				}
			}
		}
		activate := func(org any) {
			t.Helper()
			if r := c.do("PUT", "/v1/me/active-organization", map[string]any{"organization_id": org}, bob); r.Status != 200 {
				t.Fatalf("activate %v = %d %s", org, r.Status, r.Raw)
			}
		}
		holds("no organisation active", false)
		activate(acme)
		holds("acme active", true)
		activate(side)
		holds("side active", false)
		activate(nil)
		holds("none active", false)
		activate(acme)
		holds("acme active again", true)
		for _, roles := range [][]string{{}, {"PRO_FEATURES"}} {
			if r := c.do("PUT", "/v1/admin/plans/pro", map[string]any{"roles": roles}, adm); r.Status != 200 {
				t.Fatalf("plan roles %v = %d %s", roles, r.Status, r.Raw)
			}
			holds(fmt.Sprintf("the plan grants %v", roles), len(roles) > 0)
		}
		if me := c.do("GET", "/v1/me", nil, ann); !slices.Equal(toStrings(me.Body["roles"]), []string{"END_USER"}) {
			t.Fatalf("ann, without acme active = %s", me.Raw)
		}

		failed := stripeEvent("evt_failed", "invoice.payment_failed", map[string]any{"id": "in_1", "customer": "cus_acme", "subscription": "sub_acme"})
		if r := c.deliver(failed, secret, now); r.Status != 200 || r.Body["applied"] != true {
			t.Fatalf("payment failed = %d %s", r.Status, r.Raw)
		}
		holds("past_due within the grace", true)
		// The clean-up, a day before the grace's end and a minute after.
		expire := func() {
			t.Helper()
			ctx := sqldb.System(context.Background())
			if err := c.db.Tx(ctx, func(tx *sqldb.Tx) error { _, err := billing.Expire(ctx, tx, tx.Now); return err }); err != nil {
				t.Fatal(err)
			}
		}
		clk.advance(billing.DefaultGrace - 24*time.Hour)
		expire()
		holds("the clean-up within the grace", true)
		clk.advance(24*time.Hour + time.Minute)
		holds("after the grace, before the clean-up", true)
		expire()
		holds("the clean-up after the grace", false)
		paid := stripeEvent("evt_paid", "invoice.paid", map[string]any{"id": "in_2", "customer": "cus_acme", "subscription": "sub_acme"})
		now = clk.now()
		if r := c.deliver(paid, secret, now); r.Status != 200 || r.Body["applied"] != true {
			t.Fatalf("paid = %d %s", r.Status, r.Raw)
		}
		holds("paid", true)

		deleted := stripeEvent("evt_del", "customer.subscription.deleted", map[string]any{"id": "sub_acme", "customer": "cus_acme", "status": "canceled",
			"canceled_at": now.Unix(), "items": map[string]any{"data": []any{map[string]any{"price": map[string]any{"id": "price_1", "lookup_key": "pro"}}}}})
		if r := c.deliver(deleted, secret, now); r.Status != 200 || r.Body["applied"] != true {
			t.Fatalf("deleted = %d %s", r.Status, r.Raw)
		}
		holds("canceled", false)

		r := c.do("POST", "/v1/admin/subscriptions", map[string]any{"organization_id": acme, "plan": "pro", "ends_at": now.Add(24 * time.Hour).UTC().Format(time.RFC3339)}, adm)
		if r.Status != http.StatusCreated {
			t.Fatalf("grant = %d %s", r.Status, r.Raw)
		}
		holds("a manual grant", true)
		if r := c.do("DELETE", "/v1/orgs/"+acme+"/members/"+bobID, nil, ann); r.Status != http.StatusNoContent {
			t.Fatalf("remove bob = %d %s", r.Status, r.Raw)
		}
		holds("bob removed", false)

		// Bob comes back: the session that still names acme holds the role
		// again from his acceptance on.
		if r := c.do("POST", "/v1/orgs/"+acme+"/invitations", map[string]any{"email": "bob@example.com", "role": "member"}, ann); r.Status != http.StatusCreated {
			t.Fatalf("invite bob = %d %s", r.Status, r.Raw)
		}
		for {
			if base, tok := link(t, mb.next()); strings.HasSuffix(base, "/accept-invitation") {
				if r := c.do("POST", "/v1/invitations/accept", map[string]any{"token": tok}, bob); r.Status != 200 {
					t.Fatalf("accept = %d %s", r.Status, r.Raw)
				}
				break
			}
		}
		holds("bob back", true)
	})
}
