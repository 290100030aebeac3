package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/pquerna/otp/totp"

	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
	"github.com/userd/userd/internal/web"
)

// startTimed serves the API as start does, through the http.Server that
// serve uses, with the given timeouts; wrap, when set, wraps the handler.
func startTimed(t *testing.T, db *sqldb.DB, tm web.Timeouts, wrap func(http.Handler) http.Handler) *client {
	t.Helper()
	c := &client{t: t, db: db}
	srv := httptest.NewUnstartedServer(nil)
	c.url = "http://" + srv.Listener.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	h, svc := newHandler(t, db, c.url, options{ctx: ctx})
	var handler http.Handler = h
	if wrap != nil {
		handler = wrap(h)
	}
	srv.Config = web.HTTPServer(handler, tm)
	srv.Config.RegisterOnShutdown(h.Shutdown)
	srv.Start()
	t.Cleanup(func() { h.Shutdown(); srv.Close(); cancel() })
	c.auth = svc
	return c
}

// slowRequest writes head and then stalls; it returns the server's answer,
// or the error that ended the wait for one, and how long it took.
func slowRequest(t *testing.T, base, head string) (*http.Response, error, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	began := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(began.Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		res.Body.Close()
	}
	return res, err, time.Since(began)
}

// TestHardeningSlowRequests: a client that sends its headers or its body
// too slowly is cut off, instead of holding its connection: at the server's
// read timeouts on the form pages, and at huma's 5 s body read timeout on
// the API. Nothing here reaches the database, so one engine is enough.
func TestHardeningSlowRequests(t *testing.T) {
	c := startTimed(t, dbtest.Open(t, "sqlite"), web.Timeouts{ReadHeader: 300 * time.Millisecond, Read: 500 * time.Millisecond}, nil)
	post := func(path, contentType, partial string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: userd.test\r\nSec-Fetch-Site: same-origin\r\nContent-Type: " + contentType +
			"\r\nContent-Length: 1000\r\n\r\n" + partial
	}
	for _, tt := range []struct {
		name, head string
		want       int           // 0: the connection closes without an answer
		within     time.Duration // the timeout, and some slack
	}{
		{"headers", "POST /v1/auth/login HTTP/1.1\r\nHost: userd.test\r\nContent-Type: appl", 0, 2 * time.Second},
		{"reset-password form", post("/reset-password", "application/x-www-form-urlencoded", "token=abc&password=a"), http.StatusRequestTimeout, 2 * time.Second},
		{"verify-email form", post("/verify-email", "application/x-www-form-urlencoded", "token=abc"), http.StatusRequestTimeout, 2 * time.Second},
		{"API body", post("/v1/auth/login", "application/json", `{"identifier":"ann@exa`), http.StatusRequestTimeout, 7 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err, took := slowRequest(t, c.url, tt.head)
			if took > tt.within {
				t.Fatalf("the server waited %v for a stalled request (%v)", took, err)
			}
			status := 0
			if res != nil {
				status = res.StatusCode
			}
			if status != tt.want {
				t.Fatalf("stalled request = %d (%v); want %d", status, err, tt.want)
			}
		})
	}
}

// slowStart is a ResponseWriter that stalls its first write, as a client
// that is slow to read would; ResponseController reaches the connection
// through Unwrap.
type slowStart struct {
	http.ResponseWriter
	stalled bool
}

func (w *slowStart) Write(b []byte) (int, error) {
	if !w.stalled {
		w.stalled = true
		time.Sleep(time.Second)
	}
	return w.ResponseWriter.Write(b)
}

func (w *slowStart) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestHardeningStreamsOutliveReadTimeout: the event stream and the export
// go on past the server's read timeout.
func TestHardeningStreamsOutliveReadTimeout(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		slowExport := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/me/export" {
					w = &slowStart{ResponseWriter: w}
				}
				h.ServeHTTP(w, r)
			})
		}
		c := startTimed(t, db, web.Timeouts{Read: 300 * time.Millisecond}, slowExport)
		adm := c.admin()
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		events, stop := openStream(t, c.url, ann, "")
		defer stop()
		time.Sleep(time.Second)
		c.do("POST", "/v1/admin/notifications", map[string]any{"user_id": annID, "type": "late", "title": "after the read timeout"}, adm)
		if ev := nextEvent(t, events); !strings.Contains(ev.data, "after the read timeout") {
			t.Fatalf("event = %+v", ev)
		}
		r := c.do("GET", "/v1/me/export", nil, ann)
		var doc map[string]any
		if err := json.Unmarshal(r.Raw, &doc); err != nil || r.Status != 200 || doc["notifications"] == nil {
			t.Fatalf("export read slowly = %d, %v\n%.300s", r.Status, err, r.Raw)
		}
	})
}

// TestHardeningFormLimit: a form page reads at most 64 KiB: a larger body
// gets 413 and uses up neither token.
func TestHardeningFormLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		mb := newMailbox(t)
		c := startWith(t, db, options{mailer: mb.sender()})
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		_, vtok := link(t, mb.next())
		c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "ann@example.com"}, "")
		_, rtok := link(t, mb.next())
		pad := strings.Repeat("x", 64<<10)
		if status, body := c.postForm("/verify-email", url.Values{"token": {vtok}, "pad": {pad}}, "same-origin"); status != 413 || !strings.Contains(body, "too large") {
			t.Fatalf("large verify form = %d\n%.300s", status, body)
		}
		if status, body := c.postForm("/reset-password", url.Values{"token": {rtok}, "password": {"a brand new secret"}, "pad": {pad}}, "same-origin"); status != 413 {
			t.Fatalf("large reset form = %d\n%.300s", status, body)
		}
		c.login("ann@example.com", "correct horse battery")
		if r := c.do("GET", "/v1/me", nil, tok); r.Status != 200 || r.Body["email_verified_at"] != nil {
			t.Fatalf("after the large forms, me = %d %s", r.Status, r.Raw)
		}
		if status, body := c.postForm("/verify-email", url.Values{"token": {vtok}}, "same-origin"); status != 200 {
			t.Fatalf("verify form after the large one = %d\n%s", status, body)
		}
		if status, body := c.postForm("/reset-password", url.Values{"token": {rtok}, "password": {"a brand new secret"}}, "same-origin"); status != 200 {
			t.Fatalf("reset form after the large one = %d\n%s", status, body)
		}
		c.login("ann@example.com", "a brand new secret")
	})
}

// TestHardeningPageHeaders: every HTML page forbids framing, sniffing and
// the Referer, and loads nothing from elsewhere.
func TestHardeningPageHeaders(t *testing.T) {
	c := start(t, dbtest.Open(t, "sqlite"))
	for _, path := range []string{"/verify-email?token=t", "/reset-password?token=t", "/passkeys", "/passkeys.js", "/docs"} {
		r := c.do("GET", path, nil, "")
		csp := r.Header.Get("Content-Security-Policy")
		if r.Status != 200 || !strings.HasPrefix(csp, "default-src 'none';") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "base-uri 'none'") || strings.Contains(csp, "*") || strings.Contains(csp, "unsafe-eval") ||
			strings.Contains(csp, "script-src 'unsafe-inline'") {
			t.Errorf("%s = %d, Content-Security-Policy %q", path, r.Status, csp)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
		if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q", path, got)
		}
	}
	if status, _ := c.postForm("/verify-email", url.Values{"token": {"t"}}, "same-origin"); status != 401 {
		t.Fatalf("a form's answer = %d", status)
	}
}

// TestHardeningTokenAnswers: every answer that carries a token or a secret
// is neither stored nor sniffed; so is every other API answer, while the
// JWKS stays cacheable.
func TestHardeningTokenAnswers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c, m := startOIDC(t, db, options{rpOrigin: rpOrigin})
		clk := withClock(c.db)
		check := func(name string, r response, status int) {
			t.Helper()
			if r.Status != status {
				t.Fatalf("%s = %d %s", name, r.Status, r.Raw)
			}
			if cc, nosniff := r.Header.Get("Cache-Control"), r.Header.Get("X-Content-Type-Options"); cc != "no-store" || nosniff != "nosniff" {
				t.Errorf("%s: Cache-Control %q, X-Content-Type-Options %q", name, cc, nosniff)
			}
		}
		signup := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		check("signup", signup, 201)
		tok := str(signup.Body["session"].(map[string]any), "token")
		check("login", c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, ""), 200)
		check("refresh", c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": str(signup.Body, "refresh_token")}, ""), 200)
		enrol := c.do("POST", "/v1/me/mfa/totp", nil, tok)
		check("totp enrolment", enrol, 201)
		code := func() string { s, _ := totp.GenerateCode(str(enrol.Body, "secret"), clk.now()); return s }
		check("totp confirmation", c.do("POST", "/v1/me/mfa/totp/confirm", map[string]any{"code": code()}, tok), 200)
		challenge := c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": "correct horse battery"}, "")
		check("mfa_required", challenge, 401)
		clk.advance(30 * time.Second)
		check("mfa verify", c.do("POST", "/v1/auth/mfa/verify", map[string]any{"mfa_token": str(challenge.Body, "mfa_token"), "code": code()}, ""), 200)
		acct := str(c.do("POST", "/v1/me/accounts", map[string]any{"account_name": "a"}, tok).Body, "id")
		c.do("PUT", "/v1/me/accounts/"+acct+"/credentials/api_key", map[string]any{"secret": "s3cret"}, tok)
		check("reveal", c.do("POST", "/v1/me/accounts/"+acct+"/credentials/api_key/reveal", nil, tok), 200)

		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		authn, cred := registerPasskey(t, c, bob, bobID)
		check("passkey log-in", loginPasskey(t, c, authn, cred), 200)
		check("oauth callback", oidcCallback(t, c, m), 200)
		check("me", c.do("GET", "/v1/me", nil, tok), 200)
		if r := c.do("GET", "/.well-known/jwks.json", nil, ""); r.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("jwks Cache-Control %q", r.Header.Get("Cache-Control"))
		}
	})
}

// oidcCallback signs a new user in through the mock provider and returns
// the callback's answer.
func oidcCallback(t *testing.T, c *client, m *mockoidc.MockOIDC) response {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-cat", Email: "cat@example.com", EmailVerified: true})
	next := c.url + "/v1/auth/oauth/mock/start"
	for range 2 { // userd's start, then the provider's authorization
		res, err := browser.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		next = res.Header.Get("Location")
	}
	res, err := browser.Get(next)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, res)
}

// TestHardeningJSONOnly: an operation that reads a body takes only JSON:
// text/plain, a form or no type (what a page on another site can send
// without a preflight) get 415 and change nothing; a request without a body
// is unaffected.
func TestHardeningJSONOnly(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := start(t, db)
		_, tok := c.signup(map[string]any{"email": "ann@example.com"})
		count := func(table string) (n int) {
			if err := c.db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		send := func(method, path, contentType, body string, chunked bool) response {
			t.Helper()
			var rd io.Reader = strings.NewReader(body)
			if chunked {
				rd = io.MultiReader(rd) // no length: the client sends it chunked
			}
			req, _ := http.NewRequest(method, c.url+path, rd)
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return decode(t, res)
		}
		signup := `{"email":"mallory@example.com","password":"correct horse battery"}`
		login := `{"identifier":"ann@example.com","password":"correct horse battery"}`
		users, sessions := count("users"), count("sessions")
		for _, tt := range []struct {
			name, method, path, contentType, body string
			chunked                               bool
		}{
			{"signup text/plain", "POST", "/v1/auth/signup", "text/plain;charset=UTF-8", signup, false},
			{"signup without a type", "POST", "/v1/auth/signup", "", signup, false},
			{"signup chunked without a type", "POST", "/v1/auth/signup", "", signup, true},
			{"signup form", "POST", "/v1/auth/signup", "application/x-www-form-urlencoded", signup, false},
			{"signup multipart", "POST", "/v1/auth/signup", "multipart/form-data; boundary=x", signup, false},
			{"login text/plain", "POST", "/v1/auth/login", "text/plain", login, false},
			{"login without a type", "POST", "/v1/auth/login", "", login, false},
			{"login json in a text/plain parameter", "POST", "/v1/auth/login", "text/plain; x=application/json", login, false},
			{"update-me text/plain", "PATCH", "/v1/me", "text/plain", `{"first_name":"Mallory"}`, false},
		} {
			r := send(tt.method, tt.path, tt.contentType, tt.body, tt.chunked)
			if r.Status != 415 || r.code() != "unsupported_media_type" || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s = %d %s", tt.name, r.Status, r.Raw)
			}
		}
		if u, s := count("users"), count("sessions"); u != users || s != sessions {
			t.Fatalf("refused requests made users %d → %d, sessions %d → %d", users, u, sessions, s)
		}
		if r := c.do("GET", "/v1/me", nil, tok); str(r.Body, "first_name") == "Mallory" {
			t.Fatal("a text/plain PATCH changed the profile")
		}
		for _, tt := range []struct {
			name, contentType string
			want              int
		}{
			{"json with charset", "application/json; charset=utf-8", 201},
			{"a +json type", "application/vnd.userd+json", 201},
		} {
			body := `{"email":"` + strings.ReplaceAll(tt.name, " ", "") + `@example.com","password":"correct horse battery"}`
			if r := send("POST", "/v1/auth/signup", tt.contentType, body, false); r.Status != tt.want {
				t.Errorf("%s = %d %s", tt.name, r.Status, r.Raw)
			}
		}
		// Without a body: a route that reads none works whatever the type,
		// one that needs one says so.
		if r := send("POST", "/v1/me/notifications/read-all", "text/plain", "", false); r.Status != 200 {
			t.Errorf("read-all without a body = %d %s", r.Status, r.Raw)
		}
		if r := send("POST", "/v1/auth/passkeys/login/begin", "", "", false); r.Status == 415 {
			t.Errorf("passkey log-in begin without a body = %d %s", r.Status, r.Raw)
		}
		if r := send("POST", "/v1/auth/login", "", "", false); r.Status != 400 || r.code() != "body_required" {
			t.Errorf("login without a body = %d %s", r.Status, r.Raw)
		}
		var doc struct {
			Paths map[string]map[string]struct {
				Responses map[string]json.RawMessage `json:"responses"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(c.do("GET", "/openapi.json", nil, "").Raw, &doc); err != nil {
			t.Fatal(err)
		}
		if _, ok := doc.Paths["/v1/auth/login"]["post"].Responses["415"]; !ok {
			t.Error("the document does not give login's 415")
		}
		if _, ok := doc.Paths["/v1/me"]["get"].Responses["415"]; ok {
			t.Error("the document gives 415 to an operation without a body")
		}
	})
}
