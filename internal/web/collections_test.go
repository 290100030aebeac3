package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestCollectionsContract: the collections routes as a table of requests,
// over the trading journal of examples/ and an organisation's collection.
func TestCollectionsContract(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{})
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		_, cat := c.signup(map[string]any{"email": "cat@example.com"})
		raw, err := os.ReadFile("../../examples/collections/trading-journal.json")
		if err != nil {
			t.Fatal(err)
		}
		var file struct{ Collections map[string]map[string]any }
		if err := json.Unmarshal(raw, &file); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"account_groups", "trading_accounts", "orders", "tags", "mood_entries", "posts"} {
			if r := c.do("PUT", "/v1/admin/collections/"+name, file.Collections[name], adm); r.Status != 200 || r.Body["created"] != true {
				t.Fatalf("declare %s = %d %s", name, r.Status, r.Raw)
			}
		}
		if r := c.do("PUT", "/v1/admin/collections/tags", file.Collections["tags"], adm); r.Status != 200 || r.Body["changed"] != false {
			t.Fatalf("declare again = %d %s", r.Status, r.Raw)
		}
		org := str(c.do("POST", "/v1/orgs", map[string]any{"kind": "business", "name": "Desk"}, ann).Body, "id")
		now := time.Now().UTC()
		if _, err := db.SQL().Exec(`INSERT INTO organization_members (organization_id, user_id, role, joined_at) VALUES ($1, $2, 'member', $3)`, org, bobID, now); err != nil {
			t.Fatal(err)
		}
		playbooks := map[string]any{"owner": "organization", "schema": map[string]any{"type": "object", "properties": map[string]any{"title": map[string]any{"type": "string"}}, "required": []string{"title"}},
			"unique": [][]string{{"title"}}}
		if r := c.do("PUT", "/v1/admin/collections/playbooks", playbooks, adm); r.Status != 200 {
			t.Fatalf("declare playbooks = %d %s", r.Status, r.Raw)
		}

		acct := c.do("POST", "/v1/me/collections/trading_accounts/records", map[string]any{"data": map[string]any{"number": "7", "broker": "IC", "currency": "USD"}}, ann)
		if acct.Status != 201 || acct.Header.Get("ETag") != `"1"` {
			t.Fatalf("create = %d %s", acct.Status, acct.Raw)
		}
		acctID := str(acct.Body, "id")
		order := func(at string) map[string]any {
			return map[string]any{"data": map[string]any{"account_id": acctID, "symbol": "EURUSD", "side": "buy", "quantity": 1, "price": 1.1, "executed_at": at}}
		}
		for _, at := range []string{"2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z", "2026-06-01T12:00:00Z"} {
			if r := c.do("POST", "/v1/me/collections/orders/records", order(at), ann); r.Status != 201 {
				t.Fatalf("order = %d %s", r.Status, r.Raw)
			}
		}
		me := "/v1/me/collections/"
		for _, tc := range []struct {
			name, method, path string
			body               any
			token              string
			headers            []string
			wantStatus         int
			wantCode           string
		}{
			{"declare without the permission", "PUT", "/v1/admin/collections/x", file.Collections["tags"], ann, nil, 403, "forbidden"},
			{"declare a userd table", "PUT", "/v1/admin/collections/users", file.Collections["tags"], adm, nil, 422, "validation_failed"},
			{"declare a bad schema", "PUT", "/v1/admin/collections/x", map[string]any{"owner": "user", "schema": map[string]any{"type": "array"}}, adm, nil, 422, "validation_failed"},
			{"unknown collection", "GET", me + "nope/records", nil, ann, nil, 404, "collection_not_found"},
			{"an organisation's collection under /me", "GET", me + "playbooks/records", nil, ann, nil, 404, "collection_not_found"},
			{"invalid data", "POST", me + "tags/records", map[string]any{"data": map[string]any{"color": "red"}}, ann, nil, 422, "validation_failed"},
			{"data not an object", "POST", me + "tags/records", map[string]any{"data": []int{1}}, ann, nil, 422, "validation_failed"},
			{"duplicate key", "POST", me + "trading_accounts/records", map[string]any{"data": map[string]any{"number": "7", "broker": "IC", "currency": "EUR"}}, ann, nil, 409, "unique_violation"},
			{"another user's key", "POST", me + "trading_accounts/records", map[string]any{"data": map[string]any{"number": "7", "broker": "IC", "currency": "EUR"}}, bob, nil, 201, ""},
			{"another user's record", "GET", me + "trading_accounts/records/" + acctID, nil, bob, nil, 404, "record_not_found"},
			{"stale If-Match", "PUT", me + "trading_accounts/records/" + acctID, map[string]any{"data": map[string]any{"number": "7", "broker": "IC", "currency": "GBP"}}, ann, []string{"If-Match", `"9"`}, 412, "version_mismatch"},
			{"replace", "PUT", me + "trading_accounts/records/" + acctID, map[string]any{"data": map[string]any{"number": "7", "broker": "IC", "currency": "GBP"}}, ann, []string{"If-Match", `"1"`}, 200, ""},
			{"merge patch", "PATCH", me + "trading_accounts/records/" + acctID, `{"prop_firm":"FTMO"}`, ann, []string{"Content-Type", "application/merge-patch+json", "If-Match", `"2"`}, 200, ""},
			{"filter on an unindexed field", "GET", me + "orders/records?where=symbol:eq:EURUSD", nil, ann, nil, 422, "validation_failed"},
			{"member reads", "GET", "/v1/orgs/" + org + "/collections/playbooks/records", nil, bob, nil, 200, ""},
			{"member writes", "POST", "/v1/orgs/" + org + "/collections/playbooks/records", map[string]any{"data": map[string]any{"title": "Breakout"}}, bob, nil, 403, "organization_role_required"},
			{"non-member reads", "GET", "/v1/orgs/" + org + "/collections/playbooks/records", nil, cat, nil, 404, "organization_not_found"},
			{"owner writes", "POST", "/v1/orgs/" + org + "/collections/playbooks/records", map[string]any{"data": map[string]any{"title": "Breakout"}}, ann, nil, 201, ""},
			{"owner writes the same key", "POST", "/v1/orgs/" + org + "/collections/playbooks/records", map[string]any{"data": map[string]any{"title": "Breakout"}}, ann, nil, 409, "unique_violation"},
			{"an organisation's records, for an administrator", "GET", "/v1/admin/collections/playbooks/records?owner=" + org, nil, adm, nil, 200, ""},
			{"a user's records, without the permission", "GET", "/v1/admin/collections/orders/records?owner=" + annID, nil, bob, nil, 403, "forbidden"},
			{"the records of no owner", "GET", "/v1/admin/collections/orders/records?owner=nobody", nil, adm, nil, 404, "owner_not_found"},
			{"records without an owner", "GET", "/v1/admin/collections/orders/records", nil, adm, nil, 422, "validation_failed"},
			{"delete a collection with records", "DELETE", "/v1/admin/collections/playbooks", nil, adm, nil, 409, "collection_not_empty"},
			{"delete a collection that others point at", "DELETE", "/v1/admin/collections/trading_accounts?force=true", nil, adm, nil, 409, "collection_referenced"},
			{"delete by force", "DELETE", "/v1/admin/collections/playbooks?force=true", nil, adm, nil, 204, ""},
		} {
			r := c.do(tc.method, tc.path, tc.body, tc.token, tc.headers...)
			if r.Status != tc.wantStatus || r.code() != tc.wantCode {
				t.Errorf("%s: %d %s, want %d %s", tc.name, r.Status, r.Raw, tc.wantStatus, tc.wantCode)
			}
		}
		strict := file.Collections["trading_accounts"]
		strict["schema"].(map[string]any)["required"] = []string{"number", "broker", "currency", "prop_firm", "starting_balance"}
		if r := c.do("PUT", "/v1/admin/collections/trading_accounts", strict, adm); r.Status != 409 || r.code() != "records_invalid" || r.Body["count"] != float64(2) {
			t.Fatalf("a required field that records lack = %d %s", r.Status, r.Raw)
		}
		got := c.do("GET", me+"trading_accounts/records/"+acctID, nil, ann)
		if data, _ := got.Body["data"].(map[string]any); got.Header.Get("ETag") != `"3"` || data["prop_firm"] != "FTMO" || data["currency"] != "GBP" {
			t.Fatalf("after the writes: %s %s", got.Header.Get("ETag"), got.Raw)
		}
		page := c.do("GET", me+"orders/records?where=account_id:eq:"+acctID+"&where=executed_at:gte:2026-06-01T11:00:00Z&sort=-executed_at&limit=1", nil, ann)
		items, _ := page.Body["items"].([]any)
		if page.Status != 200 || len(items) != 1 || page.Body["next_cursor"] == nil {
			t.Fatalf("page = %d %s", page.Status, page.Raw)
		}
		next := c.do("GET", me+"orders/records?where=account_id:eq:"+acctID+"&where=executed_at:gte:2026-06-01T11:00:00Z&sort=-executed_at&limit=1&cursor="+str(page.Body, "next_cursor"), nil, ann)
		items2, _ := next.Body["items"].([]any)
		if len(items2) != 1 || items2[0].(map[string]any)["data"].(map[string]any)["executed_at"] != "2026-06-01T11:00:00Z" || next.Body["next_cursor"] != nil {
			t.Fatalf("second page = %s", next.Raw)
		}
		// An administrator reads ann's orders as she does, a page at a time.
		admin := "/v1/admin/collections/orders/records?owner=" + annID + "&sort=-executed_at&limit=2"
		first := c.do("GET", admin, nil, adm)
		if items, _ := first.Body["items"].([]any); first.Status != 200 || len(items) != 2 || first.Body["next_cursor"] == nil {
			t.Fatalf("an administrator's page = %d %s", first.Status, first.Raw)
		}
		rest := c.do("GET", admin+"&cursor="+str(first.Body, "next_cursor"), nil, adm)
		if items, _ := rest.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["data"].(map[string]any)["executed_at"] != "2026-06-01T10:00:00Z" {
			t.Fatalf("an administrator's second page = %s", rest.Raw)
		}
		if r := c.do("DELETE", me+"trading_accounts/records/"+acctID, nil, ann); r.Status != 204 {
			t.Fatalf("delete = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", me+"orders/records", nil, ann); len(r.Body["items"].([]any)) != 0 {
			t.Fatalf("orders after their account went = %s", r.Raw)
		}
	})
}

// recordStream opens the collections' stream with tok, after last when
// it is not empty, or fails.
func recordStream(t *testing.T, url, tok, last string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/v1/me/collections/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("stream = %v %v", res, err)
	}
	return &stream{events: readEvents(res.Body), close: cancel}
}

// wantRecord fails unless the stream's next event is of the given type,
// for the record id at version, with data holding want ("" for null).
func (s *stream) wantRecord(t *testing.T, typ, id string, version int, want string) string {
	t.Helper()
	ev := nextEvent(t, s.events)
	var got struct {
		Collection, ID string
		Version        int
		Data           json.RawMessage
	}
	json.Unmarshal([]byte(ev.data), &got)
	data := strings.ReplaceAll(string(got.Data), " ", "")
	if ev.event != typ || got.Collection != "tags" || got.ID != id || got.Version != version || (want == "" && data != "null") || !strings.Contains(data, want) {
		t.Fatalf("event = %+v; want %s of %s v%d with %s", ev, typ, id, version, want)
	}
	return ev.id
}

// TestCollectionStream: a user's stream gets each creation, change and
// deletion of their records, from another process too on PostgreSQL, and
// never another user's; Last-Event-ID resumes after an event.
func TestCollectionStream(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) { collectionStream(t, engine) })
	}
}

// collectionStream is TestCollectionStream on one engine.
func collectionStream(t *testing.T, engine string) {
	a, b := processes(t, engine)
	adm := a.admin()
	_, ann := a.signup(map[string]any{"email": "ann@example.com"})
	_, bob := a.signup(map[string]any{"email": "bob@example.com"})
	tags := map[string]any{"owner": "user", "schema": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}}
	if r := a.do("PUT", "/v1/admin/collections/tags", tags, adm); r.Status != 200 {
		t.Fatalf("declare = %d %s", r.Status, r.Raw)
	}
	s := recordStream(t, b.url, ann, "")
	a.do("POST", "/v1/me/collections/tags/records", map[string]any{"data": map[string]any{"name": "bob's"}}, bob)
	id := str(a.do("POST", "/v1/me/collections/tags/records", map[string]any{"data": map[string]any{"name": "a"}}, ann).Body, "id")
	a.do("PATCH", "/v1/me/collections/tags/records/"+id, `{"name":"b"}`, ann, "Content-Type", "application/merge-patch+json")
	a.do("DELETE", "/v1/me/collections/tags/records/"+id, nil, ann)
	first := s.wantRecord(t, "record.created", id, 1, `"name":"a"`)
	s.wantRecord(t, "record.updated", id, 2, `"name":"b"`)
	s.wantRecord(t, "record.deleted", id, 2, "")
	again := recordStream(t, b.url, ann, first)
	again.wantRecord(t, "record.updated", id, 2, `"name":"b"`)
	again.wantRecord(t, "record.deleted", id, 2, "")
}
