package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp/totp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// checkCounters compares every user's counters with the follows that exist.
func checkCounters(t *testing.T, db *sqldb.DB) {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT u.id,
		(SELECT COALESCE(SUM(followers_count), 0) FROM user_follow_stats s WHERE s.user_id = u.id),
		(SELECT COALESCE(SUM(followings_count), 0) FROM user_follow_stats s WHERE s.user_id = u.id),
		(SELECT count(*) FROM user_follows f WHERE f.following_id = u.id),
		(SELECT count(*) FROM user_follows f WHERE f.follower_id = u.id)
		FROM users u`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var followers, followings, realFollowers, realFollowings int64
		rows.Scan(&id, &followers, &followings, &realFollowers, &realFollowings)
		if followers != realFollowers || followings != realFollowings {
			t.Errorf("user %s: counters %d/%d, follows %d/%d", id, followers, followings, realFollowers, realFollowings)
		}
	}
	var orphans int
	db.SQL().QueryRow(`SELECT count(*) FROM user_follow_stats WHERE user_id NOT IN (SELECT id FROM users)`).Scan(&orphans)
	if orphans != 0 {
		t.Errorf("%d counter rows of deleted users", orphans)
	}
}

// TestFollows: following and unfollowing, idempotence, self-follow, unknown
// users, external ids, profiles and lists.
func TestFollows(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		annID, ann := c.signup(map[string]any{"email": "ann@example.com", "username": "ann"})
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com", "username": "bob"})
		ctx := sqldb.System(context.Background())
		var cognito account.User
		c.db.Tx(ctx, func(tx *sqldb.Tx) (err error) {
			cognito, err = account.Insert(ctx, tx, account.New{AuthUserID: "us-east-1:3f1b2c7e-cognito-sub", Identity: account.Identity{Username: "ext"}})
			return err
		})
		for range 2 {
			if r := c.do("PUT", "/v1/users/"+bobID+"/follow", nil, ann); r.Status != 204 {
				t.Fatalf("follow = %d %s", r.Status, r.Raw)
			}
		}
		if r := c.do("PUT", "/v1/users/us-east-1:3f1b2c7e-cognito-sub/follow", nil, ann); r.Status != 204 {
			t.Fatalf("follow by auth_user_id = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PUT", "/v1/users/"+annID+"/follow", nil, ann); r.Status != 422 || r.code() != "self_follow" {
			t.Fatalf("self follow = %d %s", r.Status, r.Raw)
		}
		for _, ref := range []string{"01900000-0000-7000-8000-000000000000", "nobody-here"} {
			if r := c.do("PUT", "/v1/users/"+ref+"/follow", nil, ann); r.Status != 404 {
				t.Fatalf("follow unknown %s = %d", ref, r.Status)
			}
		}
		if r := c.do("PUT", "/v1/users/"+bobID+"/follow", nil, ""); r.Status != 401 {
			t.Fatalf("anonymous follow = %d", r.Status)
		}
		c.do("PUT", "/v1/users/"+annID+"/follow", nil, bob)
		p := c.do("GET", "/v1/users/"+bobID, nil, "")
		if p.Body["followers_count"] != float64(1) || p.Body["followings_count"] != float64(1) || p.Body["followed_by_me"] != nil {
			t.Fatalf("anonymous profile = %s", p.Raw)
		}
		if p := c.do("GET", "/v1/users/"+bobID, nil, ann); p.Body["followed_by_me"] != true {
			t.Fatalf("ann's view of bob = %s", p.Raw)
		}
		if p := c.do("GET", "/v1/users/"+annID, nil, ann); p.Body["followed_by_me"] != false || p.Body["followings_count"] != float64(2) {
			t.Fatalf("ann's view of herself = %s", p.Raw)
		}
		if p := c.do("GET", "/v1/users/us-east-1:3f1b2c7e-cognito-sub", nil, ""); str(p.Body, "id") != cognito.ID || p.Body["followers_count"] != float64(1) ||
			str(p.Body, "auth_user_id") != "us-east-1:3f1b2c7e-cognito-sub" {
			t.Fatalf("profile by auth_user_id = %s", p.Raw)
		}
		r := c.do("GET", "/v1/users/"+annID+"/following", nil, "")
		items := r.Body["items"].([]any)
		if len(items) != 2 || str(items[0].(map[string]any), "id") != cognito.ID || str(items[1].(map[string]any), "username") != "bob" ||
			str(items[0].(map[string]any), "auth_user_id") != "us-east-1:3f1b2c7e-cognito-sub" || items[1].(map[string]any)["auth_user_id"] != nil {
			t.Fatalf("following = %s", r.Raw)
		}
		for range 2 {
			if r := c.do("DELETE", "/v1/users/"+bobID+"/follow", nil, ann); r.Status != 204 {
				t.Fatalf("unfollow = %d", r.Status)
			}
		}
		if p := c.do("GET", "/v1/users/"+bobID, nil, ann); p.Body["followers_count"] != float64(0) || p.Body["followed_by_me"] != false {
			t.Fatalf("after unfollow = %s", p.Raw)
		}
		checkCounters(t, c.db)
	})
}

// TestFollowStorm: 48 users follow one account at once, then half of them
// unfollow while the rest follow again: the counters are exact.
func TestFollowStorm(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		targetID, _ := c.signup(map[string]any{"email": "star@example.com"})
		const n = 48
		tokens := make([]string, n)
		for i := range n {
			_, tokens[i] = c.signup(map[string]any{"email": fmt.Sprintf("fan%d@example.com", i)})
		}
		storm := func(f func(i int) (string, string)) {
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					method, tok := f(i)
					if r := c.do(method, "/v1/users/"+targetID+"/follow", nil, tok); r.Status != 204 {
						t.Errorf("%s follow = %d %s", method, r.Status, r.Raw)
					}
				})
			}
			wg.Wait()
		}
		storm(func(i int) (string, string) { return "PUT", tokens[i] })
		storm(func(i int) (string, string) {
			if i%2 == 0 {
				return "DELETE", tokens[i]
			}
			return "PUT", tokens[i]
		})
		if p := c.do("GET", "/v1/users/"+targetID, nil, ""); p.Body["followers_count"] != float64(n/2) {
			t.Fatalf("followers_count = %v; want %d", p.Body["followers_count"], n/2)
		}
		checkCounters(t, c.db)
		var shards int
		c.db.SQL().QueryRow(`SELECT count(*) FROM user_follow_stats WHERE user_id = $1`, targetID).Scan(&shards)
		if shards < 2 {
			t.Fatalf("a hot account's counters sit on %d row(s); want them spread", shards)
		}
	})
}

// TestPagingWhileFollowing: paging a list 7 at a time while new follows
// arrive returns every earlier follower exactly once.
func TestPagingWhileFollowing(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		targetID, _ := c.signup(map[string]any{"email": "star@example.com"})
		var before []string
		for i := range 30 {
			id, tok := c.signup(map[string]any{"email": fmt.Sprintf("early%d@example.com", i)})
			c.do("PUT", "/v1/users/"+targetID+"/follow", nil, tok)
			before = append(before, id)
		}
		late := make([]string, 20)
		for i := range late {
			_, late[i] = c.signup(map[string]any{"email": fmt.Sprintf("late%d@example.com", i)})
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for _, tok := range late {
				c.do("PUT", "/v1/users/"+targetID+"/follow", nil, tok)
			}
		})
		seen := map[string]int{}
		cursor := ""
		for {
			r := c.do("GET", "/v1/users/"+targetID+"/followers?limit=7"+cursor, nil, "")
			for _, it := range r.Body["items"].([]any) {
				seen[str(it.(map[string]any), "id")]++
			}
			next, _ := r.Body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = "&cursor=" + next
		}
		wg.Wait()
		for _, id := range before {
			if seen[id] != 1 {
				t.Fatalf("early follower %s seen %d times", id, seen[id])
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s seen %d times", id, n)
			}
		}
	})
}

// TestDeleteDuringStorm: users who follow and are followed are deleted
// while others follow and unfollow: every remaining counter is exact.
func TestDeleteDuringStorm(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		const n = 24
		ids := make([]string, n)
		tokens := make([]string, n)
		for i := range n {
			ids[i], tokens[i] = c.signup(map[string]any{"email": fmt.Sprintf("u%d@example.com", i)})
		}
		for i := range n { // a ring plus a hub: everyone follows 0 and their neighbour
			c.do("PUT", "/v1/users/"+ids[(i+1)%n]+"/follow", nil, tokens[i])
			if i != 0 {
				c.do("PUT", "/v1/users/"+ids[0]+"/follow", nil, tokens[i])
			}
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				switch {
				case i%4 == 1:
					if r := c.do("DELETE", "/v1/me", nil, tokens[i]); r.Status != 204 {
						t.Errorf("delete %d = %d", i, r.Status)
					}
				case i%4 == 2:
					c.do("DELETE", "/v1/users/"+ids[0]+"/follow", nil, tokens[i])
				default:
					c.do("PUT", "/v1/users/"+ids[(i+3)%n]+"/follow", nil, tokens[i])
				}
			})
		}
		wg.Wait()
		checkCounters(t, c.db)
	})
}

// userColumns lists every table and its columns that name a user.
var userColumns = map[string]struct {
	columns []string
	rule    string // what deleting the user does to its rows
}{
	"users":                    {[]string{"id"}, "deleted"},
	"sessions":                 {[]string{"user_id"}, "cascade"},
	"refresh_tokens":           {[]string{"user_id"}, "cascade"},
	"activity_logs":            {[]string{"user_id"}, "cascade (seed 001); the deletion's own entry stays, with no user_id"},
	"user_roles":               {[]string{"user_id"}, "cascade"},
	"dashboard_layouts":        {[]string{"user_id"}, "cascade"},
	"notifications":            {[]string{"user_id"}, "cascade"},
	"notification_counters":    {[]string{"user_id"}, "cascade"},
	"referrals":                {[]string{"user_id"}, "cascade"},
	"referred_users":           {[]string{"user_id", "referred_user_id"}, "cascade with the referrer; the referred user's id set null (the referral stays counted)"},
	"synchronizations":         {[]string{"user_id"}, "cascade"},
	"user_accounts":            {[]string{"user_id"}, "cascade"},
	"user_credentials":         {[]string{"user_id"}, "cascade (with the account too)"},
	"user_follows":             {[]string{"follower_id", "following_id"}, "cascade, on either side; others' counters decremented"},
	"user_follow_stats":        {[]string{"user_id"}, "cascade"},
	"accounts":                 {[]string{"user_id"}, "cascade (seed 001)"},
	"mfa_totp":                 {[]string{"user_id"}, "cascade"},
	"mfa_recovery_codes":       {[]string{"user_id"}, "cascade"},
	"mfa_challenges":           {[]string{"user_id"}, "cascade"},
	"authenticators":           {[]string{"user_id"}, "cascade (seed 001)"},
	"webauthn_challenges":      {[]string{"user_id"}, "cascade"},
	"api_keys":                 {[]string{"created_by"}, "set null: the key stays, made by no one"},
	"client_profiles":          {[]string{"user_id"}, "cascade (seed 001)"},
	"favorites":                {[]string{"user_id"}, "cascade (seed 001); the items' counters decremented"},
	"sponsor_ads":              {[]string{"user_id", "reviewed_by"}, "cascade for the sponsor (seed 001); set null for the reviewer: the ad and its decision stay"},
	"organizations":            {[]string{"created_by"}, "deleted where the user was the only member; set null elsewhere: the organisation outlives its creator"},
	"organization_members":     {[]string{"user_id"}, "cascade; an organisation they alone owned passes to its longest-standing admin, else member"},
	"organization_invitations": {[]string{"invited_by"}, "set null: the invitation stays valid"},
	"subscriptions":            {[]string{"user_id"}, "cascade (seed 001), and their history with them"},
	"payment_accounts":         {[]string{"user_id"}, "cascade (seed 001); the provider stays"},
	"collection_records":       {[]string{"user_id"}, "cascade, in every collection (an organisation's go with the organisation)"},
	"collection_changes":       {[]string{"user_id"}, "cascade: the stream's events of their records"},
	"twenty_crm_config":        {[]string{"updated_by"}, "set null: the connection stays, last changed by no one"},
	"survey_responses":         {[]string{"user_id"}, "cascade: their responses leave the surveys' results"},
	"mail_deliveries":          {[]string{"user_id"}, "cascade: their mail, sent or waiting, with its address; mail to an address they never had as a user (an invitation) stays until it expires"},
	"webhook_endpoints":        {[]string{"created_by"}, "set null: the endpoint stays, made by no one (no one is told when it is disabled)"},
	"oauth_clients":            {[]string{"created_by"}, "set null: the application stays registered, made by no one"},
	"oauth_consents":           {[]string{"user_id"}, "cascade: what they allowed applications"},
	"oauth_authorizations":     {[]string{"user_id"}, "cascade: their sign-in requests in flight and exchanged codes"},
	"oauth_grants":             {[]string{"user_id"}, "cascade: every application's tokens for them (oauth_tokens go with their grant)"},
}

// profileColumns lists the tables whose rows name a user's client profile
// (seed 001's votes.userid), not the user: they go with the profile.
var profileColumns = map[string]string{"votes": "userid", "comments": "user_id", "reports": "reported_by", "moderation_history": "user_id"}

// tablesWithoutUsers are the tables that name no user.
var tablesWithoutUsers = []string{"api_key_permissions", "featured_items", "goose_db_version", "hidden_items", "item_daily_stats", "item_rankings", "item_stats", "item_views", "jobs", "oauth_states", "password_reset_tokens", "permissions", "rate_limits",
	"role_permissions", "roles", "signing_keys", "verification_tokens", "view_keys", "webhook_deliveries",
	"payment_providers", "subscription_history", "billing_events", "plan_roles", "collections",
	"companies", "integration_mappings", "seed_status", "surveys",
	"newsletter_subscriptions", // the subscription of the user's verified email goes with them (TestNewsletterFollowsTheUser)
	"oauth_tokens",             // no user column: a token goes with its grant, which cascades from the user
	"webhook_events"}           // no user column: an event's data names its user, the user.deleted event too, until it is delivered (30 days)

// TestCascadeDeletion fills every user-owned table for one user, deletes
// them, and checks each table's rule. It fails when the schema has a table
// that neither list above names, so a new table must say what deletion does.
func TestCascadeDeletion(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{rpOrigin: rpOrigin})
		q := `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
		if c.db.Engine() == "postgres" {
			q = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
		}
		rows, err := c.db.SQL().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name string
			rows.Scan(&name)
			tables = append(tables, name)
		}
		rows.Close()
		sort.Strings(tables)
		for _, table := range tables {
			if _, ok := userColumns[table]; !ok && profileColumns[table] == "" && !slices.Contains(tablesWithoutUsers, table) {
				t.Errorf("table %s is in neither list: say what deleting a user does to it", table)
			}
		}

		adm := c.admin()
		friendID, friend := c.signup(map[string]any{"email": "friend@example.com"})
		referrer := str(c.do("GET", "/v1/me/referral", nil, friend).Body, "slug")
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "gone@example.com", "password": "correct horse battery", "referral_slug": referrer}, "")
		goneID, gone := str(r.Body["user"].(map[string]any), "id"), str(r.Body["session"].(map[string]any), "token")
		c.do("GET", "/v1/me/referral", nil, gone)
		c.do("PUT", "/v1/me/dashboard-layout", map[string]any{"desktop": []any{map[string]any{"w": 1}}}, gone)
		c.do("POST", "/v1/admin/notifications", map[string]any{"user_id": goneID, "type": "x", "title": "t"}, adm)
		c.do("POST", "/v1/me/synchronizations", map[string]any{"service": "S", "account_id": "1", "token": "t"}, gone)
		acct := str(c.do("POST", "/v1/me/accounts", map[string]any{"account_name": "a"}, gone).Body, "id")
		c.do("PUT", "/v1/me/accounts/"+acct+"/credentials/api_key", map[string]any{"secret": "s"}, gone)
		c.do("PUT", "/v1/users/"+friendID+"/follow", nil, gone)
		c.do("PUT", "/v1/users/"+goneID+"/follow", nil, friend)
		c.do("PUT", "/v1/items/x/vote", map[string]any{"value": -1}, gone)
		c.do("PUT", "/v1/items/x/favorite", nil, gone)
		ad := map[string]any{"item_slug": "x", "title": "t", "target_url": "https://example.com/", "starts_at": time.Now().UTC().Format(time.RFC3339),
			"ends_at": time.Now().UTC().Add(time.Hour).Format(time.RFC3339)}
		c.do("POST", "/v1/me/sponsor-ads", ad, gone)
		org := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Gone Co"}, gone).Body, "id")
		c.do("POST", "/v1/orgs/"+org+"/invitations", map[string]any{"email": "someone@example.com", "role": "member"}, gone)
		friendAd := str(c.do("POST", "/v1/me/sponsor-ads", ad, friend).Body, "id")
		c.do("POST", "/v1/admin/roles", map[string]any{"name": "AD_REVIEWER", "permissions": []string{"sponsor_ads:review"}}, adm)
		c.do("PUT", "/v1/admin/users/"+goneID+"/roles/AD_REVIEWER", nil, adm)
		c.do("PATCH", "/v1/admin/sponsor-ads/"+friendAd, map[string]any{"status": "approved"}, gone)
		c.do("PUT", "/v1/items/x/vote", map[string]any{"value": 1}, friend)
		said := str(c.do("POST", "/v1/items/x/comments", map[string]any{"body": "bye"}, gone).Body, "id")
		c.do("POST", "/v1/items/x/comments", map[string]any{"body": "see you", "parent_id": said}, friend)
		c.do("POST", "/v1/reports", map[string]any{"content_type": "user", "content_id": friendID, "reason": "spam"}, gone)
		c.do("POST", "/v1/admin/moderation-actions", map[string]any{"user_id": goneID, "action": "warn", "reason": "Be nice."}, adm)
		profileID := str(c.do("GET", "/v1/me/client-profile", nil, gone).Body, "id")
		registerPasskey(t, c, gone, goneID)
		c.do("POST", "/v1/auth/passkeys/register/begin", nil, gone) // a ceremony left in flight
		secret := str(c.do("POST", "/v1/me/mfa/totp", nil, gone).Body, "secret")
		code, _ := totp.GenerateCode(secret, time.Now())
		if r := c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code}, gone); r.Status != 200 {
			t.Fatalf("confirm totp = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "gone@example.com", "password": "correct horse battery"}, ""); r.code() != "mfa_required" {
			t.Fatalf("login with totp = %d %s", r.Status, r.Raw)
		}
		if _, err := c.db.SQL().Exec(`INSERT INTO accounts (provider, provider_account_id, user_id, created_at, updated_at) VALUES ('test', 'sub-1', $1, $2, $2)`,
			goneID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.SQL().Exec(`INSERT INTO api_keys (id, name, key_hash, created_by, created_at) VALUES ($1, 'app', $2, $3, $4)`,
			userd.NewID(time.Now()), []byte("a hash of thirty-two bytes......"), goneID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.SQL().Exec(`INSERT INTO twenty_crm_config (id, base_url, created_at, updated_at, updated_by) VALUES ($1, 'https://crm.example', $2, $2, $3)`,
			userd.NewID(time.Now()), time.Now().UTC(), goneID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.SQL().Exec(`INSERT INTO webhook_endpoints (id, url, secret, created_by, created_at, updated_at) VALUES ($1, 'https://app.example/hooks', $2, $3, $4, $4)`,
			userd.NewID(time.Now()), []byte("sealed"), goneID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		now, clientID, grantID := time.Now().UTC(), "udc_gone", userd.NewID(time.Now())
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO oauth_clients (client_id, name, redirect_uris, scopes, grant_types, public, created_by, created_at, updated_at) VALUES ($1, 'app', '[]', '[]', '[]', true, $2, $3, $3)`, []any{clientID, goneID, now}},
			{`INSERT INTO oauth_consents (user_id, client_id, scopes, created_at, updated_at) VALUES ($1, $2, '["openid"]', $3, $3)`, []any{goneID, clientID, now}},
			{`INSERT INTO oauth_authorizations (id, client_id, request, user_id, created_at, expires_at) VALUES ($1, $2, '{}', $3, $4, $4)`, []any{grantID, clientID, goneID, now}},
			{`INSERT INTO oauth_grants (id, client_id, user_id, authorization_id, scopes, auth_time, amr, created_at, expires_at) VALUES ($1, $2, $3, $1, '[]', $4, '[]', $4, $4)`, []any{grantID, clientID, goneID, now}},
			{`INSERT INTO oauth_tokens (id, grant_id, kind, created_at, expires_at) VALUES ($1, $2, 'access', $3, $3)`, []any{userd.NewID(now), grantID, now}},
		} {
			if _, err := c.db.SQL().Exec(q.sql, q.args...); err != nil {
				t.Fatal(q.sql, err)
			}
		}
		c.do("POST", "/v1/admin/subscriptions", map[string]any{"user_id": goneID, "plan": "comp", "ends_at": time.Now().UTC().Add(time.Hour).Format(time.RFC3339)}, adm)
		if _, err := c.db.SQL().Exec(`INSERT INTO payment_accounts (id, user_id, provider_id, customer_id, created_at) SELECT $1, $2, id, 'cus_gone', $3 FROM payment_providers WHERE name = 'stripe'`,
			userd.NewID(time.Now()), goneID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		tags := map[string]any{"owner": "user", "schema": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}}
		if r := c.do("PUT", "/v1/admin/collections/tags", tags, adm); r.Status != 200 {
			t.Fatalf("declare = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/me/collections/tags/records", map[string]any{"data": map[string]any{"name": "mine"}}, gone); r.Status != 201 {
			t.Fatalf("record = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/admin/surveys", aSurvey("farewell", "open", true), adm); r.Status != 201 {
			t.Fatalf("survey = %d %s", r.Status, r.Raw)
		}
		for _, tok := range []string{gone, friend} {
			if r := c.do("POST", "/v1/surveys/farewell/responses", answer(map[string]any{"color": "red", "stars": 5}), tok); r.Status != 201 {
				t.Fatalf("survey response = %d %s", r.Status, r.Raw)
			}
		}
		for table, spec := range userColumns {
			if n := count(t, c.db, table, spec.columns, goneID); n == 0 {
				t.Errorf("the test left %s empty for the user: it cannot check the rule", table)
			}
		}
		for table, column := range profileColumns {
			if n := count(t, c.db, table, []string{column}, profileID); n == 0 {
				t.Errorf("the test left %s empty for the user's client profile: it cannot check the rule", table)
			}
		}
		if r := c.do("DELETE", "/v1/me", nil, gone); r.Status != 204 {
			t.Fatalf("delete = %d", r.Status)
		}
		for table, spec := range userColumns {
			if n := count(t, c.db, table, spec.columns, goneID); n != 0 {
				t.Errorf("%s: %d rows still name the deleted user (rule: %s)", table, n, spec.rule)
			}
		}
		for table, column := range profileColumns {
			if n := count(t, c.db, table, []string{column}, profileID); n != 0 {
				t.Errorf("%s: %d rows still name the deleted user's client profile (rule: cascade with it)", table, n)
			}
		}
		if it := c.do("GET", "/v1/items/x", nil, "").Body; it["upvotes"] != float64(1) || it["downvotes"] != float64(0) || it["favorites_count"] != float64(0) ||
			it["comments_count"] != float64(1) {
			t.Fatalf("the item's counters after the deletion = %v", it)
		}
		var reviewed int
		c.db.SQL().QueryRow(`SELECT count(*) FROM sponsor_ads WHERE id = $1 AND status = 'approved' AND reviewed_by IS NULL AND reviewed_at IS NOT NULL`, friendAd).Scan(&reviewed)
		if reviewed != 1 {
			t.Fatalf("the ad the deleted user reviewed: %d kept approved with reviewed_by null", reviewed)
		}
		if r := c.do("GET", "/v1/admin/surveys/farewell/results", nil, adm); r.Body["responses_count"] != float64(1) {
			t.Fatalf("the survey's results after the deletion = %s", r.Raw)
		}
		var history, providers int
		c.db.SQL().QueryRow(`SELECT count(*) FROM subscription_history`).Scan(&history)
		c.db.SQL().QueryRow(`SELECT count(*) FROM payment_providers WHERE name IN ('stripe', 'manual')`).Scan(&providers)
		if history != 0 || providers != 2 {
			t.Fatalf("after the deletion: %d lines of subscription history (want 0), %d of the 2 payment providers", history, providers)
		}
		var keys, kept, crmConfig int
		c.db.SQL().QueryRow(`SELECT count(*) FROM api_keys WHERE created_by IS NULL`).Scan(&keys)
		c.db.SQL().QueryRow(`SELECT count(*) FROM twenty_crm_config WHERE updated_by IS NULL`).Scan(&crmConfig)
		if crmConfig != 1 {
			t.Fatalf("the Twenty connection the deleted user changed: %d left without its changer", crmConfig)
		}
		if n := dbtest.Count(t, c.db, `SELECT count(*) FROM oauth_clients WHERE created_by IS NULL`); n != 1 {
			t.Fatalf("the OAuth client the deleted user made: %d left without a maker", n)
		}
		if n := dbtest.Count(t, c.db, `SELECT count(*) FROM oauth_tokens`); n != 0 {
			t.Fatalf("%d OAuth tokens outlived their user's grant", n)
		}
		if n := dbtest.Count(t, c.db, `SELECT count(*) FROM webhook_endpoints WHERE created_by IS NULL`); n != 1 {
			t.Fatalf("the webhook endpoint the deleted user made: %d left without a maker", n)
		}
		c.db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'user.deleted' AND target_id = $1 AND user_id IS NULL`, goneID).Scan(&kept)
		if keys != 1 {
			t.Fatalf("the key the deleted user made: %d left without a maker", keys)
		}
		if kept != 1 {
			t.Fatalf("the deletion's own audit entry: %d", kept)
		}
		if p := c.do("GET", "/v1/users/"+friendID, nil, ""); p.Body["followers_count"] != float64(0) || p.Body["followings_count"] != float64(0) {
			t.Fatalf("the friend's counters after the deletion = %s", p.Raw)
		}
		// The referral stays counted (seed 000 tracks every successful
		// referral), without the user.
		if r := c.do("GET", "/v1/me/referral", nil, friend); r.Body["referred_count"] != float64(1) {
			t.Fatalf("the referrer's count after the deletion = %v", r.Body["referred_count"])
		}
		var named int
		c.db.SQL().QueryRow(`SELECT count(*) FROM referred_users WHERE referred_user_id IS NULL`).Scan(&named)
		if named != 1 {
			t.Fatalf("%d referral rows nulled; want the deleted user's", named)
		}
		checkCounters(t, c.db)
	})
}

func count(t *testing.T, db *sqldb.DB, table string, columns []string, id string) int {
	var conds []string
	for _, col := range columns {
		conds = append(conds, col+" = $1")
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM `+table+` WHERE `+strings.Join(conds, " OR "), id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestExport: the export holds the user's data in every section, and no
// secret or token.
func TestExport(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		friendID, friend := c.signup(map[string]any{"email": "friend@example.com", "username": "friend"})
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		c.do("PUT", "/v1/users/"+friendID+"/follow", nil, tok)
		c.do("PUT", "/v1/users/"+str(c.do("GET", "/v1/me", nil, tok).Body, "id")+"/follow", nil, friend)
		c.do("POST", "/v1/me/synchronizations", map[string]any{"service": "S", "account_id": "1", "token": "tok-never-shown"}, tok)
		acct := str(c.do("POST", "/v1/me/accounts", map[string]any{"account_name": "a"}, tok).Body, "id")
		c.do("PUT", "/v1/me/accounts/"+acct+"/credentials/api_key", map[string]any{"secret": "secret-never-shown"}, tok)
		c.do("PUT", "/v1/items/liked/vote", map[string]any{"value": -1}, tok)
		c.do("PUT", "/v1/items/liked/favorite", nil, tok)
		c.do("PUT", "/v1/items/friends-only/vote", map[string]any{"value": 1}, friend)
		c.do("POST", "/v1/admin/surveys", aSurvey("exported", "open", false), c.admin())
		c.do("POST", "/v1/surveys/exported/responses", answer(map[string]any{"color": "green", "stars": 2}), tok)
		c.do("POST", "/v1/surveys/exported/responses", answer(map[string]any{"color": "red", "stars": 5}), friend)
		r := c.do("GET", "/v1/me/export", nil, tok)
		var doc map[string]any
		if err := json.Unmarshal(r.Raw, &doc); err != nil || r.Status != 200 {
			t.Fatalf("export = %d, %v\n%.500s", r.Status, err, r.Raw)
		}
		for _, key := range []string{"user", "roles", "sessions", "dashboard_layout", "notifications", "referral", "following",
			"followers", "synchronizations", "credential_accounts", "client_profile", "votes", "favorites", "activity"} {
			if _, ok := doc[key]; !ok {
				t.Errorf("the export lacks %s", key)
			}
		}
		if len(doc["following"].([]any)) != 1 || len(doc["followers"].([]any)) != 1 || len(doc["sessions"].([]any)) != 1 ||
			len(doc["credential_accounts"].([]any)) != 1 || len(doc["activity"].([]any)) < 2 {
			t.Fatalf("export sections: %.2000s", r.Raw)
		}
		votes, favs := doc["votes"].([]any), doc["favorites"].([]any)
		if len(votes) != 1 || votes[0].(map[string]any)["item"] != "liked" || votes[0].(map[string]any)["value"] != float64(-1) ||
			len(favs) != 1 || favs[0].(map[string]any)["item"] != "liked" || doc["client_profile"].(map[string]any)["status"] != "active" {
			t.Fatalf("export engagement: votes %v, favorites %v, client profile %v", votes, favs, doc["client_profile"])
		}
		responses := doc["survey_responses"].([]any)
		if len(responses) != 1 || responses[0].(map[string]any)["survey"] != "exported" ||
			!cmp.Equal(responses[0].(map[string]any)["answers"], map[string]any{"color": "green", "stars": 2.0}) {
			t.Fatalf("export survey responses: %v", responses)
		}
		for _, secret := range []string{"tok-never-shown", "secret-never-shown", "uds_", "udr_", "password_hash", "$argon2"} {
			if strings.Contains(string(r.Raw), secret) {
				t.Errorf("the export holds %q", secret)
			}
		}
	})
}

// TestAuthUserIDHidden: with --public-auth-user-id=false, profiles and
// follow lists show no auth_user_id, yet the user is still found by it.
func TestAuthUserIDHidden(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{hideAuth: true})
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		ctx := sqldb.System(context.Background())
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := account.Insert(ctx, tx, account.New{AuthUserID: "cognito-sub-1", Identity: account.Identity{Username: "ext"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := c.do("PUT", "/v1/users/cognito-sub-1/follow", nil, ann); r.Status != 204 {
			t.Fatalf("follow by auth_user_id = %d %s", r.Status, r.Raw)
		}
		p := c.do("GET", "/v1/users/cognito-sub-1", nil, "")
		if v, ok := p.Body["auth_user_id"]; p.Status != 200 || !ok || v != nil {
			t.Fatalf("profile = %d %s", p.Status, p.Raw)
		}
		r := c.do("GET", "/v1/users/"+annID+"/following", nil, "")
		items, _ := r.Body["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["auth_user_id"] != nil || strings.Contains(string(r.Raw), "cognito-sub-1") {
			t.Fatalf("following = %s", r.Raw)
		}
	})
}
