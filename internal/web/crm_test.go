package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/crm"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestCRMPermissions: every CRM route answers 403 to a user without its
// permission, and to an API key that carries another CRM permission only.
func TestCRMPermissions(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		userID, user := c.signup(map[string]any{"email": "ann@example.com"})
		_, key := c.apiKey(adm, "crm", crm.CompaniesWrite)
		id := userd.NewID(time.Now())
		for _, tt := range []struct{ method, path, perm string }{
			{"GET", "/v1/admin/companies", crm.CompaniesWrite},
			{"POST", "/v1/admin/companies", crm.CompaniesWrite},
			{"GET", "/v1/admin/companies/" + id, crm.CompaniesWrite},
			{"PATCH", "/v1/admin/companies/" + id, crm.CompaniesWrite},
			{"DELETE", "/v1/admin/companies/" + id, crm.CompaniesWrite},
			{"PUT", "/v1/admin/users/" + userID + "/company", crm.CompaniesWrite},
			{"GET", "/v1/admin/users/" + userID + "/client-profile", "users:read"},
			{"GET", "/v1/admin/integration-mappings", crm.IntegrationsWrite},
			{"POST", "/v1/admin/integration-mappings", crm.IntegrationsWrite},
			{"DELETE", "/v1/admin/integration-mappings/" + id, crm.IntegrationsWrite},
			{"GET", "/v1/admin/twenty-crm-config", crm.CRMWrite},
			{"PUT", "/v1/admin/twenty-crm-config", crm.CRMWrite},
			{"GET", "/v1/admin/seed-status", crm.SeedWrite},
			{"PUT", "/v1/admin/seed-status", crm.SeedWrite},
		} {
			body := map[string]any{}
			if r := c.do(tt.method, tt.path, body, user); r.Status != http.StatusForbidden {
				t.Errorf("%s %s by a user = %d %s; want 403", tt.method, tt.path, r.Status, r.Raw)
			}
			r := c.do(tt.method, tt.path, body, key)
			if tt.perm != crm.CompaniesWrite && r.Status != http.StatusForbidden {
				t.Errorf("%s %s by a key with %s = %d; want 403", tt.method, tt.path, crm.CompaniesWrite, r.Status)
			}
			if tt.perm == crm.CompaniesWrite && r.Status == http.StatusForbidden {
				t.Errorf("%s %s by a key with %s = 403", tt.method, tt.path, crm.CompaniesWrite)
			}
		}
	})
}

// TestCompanies: creation with a normalised domain, the rules of each
// field, the case-insensitive uniqueness of domains, search and pages,
// changes, deletion, and the audit trail.
func TestCompanies(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		r := c.do("POST", "/v1/admin/companies", map[string]any{"name": " Acme ", "domain": "Acme.Example", "metadata": map[string]any{"tier": 1.5e300}}, adm)
		if r.Status != 201 || str(r.Body, "name") != "Acme" || str(r.Body, "domain") != "acme.example" || string(mustJSON(t, r.Body["metadata"])) != `{"tier":1.5e+300}` {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		acme := str(r.Body, "id")
		runScenarios(t, c, []scenario{
			{"no name", "POST", "/v1/admin/companies", map[string]any{"domain": "x.example"}, adm, 422, "validation_failed"},
			{"blank name", "POST", "/v1/admin/companies", map[string]any{"name": "  "}, adm, 422, "validation_failed"},
			{"long name", "POST", "/v1/admin/companies", map[string]any{"name": strings.Repeat("n", 201)}, adm, 422, "validation_failed"},
			{"bad domain", "POST", "/v1/admin/companies", map[string]any{"name": "B", "domain": "not a domain"}, adm, 422, "validation_failed"},
			{"one label", "POST", "/v1/admin/companies", map[string]any{"name": "B", "domain": "localhost"}, adm, 422, "validation_failed"},
			{"an address", "POST", "/v1/admin/companies", map[string]any{"name": "B", "domain": "10.0.0.1"}, adm, 422, "validation_failed"},
			{"a url", "POST", "/v1/admin/companies", map[string]any{"name": "B", "domain": "https://b.example"}, adm, 422, "validation_failed"},
			{"metadata not an object", "POST", "/v1/admin/companies", map[string]any{"name": "B", "metadata": []int{1}}, adm, 422, "validation_failed"},
			{"metadata too big", "POST", "/v1/admin/companies", map[string]any{"name": "B", "metadata": map[string]any{"x": strings.Repeat("x", crm.MaxJSON)}}, adm, 422, "validation_failed"},
			{"domain taken, other case", "POST", "/v1/admin/companies", map[string]any{"name": "B", "domain": "ACME.example"}, adm, 409, "domain_taken"},
			{"unknown", "GET", "/v1/admin/companies/" + userd.NewID(time.Now()), nil, adm, 404, "company_not_found"},
			{"not an id", "GET", "/v1/admin/companies/nope", nil, adm, 404, "company_not_found"},
			{"patch unknown", "PATCH", "/v1/admin/companies/" + userd.NewID(time.Now()), map[string]any{"name": "x"}, adm, 404, "company_not_found"},
			{"delete unknown", "DELETE", "/v1/admin/companies/" + userd.NewID(time.Now()), nil, adm, 404, "company_not_found"},
		})
		var ids []string
		for i := range 5 {
			r := c.do("POST", "/v1/admin/companies", map[string]any{"name": fmt.Sprintf("Globex %d", i), "domain": fmt.Sprintf("g%d.globex.example", i)}, adm)
			if r.Status != 201 {
				t.Fatalf("create %d = %d %s", i, r.Status, r.Raw)
			}
			ids = append(ids, str(r.Body, "id"))
		}
		nodomain := str(c.do("POST", "/v1/admin/companies", map[string]any{"name": "No domain"}, adm).Body, "id")
		if r := c.do("POST", "/v1/admin/companies", map[string]any{"name": "No domain either"}, adm); r.Status != 201 || r.Body["domain"] != nil {
			t.Fatalf("a second company without a domain = %d %s", r.Status, r.Raw)
		}
		var seen []string
		for cursor := ""; ; {
			r := c.do("GET", "/v1/admin/companies?q=GLOBEX&limit=2&cursor="+cursor, nil, adm)
			for _, it := range r.Body["items"].([]any) {
				seen = append(seen, str(it.(map[string]any), "id"))
			}
			if r.Body["next_cursor"] == nil {
				break
			}
			cursor = str(r.Body, "next_cursor")
		}
		slices.Reverse(seen)
		if !slices.Equal(seen, ids) {
			t.Fatalf("search pages = %v; want %v", seen, ids)
		}
		if r := c.do("GET", "/v1/admin/companies?q=g3.globex", nil, adm); len(r.Body["items"].([]any)) != 1 {
			t.Fatalf("search by domain = %s", r.Raw)
		}
		if r := c.do("GET", "/v1/admin/companies?q=%25", nil, adm); len(r.Body["items"].([]any)) != 0 {
			t.Fatalf("a %% is searched as itself: %s", r.Raw)
		}
		if r := c.do("PATCH", "/v1/admin/companies/"+ids[0], map[string]any{"domain": "ACME.EXAMPLE"}, adm); r.code() != "domain_taken" {
			t.Fatalf("patch to a taken domain = %d %s", r.Status, r.Raw)
		}
		r = c.do("PATCH", "/v1/admin/companies/"+acme, map[string]any{"name": "Acme Inc", "domain": ""}, adm)
		if r.Status != 200 || str(r.Body, "name") != "Acme Inc" || r.Body["domain"] != nil || string(mustJSON(t, r.Body["metadata"])) != `{"tier":1.5e+300}` {
			t.Fatalf("patch = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PATCH", "/v1/admin/companies/"+nodomain, map[string]any{"domain": "acme.example", "metadata": map[string]any{"a": 1}}, adm); r.Status != 200 ||
			str(r.Body, "domain") != "acme.example" || string(mustJSON(t, r.Body["metadata"])) != `{"a":1}` {
			t.Fatalf("the freed domain = %d %s", r.Status, r.Raw)
		}
		if r := c.do("DELETE", "/v1/admin/companies/"+acme, nil, adm); r.Status != 204 {
			t.Fatalf("delete = %d", r.Status)
		}
		if r := c.do("GET", "/v1/admin/companies/"+acme, nil, adm); r.Status != 404 {
			t.Fatalf("deleted = %d", r.Status)
		}
		var created, updated, deleted int
		created = c.countOf(`SELECT count(*) FROM activity_logs WHERE action = 'crm.company_created'`)
		updated = c.countOf(`SELECT count(*) FROM activity_logs WHERE action = 'crm.company_updated'`)
		deleted = c.countOf(`SELECT count(*) FROM activity_logs WHERE action = 'crm.company_deleted' AND target_id = $1 AND actor_user_id IS NOT NULL`, acme)
		if created != 8 || updated != 2 || deleted != 1 {
			t.Fatalf("audited %d created, %d updated, %d deleted; want 8, 2, 1", created, updated, deleted)
		}
	})
}

// TestCompanyDomainRace: of 20 companies created at once with one domain
// in different cases, one is made and 19 are 409 domain_taken.
func TestCompanyDomainRace(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		var made, taken atomic.Int32
		dbtest.AtOnce(20, func(i int) error {
			domain := "race.example"
			if i%2 == 1 {
				domain = "RACE.Example"
			}
			switch r := c.do("POST", "/v1/admin/companies", map[string]any{"name": fmt.Sprint("R", i), "domain": domain}, adm); {
			case r.Status == 201:
				made.Add(1)
			case r.code() == "domain_taken":
				taken.Add(1)
			default:
				t.Errorf("create %d = %d %s", i, r.Status, r.Raw)
			}
			return nil
		})
		var rows int
		rows = c.countOf(`SELECT count(*) FROM companies WHERE domain = 'race.example'`)
		if made.Load() != 1 || taken.Load() != 19 || rows != 1 {
			t.Fatalf("%d made, %d taken, %d rows; want 1, 19, 1", made.Load(), taken.Load(), rows)
		}
		// The database itself refuses another case of the domain.
		err := c.exec(`INSERT INTO companies (id, name, domain, created_at, updated_at) VALUES ($1, 'x', 'Race.EXAMPLE', $2, $2)`, userd.NewID(time.Now()), time.Now().UTC())
		if !sqldb.Violated(err, sqldb.Unique, "idx_companies_domain") {
			t.Fatalf("a raw insert of another case: %v", err)
		}
	})
}

// TestClientProfileCompany: an administrator links a user's client profile
// (made on first use) to a company and unlinks it; deleting the company
// unlinks it too.
func TestClientProfileCompany(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		company := str(c.do("POST", "/v1/admin/companies", map[string]any{"name": "Acme", "domain": "acme.example"}, adm).Body, "id")
		if r := c.do("GET", "/v1/admin/users/"+annID+"/client-profile", nil, adm); r.code() != "client_profile_not_found" {
			t.Fatalf("before any profile = %d %s", r.Status, r.Raw)
		}
		runScenarios(t, c, []scenario{
			{"unknown company", "PUT", "/v1/admin/users/" + annID + "/company", map[string]any{"company_id": userd.NewID(time.Now())}, adm, 404, "company_not_found"},
			{"bad company id", "PUT", "/v1/admin/users/" + annID + "/company", map[string]any{"company_id": "x"}, adm, 404, "company_not_found"},
			{"unknown user", "PUT", "/v1/admin/users/" + userd.NewID(time.Now()) + "/company", map[string]any{"company_id": company}, adm, 404, "user_not_found"},
			{"no company_id", "PUT", "/v1/admin/users/" + annID + "/company", map[string]any{}, adm, 422, "validation_failed"},
		})
		r := c.do("PUT", "/v1/admin/users/"+annID+"/company", map[string]any{"company_id": company}, adm)
		co, _ := r.Body["company"].(map[string]any)
		if r.Status != 200 || str(r.Body, "user_id") != annID || co == nil || str(co, "id") != company || str(co, "name") != "Acme" || str(co, "domain") != "acme.example" {
			t.Fatalf("link = %d %s", r.Status, r.Raw)
		}
		profile := str(r.Body, "id")
		if own := c.do("GET", "/v1/me/client-profile", nil, ann); str(own.Body, "id") != profile {
			t.Fatalf("the user's own profile = %s", own.Raw)
		}
		if r := c.do("GET", "/v1/admin/users/"+annID+"/client-profile", nil, adm); str(r.Body["company"].(map[string]any), "id") != company {
			t.Fatalf("read = %s", r.Raw)
		}
		if r := c.do("PUT", "/v1/admin/users/"+annID+"/company", map[string]any{"company_id": nil}, adm); r.Status != 200 || r.Body["company"] != nil {
			t.Fatalf("unlink = %d %s", r.Status, r.Raw)
		}
		c.do("PUT", "/v1/admin/users/"+annID+"/company", map[string]any{"company_id": company}, adm)
		c.do("DELETE", "/v1/admin/companies/"+company, nil, adm)
		if r := c.do("GET", "/v1/admin/users/"+annID+"/client-profile", nil, adm); r.Status != 200 || r.Body["company"] != nil {
			t.Fatalf("after the company's deletion = %d %s", r.Status, r.Raw)
		}
		if got := find(c.ownActivity(ann), "crm.client_profile_company_set"); len(got) != 3 {
			t.Fatalf("the user's trail has %d crm.client_profile_company_set; want 3", len(got))
		}
	})
}

// TestIntegrationMappings: the upsert on (ever_id, object_type), both
// look-ups, pages, validation and deletion.
func TestIntegrationMappings(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		m := map[string]any{"ever_id": "u-1", "object_type": "user", "external_id": "tw-1", "external_system": "twenty"}
		r := c.do("POST", "/v1/admin/integration-mappings", m, adm)
		if r.Status != 201 || str(r.Body, "external_id") != "tw-1" {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		id := str(r.Body, "id")
		m["external_id"] = "tw-2"
		if r := c.do("POST", "/v1/admin/integration-mappings", m, adm); r.Status != 200 || str(r.Body, "id") != id || str(r.Body, "external_id") != "tw-2" {
			t.Fatalf("update = %d %s", r.Status, r.Raw)
		}
		c.do("POST", "/v1/admin/integration-mappings", map[string]any{"ever_id": "u-1", "object_type": "company", "external_id": "tw-9", "external_system": "twenty"}, adm)
		c.do("POST", "/v1/admin/integration-mappings", map[string]any{"ever_id": "u-2", "object_type": "user", "external_id": "tw-2", "external_system": "hubspot"}, adm)
		for q, want := range map[string][]string{
			"?ever_id=u-1&object_type=user":             {"tw-2"},
			"?external_system=twenty&external_id=tw-2":  {"tw-2"},
			"?external_system=hubspot&external_id=tw-2": {"tw-2"},
			"?ever_id=u-1": {"tw-9", "tw-2"},
			"?external_system=twenty&external_id=tw-1": {},
			"": {"tw-2", "tw-9", "tw-2"},
		} {
			r := c.do("GET", "/v1/admin/integration-mappings"+q, nil, adm)
			got := []string{}
			for _, it := range r.Body["items"].([]any) {
				got = append(got, str(it.(map[string]any), "external_id"))
			}
			if !slices.Equal(got, want) {
				t.Errorf("GET %s = %v; want %v", q, got, want)
			}
		}
		if r := c.do("GET", "/v1/admin/integration-mappings?limit=2", nil, adm); r.Body["next_cursor"] == nil ||
			len(c.do("GET", "/v1/admin/integration-mappings?limit=2&cursor="+str(r.Body, "next_cursor"), nil, adm).Body["items"].([]any)) != 1 {
			t.Fatalf("pages = %s", r.Raw)
		}
		runScenarios(t, c, []scenario{
			{"no ever_id", "POST", "/v1/admin/integration-mappings", map[string]any{"object_type": "user", "external_id": "x", "external_system": "twenty"}, adm, 422, "validation_failed"},
			{"bad object_type", "POST", "/v1/admin/integration-mappings", map[string]any{"ever_id": "x", "object_type": "User!", "external_id": "x", "external_system": "twenty"}, adm, 422, "validation_failed"},
			{"bad system", "POST", "/v1/admin/integration-mappings", map[string]any{"ever_id": "x", "object_type": "user", "external_id": "x", "external_system": ""}, adm, 422, "validation_failed"},
			{"long external_id", "POST", "/v1/admin/integration-mappings", map[string]any{"ever_id": "x", "object_type": "user", "external_id": strings.Repeat("x", 256), "external_system": "twenty"}, adm, 422, "validation_failed"},
			{"delete unknown", "DELETE", "/v1/admin/integration-mappings/" + userd.NewID(time.Now()), nil, adm, 404, "integration_mapping_not_found"},
			{"delete", "DELETE", "/v1/admin/integration-mappings/" + id, nil, adm, 204, ""},
			{"delete again", "DELETE", "/v1/admin/integration-mappings/" + id, nil, adm, 404, "integration_mapping_not_found"},
		})
		var upserts, deletes int
		upserts = c.countOf(`SELECT count(*) FROM activity_logs WHERE action = 'crm.integration_mapping_upserted'`)
		deletes = c.countOf(`SELECT count(*) FROM activity_logs WHERE action = 'crm.integration_mapping_deleted' AND target_id = $1`, id)
		if upserts != 4 || deletes != 1 {
			t.Fatalf("audited %d upserts, %d deletions; want 4, 1", upserts, deletes)
		}
	})
}

// TestIntegrationMappingUpsertRace: 20 upserts of one key at once end with
// one row that holds one of their values; exactly one was a creation.
func TestIntegrationMappingUpsertRace(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		var created, updated atomic.Int32
		values := make([]string, 20)
		dbtest.AtOnce(20, func(i int) error {
			values[i] = fmt.Sprint("ext-", i)
			r := c.do("POST", "/v1/admin/integration-mappings", map[string]any{"ever_id": "race", "object_type": "user", "external_id": values[i], "external_system": "twenty"}, adm)
			switch r.Status {
			case 201:
				created.Add(1)
			case 200:
				updated.Add(1)
			default:
				t.Errorf("upsert %d = %d %s", i, r.Status, r.Raw)
			}
			return nil
		})
		var rows int
		var ext string
		if err := c.db.SQL().QueryRow(`SELECT count(*), max(external_id) FROM integration_mappings WHERE ever_id = 'race' AND object_type = 'user'`).Scan(&rows, &ext); err != nil {
			t.Fatal(err)
		}
		if created.Load() != 1 || updated.Load() != 19 || rows != 1 || !slices.Contains(values, ext) {
			t.Fatalf("%d created, %d updated, %d rows holding %q", created.Load(), updated.Load(), rows, ext)
		}
	})
}

// TestTwentyCRMConfig: the connection's rules, its write-only sealed key,
// its audit without the key, and the singleton the database keeps.
func TestTwentyCRMConfig(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		const key = "tw_secret_api_key_0123456789"
		runScenarios(t, c, []scenario{
			{"none yet", "GET", "/v1/admin/twenty-crm-config", nil, adm, 404, "twenty_crm_not_configured"},
			{"no base_url", "PUT", "/v1/admin/twenty-crm-config", map[string]any{"api_key": key}, adm, 422, "validation_failed"},
			{"http", "PUT", "/v1/admin/twenty-crm-config", map[string]any{"base_url": "http://crm.example/rest"}, adm, 422, "validation_failed"},
			{"credentials", "PUT", "/v1/admin/twenty-crm-config", map[string]any{"base_url": "https://u:p@crm.example"}, adm, 422, "validation_failed"},
			{"not a url", "PUT", "/v1/admin/twenty-crm-config", map[string]any{"base_url": "crm.example"}, adm, 422, "validation_failed"},
			{"enabled without a key", "PUT", "/v1/admin/twenty-crm-config", map[string]any{"base_url": "https://crm.example", "enabled": true}, adm, 422, "api_key_required"},
			{"options not an object", "PUT", "/v1/admin/twenty-crm-config", map[string]any{"base_url": "https://crm.example", "sync_options": "x"}, adm, 422, "validation_failed"},
			{"http on loopback", "PUT", "/v1/admin/twenty-crm-config", map[string]any{"base_url": "http://127.0.0.1:3000"}, adm, 200, ""},
		})
		r := c.do("PUT", "/v1/admin/twenty-crm-config", map[string]any{"base_url": "https://crm.example/rest", "api_key": key, "enabled": true,
			"sync_options": map[string]any{"companies": true}}, adm)
		if r.Status != 200 || r.Body["api_key_set"] != true || r.Body["enabled"] != true || str(r.Body, "base_url") != "https://crm.example/rest" ||
			str(r.Body, "updated_by") == "" || bytes.Contains(r.Raw, []byte(key)) {
			t.Fatalf("put = %d %s", r.Status, r.Raw)
		}
		if _, ok := r.Body["api_key"]; ok {
			t.Fatalf("the key is shown: %s", r.Raw)
		}
		r = c.do("PUT", "/v1/admin/twenty-crm-config", map[string]any{"enabled": false}, adm)
		if r.Status != 200 || r.Body["api_key_set"] != true || string(mustJSON(t, r.Body["sync_options"])) != `{"companies":true}` {
			t.Fatalf("a put without the key keeps it: %d %s", r.Status, r.Raw)
		}
		if r := c.do("PUT", "/v1/admin/twenty-crm-config", map[string]any{"base_url": "https://evil.example"}, adm); r.code() != "api_key_required" {
			t.Fatalf("a new base_url without the key = %d %s", r.Status, r.Raw)
		}
		var id string
		var sealed []byte
		if err := c.db.SQL().QueryRow(`SELECT id, api_key FROM twenty_crm_config`).Scan(&id, &sealed); err != nil {
			t.Fatal(err)
		}
		if len(sealed) == 0 || bytes.Contains(sealed, []byte(key)) {
			t.Fatalf("the stored key is not sealed: %q", sealed)
		}
		if clear, err := testKeyring.Open(sealed, crm.Sealed.AD(id, "")); err != nil || string(clear) != key {
			t.Fatalf("the sealed key opens to %q, %v", clear, err)
		}
		if got := c.do("GET", "/v1/admin/twenty-crm-config", nil, adm); got.Status != 200 || got.Body["api_key_set"] != true || bytes.Contains(got.Raw, []byte(key)) {
			t.Fatalf("get = %d %s", got.Status, got.Raw)
		}
		var metas []string
		err := c.db.View(sqldb.System(context.Background()), func(tx *sqldb.Tx) (err error) {
			metas, err = sqldb.All(context.Background(), tx, sqldb.ScanString, `SELECT metadata FROM activity_logs WHERE action = 'crm.twenty_config_updated'`)
			return err
		})
		if err != nil || len(metas) != 3 || !strings.Contains(metas[0], `"api_key_set"`) || strings.Contains(strings.Join(metas, ""), key) {
			t.Fatalf("the audited changes (want 3, without the key): %q, %v", metas, err)
		}
		if r := c.do("PUT", "/v1/admin/twenty-crm-config", map[string]any{"api_key": ""}, adm); r.Status != 200 || r.Body["api_key_set"] != false {
			t.Fatalf("removing the key = %d %s", r.Status, r.Raw)
		}
		err = c.exec(`INSERT INTO twenty_crm_config (id, base_url, created_at, updated_at) VALUES ($1, 'https://two.example', $2, $2)`,
			userd.NewID(time.Now()), time.Now().UTC())
		if !sqldb.Violated(err, sqldb.Unique, "idx_twenty_crm_config_singleton") {
			t.Fatalf("a second row: %v", err)
		}
	})
}

// TestSeedStatus: an administrator marks and clears the seed's status,
// which the database keeps to one row.
func TestSeedStatus(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adminTok := c.admin()
		if r := c.do("GET", "/v1/admin/seed-status", nil, adminTok); r.Status != 200 || r.Body["seeded"] != false || r.Body["seeded_at"] != nil {
			t.Fatalf("before = %d %s", r.Status, r.Raw)
		}
		runScenarios(t, c, []scenario{
			{"no version", "PUT", "/v1/admin/seed-status", map[string]any{"seeded": true}, adminTok, 422, "validation_failed"},
			{"summary not an object", "PUT", "/v1/admin/seed-status", map[string]any{"seeded": true, "version": "v1", "summary": 3}, adminTok, 422, "validation_failed"},
		})
		r := c.do("PUT", "/v1/admin/seed-status", map[string]any{"seeded": true, "version": "v1", "summary": map[string]any{"by": "hand"}}, adminTok)
		me := str(c.do("GET", "/v1/me", nil, adminTok).Body, "id")
		if r.Status != 200 || r.Body["seeded"] != true || str(r.Body, "version") != "v1" || str(r.Body, "seeded_by") != me || r.Body["checksum"] != nil ||
			string(mustJSON(t, r.Body["summary"])) != `{"by":"hand"}` {
			t.Fatalf("mark = %d %s", r.Status, r.Raw)
		}
		if r := c.do("PUT", "/v1/admin/seed-status", map[string]any{"seeded": false}, adminTok); r.Status != 200 || r.Body["seeded"] != false {
			t.Fatalf("clear = %d %s", r.Status, r.Raw)
		}
		var rows, audits int
		rows = c.countOf(`SELECT count(*) FROM seed_status`)
		audits = c.countOf(`SELECT count(*) FROM activity_logs WHERE action IN ('crm.seed_status_marked', 'crm.seed_status_cleared')`)
		if rows != 0 || audits != 2 {
			t.Fatalf("%d rows, %d audits; want 0, 2", rows, audits)
		}
		c.do("PUT", "/v1/admin/seed-status", map[string]any{"seeded": true, "version": "v2"}, adminTok)
		now := time.Now().UTC()
		if err := c.exec(`INSERT INTO seed_status (id, version, seeded_by, seeded_at) VALUES (2, 'x', 'x', $1)`, now); !sqldb.Violated(err, sqldb.Check, "chk_seed_status_singleton") {
			t.Fatalf("a second row: %v", err)
		}
		if err := c.exec(`INSERT INTO seed_status (id, version, seeded_by, seeded_at) VALUES (1, 'x', 'x', $1)`, now); sqldb.ViolatedKind(err) == nil || sqldb.ViolatedKind(err).Kind != sqldb.Unique {
			t.Fatalf("another row 1: %v", err)
		}
	})
}

// exec runs a statement behind userd's back, in a system transaction whose
// errors the engine classifies (constraint violations by name).
func (c *client) exec(q string, args ...any) error {
	return c.db.Tx(sqldb.System(context.Background()), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(context.Background(), q, args...)
		return err
	})
}

// mustJSON returns v encoded.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countOf runs a query of one integer behind userd's back.
func (c *client) countOf(q string, args ...any) int {
	c.t.Helper()
	var n int
	if err := c.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return n
}
