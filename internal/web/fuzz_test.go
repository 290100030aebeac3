package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// FuzzSignupBody sends arbitrary bodies to POST /v1/auth/signup: the answer
// is never a 5xx, an error is always a problem document with a code, and a
// 201 always stands for exactly one new user.
func FuzzSignupBody(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@example.com","password":"correct horse battery"}`,
		`{"username":"ann","phone_number":"+14155550100","password":"correct horse battery","language":"fr-CA"}`,
		`{"email":"a@example.com","password":"x","first_name":"\u0000"}`,
		`{"email":["a"],"password":1}`,
		`{"email":"a@example.com","password":"correct horse battery","extra":null}`,
		`{`, `null`, `[]`, `""`, ``,
	} {
		f.Add(seed)
	}
	db := dbtest.Open(f, "sqlite")
	h, _ := newHandler(f, db, "http://userd.test", options{ctx: f.Context()})
	f.Fuzz(func(t *testing.T, body string) {
		var before int
		db.SQL().QueryRow(`SELECT count(*) FROM users`).Scan(&before)
		req := httptest.NewRequest("POST", "/v1/auth/signup", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var after int
		db.SQL().QueryRow(`SELECT count(*) FROM users`).Scan(&after)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer %d is not a JSON object: %q", rec.Code, rec.Body.String())
		}
		switch {
		case rec.Code >= 500:
			t.Fatalf("body %q: %d %s", body, rec.Code, rec.Body.String())
		case rec.Code == http.StatusCreated:
			if after != before+1 {
				t.Fatalf("201 but users went from %d to %d", before, after)
			}
		default:
			if after != before {
				t.Fatalf("%d but users went from %d to %d", rec.Code, before, after)
			}
			if code, _ := out["code"].(string); code == "" || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d without a problem code: %s", rec.Code, rec.Body.String())
			}
		}
	})
}
