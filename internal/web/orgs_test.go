package web_test

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// signupTokens signs a user up with a verified email and returns their id,
// session token and refresh token.
func (c *client) signupTokens(email string) (id, session, refresh string) {
	c.t.Helper()
	r := c.do("POST", "/v1/auth/signup", map[string]any{"email": email, "password": "correct horse battery"}, "")
	if r.Status != 201 {
		c.t.Fatalf("signup %s: %d %s", email, r.Status, r.Raw)
	}
	id = str(r.Body["user"].(map[string]any), "id")
	if _, err := c.db.SQL().Exec(`UPDATE users SET email_verified_at = $1 WHERE id = $2`, time.Now().UTC(), id); err != nil {
		c.t.Fatal(err)
	}
	return id, str(r.Body["session"].(map[string]any), "token"), str(r.Body, "refresh_token")
}

// orgClaims refreshes and returns the new access token's organisation
// claims (absent ones empty) and the next refresh token.
func (c *client) orgClaims(t *testing.T, refresh string) (claims [3]string, next string) {
	t.Helper()
	r := c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": refresh}, "")
	if r.Status != 200 {
		t.Fatalf("refresh = %d %s", r.Status, r.Raw)
	}
	all := verifiedClaims(t, c.do("GET", "/.well-known/jwks.json", nil, "").Raw, str(r.Body, "access_token"))
	for i, name := range []string{"org_id", "org_role", "org_slug"} {
		if raw, ok := all[name]; ok {
			if err := json.Unmarshal(raw, &claims[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	return claims, str(r.Body, "refresh_token")
}

// TestOrgsContract: organisations over HTTP on both engines: creation, the
// roles' limits, an invitation mailed, accepted once and only by its email,
// a non-member's 404 on every route, the last owner's 409, and the export.
func TestOrgsContract(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		annID, ann, _ := c.signupTokens("ann@example.com")
		bobID, bob, _ := c.signupTokens("bob@example.com")
		_, eve, _ := c.signupTokens("eve@example.com")
		for range 3 { // the sign-ups' verification mail
			mb.next()
		}
		r := c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Acme Inc", "metadata": map[string]any{"plan": "pro"}}, ann)
		if r.Status != 201 || r.Body["slug"] != "acme-inc" || r.Body["role"] != "owner" || r.Body["created_by"] != annID || r.Body["parent_id"] != nil ||
			r.Body["metadata"].(map[string]any)["plan"] != "pro" {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		org := str(r.Body, "id")
		inv := c.do("POST", "/v1/orgs/"+org+"/invitations", map[string]any{"email": "bob@example.com", "role": "member"}, ann)
		if inv.Status != 201 || inv.Body["email"] != "bob@example.com" || inv.Body["accepted_at"] != nil || inv.Body["invited_by"] != annID {
			t.Fatalf("invite = %d %s", inv.Status, inv.Raw)
		}
		base, tok := link(t, mb.next())
		if base != c.url+"/accept-invitation" {
			t.Fatalf("link base %q; want %s/accept-invitation", base, c.url)
		}
		if r := c.do("POST", "/v1/invitations/accept", map[string]any{"token": tok}, eve); r.Status != 403 || r.code() != "invitation_email_mismatch" {
			t.Fatalf("eve accepts bob's invitation = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/invitations/accept", map[string]any{"token": tok}, bob); r.Status != 200 || r.Body["id"] != org || r.Body["role"] != "member" {
			t.Fatalf("accept = %d %s", r.Status, r.Raw)
		}
		team := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "team", "name": "Core", "parent_id": org}, ann).Body, "id")
		inv2 := str(c.do("POST", "/v1/orgs/"+org+"/invitations", map[string]any{"email": "cat@example.com", "role": "admin"}, ann).Body, "id")
		mb.next()

		const none = "00000000-0000-7000-8000-000000000000"
		orgPath := "/v1/orgs/" + org
		var tests []scenario
		role, email := map[string]any{"role": "member"}, map[string]any{"email": "x@example.com", "role": "member"}
		for _, rt := range []struct {
			method, path string
			body         any
		}{
			{"GET", orgPath, nil}, {"PATCH", orgPath, map[string]any{"name": "X"}}, {"DELETE", orgPath, nil}, {"GET", orgPath + "/members", nil},
			{"PATCH", orgPath + "/members/" + bobID, role}, {"DELETE", orgPath + "/members/" + bobID, nil},
			{"GET", orgPath + "/invitations", nil}, {"POST", orgPath + "/invitations", email}, {"DELETE", orgPath + "/invitations/" + inv2, nil},
			{"POST", orgPath + "/transfer", map[string]any{"user_id": bobID}}, {"GET", "/v1/orgs/" + team, nil},
		} {
			name := "stranger " + rt.method + " " + cmp.Or(strings.TrimPrefix(rt.path, orgPath), "/")
			tests = append(tests, scenario{name, rt.method, rt.path, rt.body, eve, 404, "organization_not_found"})
		}
		tests = append(tests, []scenario{
			{"stranger activates", "PUT", "/v1/me/active-organization", map[string]any{"organization_id": org}, eve, 404, "organization_not_found"},
			{"anonymous", "GET", "/v1/orgs", nil, "", 401, "unauthenticated"},
			{"bad kind", "POST", "/v1/orgs", map[string]any{"kind": "club", "name": "Club"}, ann, 422, "validation_failed"},
			{"slug taken", "POST", "/v1/orgs", map[string]any{"kind": "team", "name": "Other", "slug": "acme-inc"}, eve, 409, "slug_taken"},
			{"team of a stranger's business", "POST", "/v1/orgs", map[string]any{"kind": "team", "name": "Mine", "parent_id": org}, eve, 404, "organization_not_found"},
			{"member renames", "PATCH", orgPath, map[string]any{"name": "Bob Co"}, bob, 403, "organization_role_required"},
			{"member deletes", "DELETE", orgPath, nil, bob, 403, "organization_role_required"},
			{"member lists invitations", "GET", orgPath + "/invitations", nil, bob, 403, "organization_role_required"},
			{"member invites", "POST", orgPath + "/invitations", map[string]any{"email": "x@example.com", "role": "member"}, bob, 403, "organization_role_required"},
			{"member transfers", "POST", orgPath + "/transfer", map[string]any{"user_id": bobID}, bob, 403, "organization_role_required"},
			{"bad role", "PATCH", orgPath + "/members/" + bobID, map[string]any{"role": "boss"}, ann, 422, "validation_failed"},
			{"bad email", "POST", orgPath + "/invitations", map[string]any{"email": "nope", "role": "member"}, ann, 422, "validation_failed"},
			{"no such member", "DELETE", orgPath + "/members/" + none, nil, ann, 404, "member_not_found"},
			{"no such invitation", "DELETE", orgPath + "/invitations/" + none, nil, ann, 404, "invitation_not_found"},
			{"used token", "POST", "/v1/invitations/accept", map[string]any{"token": tok}, bob, 404, "invalid_invitation"},
			{"last owner leaves", "DELETE", orgPath + "/members/" + annID, nil, ann, 409, "last_owner"},
			{"last owner steps down", "PATCH", orgPath + "/members/" + annID, map[string]any{"role": "admin"}, ann, 409, "last_owner"},
			{"rename", "PATCH", orgPath, map[string]any{"name": "Acme"}, ann, 200, ""},
			{"members", "GET", orgPath + "/members", nil, bob, 200, ""},
			{"revoke", "DELETE", orgPath + "/invitations/" + inv2, nil, ann, 204, ""},
		}...)
		runScenarios(t, c, tests)

		if r := c.do("GET", orgPath+"/members?limit=1", nil, bob); len(r.Body["members"].([]any)) != 1 || r.Body["next_cursor"] == nil {
			t.Fatalf("members page = %s", r.Raw)
		}
		list := c.do("GET", "/v1/orgs", nil, ann).Body["organizations"].([]any)
		if len(list) != 2 || list[0].(map[string]any)["id"] != team || list[0].(map[string]any)["parent_id"] != org {
			t.Fatalf("ann's organisations = %v", list)
		}
		if r := c.do("POST", orgPath+"/transfer", map[string]any{"user_id": bobID}, ann); r.Status != 200 || r.Body["role"] != "owner" {
			t.Fatalf("transfer = %d %s", r.Status, r.Raw)
		}
		export := c.do("GET", "/v1/me/export", nil, bob)
		orgs, _ := export.Body["organizations"].([]any)
		if len(orgs) != 1 || orgs[0].(map[string]any)["slug"] != "acme-inc" || orgs[0].(map[string]any)["role"] != "owner" {
			t.Fatalf("export's organisations = %v", export.Body["organizations"])
		}
		if r := c.do("DELETE", "/v1/orgs/"+org, nil, bob); r.Status != 204 {
			t.Fatalf("delete = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/orgs/"+team, nil, ann); r.Status != 404 {
			t.Fatalf("the team after its business's deletion = %d", r.Status)
		}
	})
}

// TestOrgActiveOrganization: the active organisation's claims come with
// the next refreshed access token; once the member is removed, the next
// one has no org_id and their requests for the organisation answer 404.
func TestOrgActiveOrganization(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		_, ann, _ := c.signupTokens("ann@example.com")
		bobID, bob, refresh := c.signupTokens("bob@example.com")
		org := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "team", "name": "Blue Team"}, ann).Body, "id")
		if _, err := c.db.SQL().Exec(`INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES ($1, $2, 'admin', $3)`,
			org, bobID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		r := c.do("PUT", "/v1/me/active-organization", map[string]any{"organization_id": org}, bob)
		if r.Status != 200 || r.Body["org_id"] != org || r.Body["org_role"] != "admin" || r.Body["org_slug"] != "blue-team" {
			t.Fatalf("activate = %d %s", r.Status, r.Raw)
		}
		got, refresh := c.orgClaims(t, refresh)
		if got != [3]string{org, "admin", "blue-team"} {
			t.Fatalf("claims after activating = %v", got)
		}
		if r := c.do("PUT", "/v1/me/active-organization", map[string]any{"organization_id": nil}, bob); r.Status != 200 || r.Body["org_id"] != nil {
			t.Fatalf("deactivate = %d %s", r.Status, r.Raw)
		}
		if got, refresh = c.orgClaims(t, refresh); got != [3]string{} {
			t.Fatalf("claims with none active = %v", got)
		}
		c.do("PUT", "/v1/me/active-organization", map[string]any{"organization_id": org}, bob)
		if r := c.do("DELETE", "/v1/orgs/"+org+"/members/"+bobID, nil, ann); r.Status != 204 {
			t.Fatalf("remove = %d %s", r.Status, r.Raw)
		}
		if got, _ = c.orgClaims(t, refresh); got != [3]string{} {
			t.Fatalf("claims after the removal = %v; want none", got)
		}
		if r := c.do("GET", "/v1/orgs/"+org, nil, bob); r.Status != 404 || r.code() != "organization_not_found" {
			t.Fatalf("the removed member reads the organisation: %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/orgs", nil, bob); len(r.Body["organizations"].([]any)) != 0 {
			t.Fatalf("the removed member's list = %s", r.Raw)
		}
	})
}

// TestOrgLimit: --max-organizations-per-user bounds creations.
func TestOrgLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{maxOrgs: 1})
		_, ann, _ := c.signupTokens("ann@example.com")
		runScenarios(t, c, []scenario{
			{"first", "POST", "/v1/orgs", map[string]any{"kind": "business", "name": "One Co"}, ann, 201, ""},
			{"second", "POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Two Co"}, ann, 409, "organization_limit"},
		})
	})
}

// FuzzOrgBody: whatever body POST /v1/orgs gets, the answer is 201 with one
// organisation more, or a problem document and no change; never a 500.
func FuzzOrgBody(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"business","name":"Acme Inc"}`,
		`{"kind":"team","name":"T","slug":"t-t","parent_id":"00000000-0000-7000-8000-000000000000"}`,
		`{"kind":"team","name":"Ünïcode ✓","metadata":{"a":[1,{"b":null}]}}`,
		`{"kind":"business","name":"\u0000"}`, `{"kind":"business","name":"x","slug":"--"}`,
		`{"kind":1}`, `{`, `null`, `[]`, ``,
	} {
		f.Add(seed)
	}
	db := dbtest.Open(f, "sqlite")
	h, _ := newHandler(f, db, "http://userd.test", options{ctx: f.Context(), maxOrgs: 1 << 20})
	serve := func(method, path, body, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	var signup struct{ Session struct{ Token string } }
	if err := json.Unmarshal(serve("POST", "/v1/auth/signup", `{"email":"fuzz@example.com","password":"correct horse battery"}`, "").Body.Bytes(), &signup); err != nil {
		f.Fatal(err)
	}
	orgs := func() (n int) {
		db.SQL().QueryRow(`SELECT count(*) FROM organizations`).Scan(&n)
		return n
	}
	f.Fuzz(func(t *testing.T, body string) {
		before := orgs()
		rec := serve("POST", "/v1/orgs", body, signup.Session.Token)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer %d is not a JSON object: %q", rec.Code, rec.Body.String())
		}
		switch after := orgs(); {
		case rec.Code >= 500:
			t.Fatalf("body %q: %d %s", body, rec.Code, rec.Body.String())
		case rec.Code == 201:
			if after != before+1 {
				t.Fatalf("201 but organisations went from %d to %d", before, after)
			}
		default:
			if after != before || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d (%s) but organisations went from %d to %d", rec.Code, rec.Body.String(), before, after)
			}
		}
	})
}

// TestAcceptInvitationPage: the mailed link's page accepts the invitation
// for the invited user signed in with the session cookie, once, when they
// hold account:write; anyone else is asked to sign in.
func TestAcceptInvitationPage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		_, ann, _ := c.signupTokens("ann@example.com")
		bobID, bob, _ := c.signupTokens("bob@example.com")
		mb.next()
		mb.next()
		org := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "team", "name": "Acme"}, ann).Body, "id")
		c.do("POST", "/v1/orgs/"+org+"/invitations", map[string]any{"email": "bob@example.com", "role": "admin"}, ann)
		_, tok := link(t, mb.next())
		res, err := http.Get(c.url + "/accept-invitation?token=" + url.QueryEscape(tok))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(page), `value="`+tok+`"`) {
			t.Fatalf("page = %d\n%s", res.StatusCode, page)
		}
		form := url.Values{"token": {tok}}
		if status, body := c.postForm("/accept-invitation", form, "same-origin"); status != 401 || !strings.Contains(body, "Sign in") {
			t.Fatalf("signed out = %d\n%s", status, body)
		}
		if status, _ := c.postForm("/accept-invitation", form, "cross-site", "Cookie", "userd_session="+bob); status != 403 {
			t.Fatalf("cross-site = %d", status)
		}
		if r := c.do("GET", "/v1/orgs/"+org, nil, bob); r.Status != 404 {
			t.Fatalf("bob before = %d", r.Status)
		}
		if status, body := c.postForm("/accept-invitation", form, "same-origin", "Cookie", "userd_session="+bob); status != 200 || !strings.Contains(body, "member of Acme") {
			t.Fatalf("accept = %d\n%s", status, body)
		}
		if r := c.do("GET", "/v1/orgs/"+org+"/members", nil, bob); r.Status != 200 || !strings.Contains(string(r.Raw), bobID) || !strings.Contains(string(r.Raw), `"admin"`) {
			t.Fatalf("members = %d %s", r.Status, r.Raw)
		}
		if status, _ := c.postForm("/accept-invitation", form, "same-origin", "Cookie", "userd_session="+bob); status != 404 {
			t.Fatalf("twice = %d", status)
		}

		// Without account:write (here without any role), as on the API's
		// route: 403.
		catID, cat, _ := c.signupTokens("cat@example.com")
		mb.next()
		if _, err := db.SQL().Exec(`DELETE FROM user_roles WHERE user_id = $1`, catID); err != nil {
			t.Fatal(err)
		}
		c.do("POST", "/v1/orgs/"+org+"/invitations", map[string]any{"email": "cat@example.com", "role": "member"}, ann)
		_, catTok := link(t, mb.next())
		if status, body := c.postForm("/accept-invitation", url.Values{"token": {catTok}}, "same-origin", "Cookie", "userd_session="+cat); status != 403 || !strings.Contains(body, "account:write") {
			t.Fatalf("without account:write = %d\n%s", status, body)
		}
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM organization_members WHERE user_id = $1`, catID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("cat belongs to %d organisations (%v); want 0", n, err)
		}
	})
}
