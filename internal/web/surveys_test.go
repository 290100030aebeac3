package web_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// aSurvey is the body of POST /v1/admin/surveys for a survey with one
// question of every type.
func aSurvey(slug, status string, anonymous bool) map[string]any {
	return map[string]any{"slug": slug, "title": "About " + slug, "status": status, "allow_anonymous": anonymous, "questions": []any{
		map[string]any{"id": "color", "type": "single_choice", "label": "Colour?", "required": true, "options": []string{"red", "green", "blue"}},
		map[string]any{"id": "pets", "type": "multiple_choice", "label": "Pets?", "options": []string{"cat", "dog"}},
		map[string]any{"id": "why", "type": "text", "label": "Why?", "max_length": 20},
		map[string]any{"id": "stars", "type": "rating", "label": "Stars?", "required": true},
		map[string]any{"id": "age", "type": "number", "label": "Age?", "min": 0},
	}}
}

// answer is the body of a response.
func answer(answers map[string]any) map[string]any { return map[string]any{"answers": answers} }

// TestSurveysAPI: the administration needs its permissions (surveys:write
// to change, surveys:read to read), the public sees open surveys only and
// answers them once, with a problem per failing question, and the results
// and responses read back exactly what was given.
func TestSurveysAPI(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		readerID, reader := c.signup(map[string]any{"email": "reader@example.com"})
		c.do("POST", "/v1/admin/roles", map[string]any{"name": "SURVEY_READER", "permissions": []string{"surveys:read"}}, adm)
		if r := c.do("PUT", "/v1/admin/users/"+readerID+"/roles/SURVEY_READER", nil, adm); r.Status != 204 {
			t.Fatalf("grant = %d %s", r.Status, r.Raw)
		}
		runScenarios(t, c, []scenario{
			{"create anonymously", "POST", "/v1/admin/surveys", aSurvey("pets", "open", false), "", 401, "unauthenticated"},
			{"create as a user", "POST", "/v1/admin/surveys", aSurvey("pets", "open", false), ann, 403, "forbidden"},
			{"create as a reader", "POST", "/v1/admin/surveys", aSurvey("pets", "open", false), reader, 403, "forbidden"},
			{"create", "POST", "/v1/admin/surveys", aSurvey("pets", "open", false), adm, 201, ""},
			{"create a draft", "POST", "/v1/admin/surveys", aSurvey("later", "draft", true), adm, 201, ""},
			{"same slug", "POST", "/v1/admin/surveys", aSurvey("pets", "open", false), adm, 409, "slug_taken"},
			{"bad slug", "POST", "/v1/admin/surveys", aSurvey("Pets!", "open", false), adm, 422, "validation_failed"},
			{"list as a user", "GET", "/v1/admin/surveys", nil, ann, 403, "forbidden"},
			{"list as a reader", "GET", "/v1/admin/surveys", nil, reader, 200, ""},
			{"results as a user", "GET", "/v1/admin/surveys/pets/results", nil, ann, 403, "forbidden"},
			{"responses as a user", "GET", "/v1/admin/surveys/pets/responses", nil, ann, 403, "forbidden"},
			{"change as a reader", "PATCH", "/v1/admin/surveys/pets", map[string]any{"title": "x"}, reader, 403, "forbidden"},
			{"delete as a reader", "DELETE", "/v1/admin/surveys/pets", nil, reader, 403, "forbidden"},
			{"a draft is not public", "GET", "/v1/surveys/later", nil, ann, 404, "survey_not_found"},
			{"no such survey", "GET", "/v1/surveys/nothing", nil, "", 404, "survey_not_found"},
			{"answer a draft", "POST", "/v1/surveys/later/responses", answer(map[string]any{"color": "red", "stars": 1}), ann, 404, "survey_not_found"},
			{"anonymous answer to a signed-in survey", "POST", "/v1/surveys/pets/responses", map[string]any{"answers": map[string]any{"color": "red", "stars": 1}, "anonymous_id": "x1"}, "", 401, "unauthenticated"},
			{"no answers", "POST", "/v1/surveys/pets/responses", map[string]any{}, ann, 422, "validation_failed"},
		})

		if r := c.do("GET", "/v1/surveys/pets", nil, ""); r.Status != 200 || r.Body["answered_by_me"] != nil || len(r.Body["questions"].([]any)) != 5 || r.Body["status"] != nil {
			t.Fatalf("public survey, anonymously = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/surveys/pets", nil, ann); r.Body["answered_by_me"] != false {
			t.Fatalf("public survey, before answering = %s", r.Raw)
		}
		bad := c.do("POST", "/v1/surveys/pets/responses", answer(map[string]any{"color": "pink", "pets": []any{"cow"}, "why": strings.Repeat("x", 21), "stars": 9, "age": -1, "mood": "?"}), ann)
		var got []string
		for _, e := range bad.Body["errors"].([]any) {
			got = append(got, e.(map[string]any)["field"].(string)+" "+e.(map[string]any)["code"].(string))
		}
		want := []string{"answers.mood unknown_question", "answers.color invalid_choice", "answers.pets invalid_choice", "answers.why too_long", "answers.stars out_of_range", "answers.age out_of_range"}
		if bad.Status != 422 || bad.code() != "validation_failed" || !cmp.Equal(got, want) {
			t.Fatalf("bad answers = %d %s; want the fields %v", bad.Status, bad.Raw, want)
		}
		given := map[string]any{"color": "blue", "pets": []any{"dog", "cat"}, "why": "because", "stars": 4.0, "age": 33.5}
		r := c.do("POST", "/v1/surveys/pets/responses", answer(given), ann)
		if r.Status != 201 || r.Body["survey"] != "pets" || r.Body["user_id"] == nil || !cmp.Equal(r.Body["answers"], given) {
			t.Fatalf("respond = %d %s", r.Status, r.Raw)
		}
		if again := c.do("POST", "/v1/surveys/pets/responses", answer(given), ann); again.Status != 409 || again.code() != "already_answered" {
			t.Fatalf("respond again = %d %s", again.Status, again.Raw)
		}
		if r := c.do("GET", "/v1/surveys/pets", nil, ann); r.Body["answered_by_me"] != true {
			t.Fatalf("public survey, after answering = %s", r.Raw)
		}
		_, bob := c.signup(map[string]any{"email": "bob@example.com"})
		c.do("POST", "/v1/surveys/pets/responses", answer(map[string]any{"color": "blue", "stars": 2, "pets": []any{"dog"}}), bob)

		res := c.do("GET", "/v1/admin/surveys/pets/results", nil, reader)
		wantResults := map[string]any{"survey": "pets", "responses_count": 2.0, "questions": []any{
			map[string]any{"id": "color", "type": "single_choice", "label": "Colour?", "answered": 2.0, "options": []any{
				map[string]any{"option": "red", "count": 0.0}, map[string]any{"option": "green", "count": 0.0}, map[string]any{"option": "blue", "count": 2.0}}},
			map[string]any{"id": "pets", "type": "multiple_choice", "label": "Pets?", "answered": 2.0, "options": []any{
				map[string]any{"option": "cat", "count": 1.0}, map[string]any{"option": "dog", "count": 2.0}}},
			map[string]any{"id": "why", "type": "text", "label": "Why?", "answered": 1.0},
			map[string]any{"id": "stars", "type": "rating", "label": "Stars?", "answered": 2.0, "average": 3.0, "distribution": []any{
				map[string]any{"value": 1.0, "count": 0.0}, map[string]any{"value": 2.0, "count": 1.0}, map[string]any{"value": 3.0, "count": 0.0},
				map[string]any{"value": 4.0, "count": 1.0}, map[string]any{"value": 5.0, "count": 0.0}}},
			map[string]any{"id": "age", "type": "number", "label": "Age?", "answered": 1.0, "average": 33.5, "distribution": []any{
				map[string]any{"value": 33.5, "count": 1.0}}},
		}}
		if res.Status != 200 || !cmp.Equal(res.Body, wantResults) {
			t.Fatalf("results = %d %s", res.Status, cmp.Diff(wantResults, res.Body))
		}
		page := c.do("GET", "/v1/admin/surveys/pets/responses?limit=1", nil, reader)
		items, _ := page.Body["items"].([]any)
		if page.Status != 200 || len(items) != 1 || page.Body["next_cursor"] == nil {
			t.Fatalf("responses page 1 = %d %s", page.Status, page.Raw)
		}
		page2 := c.do("GET", "/v1/admin/surveys/pets/responses?limit=1&cursor="+page.Body["next_cursor"].(string), nil, reader)
		items2, _ := page2.Body["items"].([]any)
		if len(items2) != 1 || page2.Body["next_cursor"] != nil || !cmp.Equal(items2[0].(map[string]any)["answers"], given) {
			t.Fatalf("responses page 2 = %d %s", page2.Status, page2.Raw)
		}

		removed := aSurvey("pets", "open", false)["questions"].([]any)[1:]
		if r := c.do("PATCH", "/v1/admin/surveys/pets", map[string]any{"questions": removed}, adm); r.Status != 409 || r.code() != "survey_answered" {
			t.Fatalf("remove an answered question = %d %s", r.Status, r.Raw)
		}
		added := append(aSurvey("pets", "open", false)["questions"].([]any), map[string]any{"id": "extra", "type": "text", "label": "More?"})
		if r := c.do("PATCH", "/v1/admin/surveys/pets", map[string]any{"questions": added, "status": "closed"}, adm); r.Status != 200 || r.Body["status"] != "closed" ||
			r.Body["responses_count"] != 2.0 || len(r.Body["questions"].([]any)) != 6 {
			t.Fatalf("add a question and close = %d %s", r.Status, r.Raw)
		}
		_, cid := c.signup(map[string]any{"email": "cid@example.com"})
		if r := c.do("POST", "/v1/surveys/pets/responses", answer(map[string]any{"color": "red", "stars": 1}), cid); r.Status != 409 || r.code() != "survey_closed" {
			t.Fatalf("answer a closed survey = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/surveys/pets", nil, cid); r.Status != 404 {
			t.Fatalf("a closed survey, publicly = %d", r.Status)
		}
		if r := c.do("DELETE", "/v1/admin/surveys/pets", nil, adm); r.Status != 204 {
			t.Fatalf("delete = %d %s", r.Status, r.Raw)
		}
		var left int
		c.db.SQL().QueryRow(`SELECT count(*) FROM survey_responses`).Scan(&left)
		if r := c.do("GET", "/v1/admin/surveys/pets", nil, reader); r.Status != 404 || left != 0 {
			t.Fatalf("after delete: %d, %d responses left", r.Status, left)
		}
		var audited int
		c.db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action IN ('survey.created', 'survey.updated', 'survey.deleted')`).Scan(&audited)
		if audited != 4 {
			t.Fatalf("%d survey audit entries; want 2 created, 1 updated, 1 deleted", audited)
		}
	})
}

// TestSurveyResponseRace: 20 concurrent responses of one user over HTTP end
// with one row, one 201 and 19 × 409 already_answered.
func TestSurveyResponseRace(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		if r := c.do("POST", "/v1/admin/surveys", aSurvey("race", "open", false), adm); r.Status != 201 {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[string]int{}
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := c.do("POST", "/v1/surveys/race/responses", answer(map[string]any{"color": "red", "stars": 1 + i%5}), ann)
				mu.Lock()
				statuses[fmt.Sprintf("%d %s", r.Status, r.code())]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		var rows int
		c.db.SQL().QueryRow(`SELECT count(*) FROM survey_responses WHERE user_id = $1`, annID).Scan(&rows)
		if want := map[string]int{"201 ": 1, "409 already_answered": 19}; !cmp.Equal(statuses, want) || rows != 1 {
			t.Fatalf("statuses %v, %d rows; want %v, 1 row", statuses, rows, want)
		}
	})
}

// TestAnonymousSurveyResponses: an anonymous respondent answers once per
// anonymous_id, which is stored only as a keyed hash; an address is
// limited to --survey-response-limit anonymous responses (20 an hour).
func TestAnonymousSurveyResponses(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{limits: true})
		adm := c.admin()
		if r := c.do("POST", "/v1/admin/surveys", aSurvey("open-to-all", "open", true), adm); r.Status != 201 {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		body := func(id string) map[string]any {
			return map[string]any{"answers": map[string]any{"color": "green", "stars": 3}, "anonymous_id": id}
		}
		if r := c.do("POST", "/v1/surveys/open-to-all/responses", answer(map[string]any{"color": "green", "stars": 3}), ""); r.Status != 422 || r.Body["errors"].([]any)[0].(map[string]any)["field"] != "anonymous_id" {
			t.Fatalf("no anonymous_id = %d %s", r.Status, r.Raw)
		}
		const secret = "device-7f3a9c-never-stored"
		if r := c.do("POST", "/v1/surveys/open-to-all/responses", body(secret), ""); r.Status != 201 || r.Body["user_id"] != nil {
			t.Fatalf("anonymous response = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/surveys/open-to-all/responses", body(secret), ""); r.Status != 409 || r.code() != "already_answered" {
			t.Fatalf("same anonymous_id again = %d %s", r.Status, r.Raw)
		}
		var stored, clear int
		err := db.SQL().QueryRow(`SELECT count(*) FROM survey_responses WHERE user_id IS NULL AND respondent_hash IS NOT NULL`).Scan(&stored)
		if err == nil {
			err = db.SQL().QueryRow(`SELECT count(*) FROM survey_responses WHERE respondent_hash LIKE '%never-stored%' OR CAST(answers AS TEXT) LIKE '%never-stored%'`).Scan(&clear)
		}
		if err != nil || stored != 1 || clear != 0 {
			t.Fatalf("%d hashed anonymous responses, %d holding the id in clear", stored, clear)
		}
		// Three attempts so far from this address; 17 more pass, the next is 429.
		for i := range 17 {
			if r := c.do("POST", "/v1/surveys/open-to-all/responses", body(fmt.Sprintf("respondent-%d", i)), ""); r.Status != 201 {
				t.Fatalf("anonymous response %d = %d %s", i, r.Status, r.Raw)
			}
		}
		r := c.do("POST", "/v1/surveys/open-to-all/responses", body("one-too-many"), "")
		if r.Status != http.StatusTooManyRequests || r.code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("21st anonymous attempt = %d %s", r.Status, r.Raw)
		}
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		if r := c.do("POST", "/v1/surveys/open-to-all/responses", body("ignored"), ann); r.Status != 201 || r.Body["user_id"] == nil {
			t.Fatalf("signed-in response past the address's limit = %d %s", r.Status, r.Raw)
		}
	})
}

// TestSurveyResponsesCSV: the CSV has a header of the questions' ids and a
// row per response, oldest first, with formulas defused; it needs
// surveys:read.
func TestSurveyResponsesCSV(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		adm := c.admin()
		if r := c.do("POST", "/v1/admin/surveys", aSurvey("sheet", "open", true), adm); r.Status != 201 {
			t.Fatalf("create = %d %s", r.Status, r.Raw)
		}
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		if r := c.do("POST", "/v1/surveys/sheet/responses", answer(map[string]any{"color": "red", "pets": []any{"dog", "cat"}, "why": "=HYPERLINK(1)", "stars": 4, "age": 2.5}), ann); r.Status != 201 {
			t.Fatalf("respond = %d %s", r.Status, r.Raw)
		}
		c.do("POST", "/v1/surveys/sheet/responses", map[string]any{"answers": map[string]any{"color": "blue", "stars": 1, "why": "a, \"b\""}, "anonymous_id": "anon-1"}, "")
		if r := c.do("GET", "/v1/admin/surveys/sheet/responses.csv", nil, ann); r.Status != 403 {
			t.Fatalf("csv as a user = %d", r.Status)
		}
		if r := c.do("GET", "/v1/admin/surveys/nothing/responses.csv", nil, adm); r.Status != 404 || r.code() != "survey_not_found" {
			t.Fatalf("csv of no survey = %d %s", r.Status, r.Raw)
		}
		r := c.do("GET", "/v1/admin/surveys/sheet/responses.csv", nil, adm)
		rows, err := csv.NewReader(bytes.NewReader(r.Raw)).ReadAll()
		if err != nil || r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || len(rows) != 3 {
			t.Fatalf("csv = %d %s, %v\n%s", r.Status, r.Header.Get("Content-Type"), err, r.Raw)
		}
		var cells [][]string
		for _, row := range rows {
			cells = append(cells, append(row[1:2:2], row[3:]...)) // user_id and the answers
		}
		want := [][]string{
			{"user_id", "color", "pets", "why", "stars", "age"},
			{annID, "red", `["dog","cat"]`, "'=HYPERLINK(1)", "4", "2.5"},
			{"", "blue", "", `a, "b"`, "1", ""},
		}
		if !cmp.Equal(cells, want) || rows[0][0] != "id" || rows[0][2] != "created_at" {
			t.Fatalf("csv rows:\n%s", cmp.Diff(want, cells))
		}
		// A question id may start with "-" (-A1 is a formula to a spreadsheet): its header cell is defused too.
		dash := map[string]any{"slug": "dash", "title": "Dash", "status": "open", "questions": []any{
			map[string]any{"id": "-A1", "type": "text", "label": "Cell?"}}}
		if r := c.do("POST", "/v1/admin/surveys", dash, adm); r.Status != 201 {
			t.Fatalf("create dash = %d %s", r.Status, r.Raw)
		}
		r = c.do("GET", "/v1/admin/surveys/dash/responses.csv", nil, adm)
		if rows, err := csv.NewReader(bytes.NewReader(r.Raw)).ReadAll(); err != nil || len(rows) != 1 || rows[0][3] != "'-A1" {
			t.Fatalf("dash csv = %d %s", r.Status, r.Raw)
		}
	})
}
