package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// postForm sends a form as a browser on the given site would.
func (c *client) postForm(path string, form url.Values, fetchSite string, headers ...string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", fetchSite)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMailedLinkPages: the pages' forms use the token, refuse a
// cross-site post and show policy errors.
func TestMailedLinkPages(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		_, vtok := link(t, mb.next())
		if status, _ := c.postForm("/verify-email", url.Values{"token": {vtok}}, "cross-site"); status != 403 {
			t.Fatalf("cross-site form = %d", status)
		}
		if status, body := c.postForm("/verify-email", url.Values{"token": {vtok}}, "same-origin"); status != 200 || !strings.Contains(body, "confirmed") {
			t.Fatalf("verify form = %d\n%s", status, body)
		}
		if r := c.do("GET", "/v1/me", nil, tok); r.Body["email_verified_at"] == nil {
			t.Fatal("the form did not verify the email")
		}
		if status, _ := c.postForm("/verify-email", url.Values{"token": {vtok}}, "same-origin"); status != 401 {
			t.Fatalf("the form twice = %d", status)
		}
		c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "ann@example.com"}, "")
		_, rtok := link(t, mb.next())
		if status, body := c.postForm("/reset-password", url.Values{"token": {rtok}, "password": {"password1"}}, "same-origin"); status != 422 || !strings.Contains(body, "most common") {
			t.Fatalf("common password in the form = %d\n%s", status, body)
		}
		if status, body := c.postForm("/reset-password", url.Values{"token": {rtok}, "password": {"a brand new secret"}}, "same-origin"); status != 200 || !strings.Contains(body, "password is changed") {
			t.Fatalf("reset form = %d\n%s", status, body)
		}
		c.login("ann@example.com", "a brand new secret")
	})
}
