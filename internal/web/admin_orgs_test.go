package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
)

// join makes a user a member of an organisation, as an accepted invitation
// would.
func join(t *testing.T, db *sqldb.DB, orgID, userID, role string) {
	t.Helper()
	ctx := context.Background()
	err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)`, orgID, userID, role, tx.Now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAdminOrgs: every organisation for users:read, searched by name or
// slug, or those of one user with their role; one with its pending
// invitations and its members; its subscriptions and a user's through
// GET /v1/admin/subscriptions.
func TestAdminOrgs(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com", "username": "ann"})
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		acme := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Acme Inc"}, ann).Body, "id")
		bolt := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Bolt Labs", "slug": "bolt"}, bob).Body, "id")
		join(t, c.db, acme, bobID, "admin")
		if r := c.do("POST", "/v1/orgs/"+acme+"/invitations", map[string]any{"email": "cat@example.com", "role": "member"}, ann); r.Status != 201 {
			t.Fatalf("invite = %d %s", r.Status, r.Raw)
		}
		_, reader := c.narrowAdmin(adm, "READER", "reader@example.com", "users:read")
		_, none := c.narrowAdmin(adm, "NOBODY", "nobody@example.com", "newsletter:read")

		names := func(r response) []string {
			var out []string
			for _, o := range r.Body["organizations"].([]any) {
				m := o.(map[string]any)
				out = append(out, str(m, "name")+"/"+str(m, "role")+"/"+strconv.Itoa(int(m["members_count"].(float64))))
			}
			return out
		}
		for q, want := range map[string]string{"": "Bolt Labs//1,Acme Inc//2", "?q=ACME": "Acme Inc//2", "?q=bolt": "Bolt Labs//1",
			"?q=%25": "", "?user_id=" + bobID: "Bolt Labs/owner/1,Acme Inc/admin/2", "?user_id=" + annID + "&q=bolt": "", "?user_id=nope": ""} {
			r := c.do("GET", "/v1/admin/orgs"+q, nil, reader)
			if got := strings.Join(names(r), ","); r.Status != 200 || got != want {
				t.Errorf("orgs%s = %d %q; want %q", q, r.Status, got, want)
			}
		}
		r := c.do("GET", "/v1/admin/orgs?limit=1", nil, reader)
		if next, _ := r.Body["next_cursor"].(string); next == "" || strings.Join(names(c.do("GET", "/v1/admin/orgs?limit=1&cursor="+next, nil, reader)), ",") != "Acme Inc//2" {
			t.Fatalf("pages: %s", r.Raw)
		}
		if r := c.do("GET", "/v1/admin/orgs?user_id="+bobID, nil, reader); r.Body["organizations"].([]any)[1].(map[string]any)["joined_at"] == nil {
			t.Fatalf("joined_at with user_id: %s", r.Raw)
		}

		r = c.do("GET", "/v1/admin/orgs/"+acme, nil, reader)
		pending, _ := r.Body["pending_invitations"].([]any)
		if r.Status != 200 || str(r.Body, "slug") != "acme-inc" || r.Body["members_count"] != float64(2) || r.Body["role"] != nil ||
			len(pending) != 1 || str(pending[0].(map[string]any), "email") != "cat@example.com" {
			t.Fatalf("org = %d %s", r.Status, r.Raw)
		}
		r = c.do("GET", "/v1/admin/orgs/"+acme+"/members", nil, reader)
		members, _ := r.Body["members"].([]any)
		if r.Status != 200 || len(members) != 2 {
			t.Fatalf("members = %d %s", r.Status, r.Raw)
		}
		for _, m := range members {
			m := m.(map[string]any)
			if want := map[string]string{annID: "ann@example.com/ann/owner", bobID: "bob@example.com//admin"}[str(m, "user_id")]; str(m, "email")+"/"+str(m, "username")+"/"+str(m, "role") != want {
				t.Errorf("member %v; want %s", m, want)
			}
		}
		if r := c.do("GET", "/v1/admin/orgs/"+acme+"/members?limit=1", nil, reader); len(r.Body["members"].([]any)) != 1 || r.Body["next_cursor"] == nil {
			t.Fatalf("a page of members = %s", r.Raw)
		}
		const unknown = "00000000-0000-7000-8000-000000000000"
		runScenarios(t, c, []scenario{
			{"unknown", "GET", "/v1/admin/orgs/" + unknown, nil, reader, 404, "organization_not_found"},
			{"malformed", "GET", "/v1/admin/orgs/nope", nil, reader, 404, "organization_not_found"},
			{"unknown's members", "GET", "/v1/admin/orgs/" + unknown + "/members", nil, reader, 404, "organization_not_found"},
			{"without users:read", "GET", "/v1/admin/orgs", nil, none, 403, "forbidden"},
			{"one without users:read", "GET", "/v1/admin/orgs/" + acme, nil, none, 403, "forbidden"},
			{"members without users:read", "GET", "/v1/admin/orgs/" + acme + "/members", nil, none, 403, "forbidden"},
		})

		// The subscriptions of one owner.
		ends := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
		for _, g := range []map[string]any{{"user_id": annID, "plan": "pro"}, {"organization_id": bolt, "plan": "team"}, {"user_id": bobID, "plan": "pro"}} {
			g["ends_at"] = ends
			if r := c.do("POST", "/v1/admin/subscriptions", g, adm); r.Status != 201 {
				t.Fatalf("grant %v = %d %s", g, r.Status, r.Raw)
			}
		}
		for q, want := range map[string]string{"?user_id=" + annID: "pro", "?organization_id=" + bolt: "team", "?organization_id=" + acme: "",
			"?user_id=nope": "", "?plan=pro": "pro,pro"} {
			r := c.do("GET", "/v1/admin/subscriptions"+q, nil, adm)
			var plans []string
			for _, s := range r.Body["subscriptions"].([]any) {
				plans = append(plans, str(s.(map[string]any), "plan"))
			}
			if r.Status != 200 || strings.Join(plans, ",") != want {
				t.Errorf("subscriptions%s = %d %v; want %s", q, r.Status, plans, want)
			}
		}
	})
}
