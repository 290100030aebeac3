package web_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// lockedBuffer is a log that concurrent requests write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRequestLog: every request has one log line with its id (echoed in
// X-Request-Id; an untrusted client's own id is not taken), method, route
// pattern, status, bytes and caller; across a walk-through of sign-up,
// log-in, a refresh, an API key, a password reset and a cookie session,
// no password, token or key that it used appears anywhere in the log.
func TestRequestLog(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			logs := &lockedBuffer{}
			box := newMailbox(t)
			c := startWith(t, dbtest.Open(t, engine), options{log: logs, mailer: box.sender()})
			const pw, newPW = "correct horse battery", "another horse battery"
			r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": pw}, "", "X-Request-Id", "client-chosen")
			if r.Status != http.StatusCreated || r.Header.Get("X-Request-Id") == "" || r.Header.Get("X-Request-Id") == "client-chosen" {
				t.Fatalf("signup = %d, request id %q", r.Status, r.Header.Get("X-Request-Id"))
			}
			signupID := r.Header.Get("X-Request-Id")
			annID := str(r.Body["user"].(map[string]any), "id")
			sess := r.Body["session"].(map[string]any)
			secrets := []string{pw, newPW, str(sess, "token"), str(r.Body, "access_token"), str(r.Body, "refresh_token")}
			c.grant(annID, "ADMIN")
			r = c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": secrets[4]}, "")
			if r.Status != http.StatusOK {
				t.Fatalf("refresh = %d %s", r.Status, r.Raw)
			}
			secrets = append(secrets, str(r.Body, "access_token"), str(r.Body, "refresh_token"))
			r = c.do("POST", "/v1/admin/api-keys", map[string]any{"name": "cms", "permissions": []string{"users:read"}}, str(sess, "token"))
			key := str(r.Body, "key")
			keyID := str(r.Body, "id")
			secrets = append(secrets, key)
			if r := c.do("GET", "/v1/admin/users/"+annID, nil, key); r.Status != http.StatusOK {
				t.Fatalf("with the key = %d %s", r.Status, r.Raw)
			}
			if r := c.do("POST", "/v1/auth/password/forgot", map[string]any{"email": "ann@example.com"}, ""); r.Status != http.StatusAccepted {
				t.Fatalf("forgot = %d", r.Status)
			}
			verify, reset := "", ""
			for reset == "" { // the sign-up's verification mail comes first
				base, tok := link(t, box.next())
				if strings.HasSuffix(base, "/reset-password") {
					reset = tok
				} else {
					verify = tok
				}
			}
			secrets = append(secrets, verify, reset)
			if r := c.do("GET", "/reset-password?token="+reset, nil, ""); r.Status != http.StatusOK {
				t.Fatalf("reset page = %d", r.Status)
			}
			if r := c.do("POST", "/v1/auth/password/reset", map[string]any{"token": reset, "password": newPW}, ""); r.Status != http.StatusNoContent {
				t.Fatalf("reset = %d %s", r.Status, r.Raw)
			}
			r = c.do("POST", "/v1/auth/login", map[string]any{"identifier": "ann@example.com", "password": newPW}, "")
			secrets = append(secrets, str(r.Body["session"].(map[string]any), "token"))
			if r := c.do("GET", "/v1/nowhere", nil, ""); r.Status != http.StatusNotFound {
				t.Fatalf("nowhere = %d", r.Status)
			}

			type line struct {
				Msg       string `json:"msg"`
				RequestID string `json:"request_id"`
				Method    string `json:"method"`
				Route     string `json:"route"`
				Status    int    `json:"status"`
				Bytes     int64  `json:"bytes"`
				UserID    string `json:"user_id"`
				APIKeyID  string `json:"api_key_id"`
				Client    string `json:"client"`
			}
			byID := map[string]line{}
			var routes []string
			sc := bufio.NewScanner(strings.NewReader(logs.String()))
			for sc.Scan() {
				var l line
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatalf("not JSON: %s", sc.Text())
				}
				if l.Msg == "request" {
					byID[l.RequestID] = l
					routes = append(routes, l.Method+" "+l.Route+" "+http.StatusText(l.Status))
				}
			}
			if l := byID[signupID]; l.Route != "POST /v1/auth/signup" || l.Status != http.StatusCreated || l.Bytes == 0 || l.Client != "127.0.0.1" {
				t.Errorf("the sign-up's line = %+v", l)
			}
			var sawKey, sawUser, sawMissing bool
			for _, l := range byID {
				sawKey = sawKey || (l.APIKeyID == keyID && l.Route == "GET /v1/admin/users/{id}")
				sawUser = sawUser || (l.UserID == annID && l.Route == "POST /v1/admin/api-keys")
				sawMissing = sawMissing || (l.Status == http.StatusNotFound && l.UserID == "")
			}
			if !sawKey || !sawUser || !sawMissing {
				t.Errorf("caller lines: key %v, user %v, not found %v; routes %v", sawKey, sawUser, sawMissing, routes)
			}
			if len(byID) != 9 || len(routes) != 9 { // one line each, under its own id
				t.Errorf("%d request lines, %d ids, for 9 requests: %v", len(routes), len(byID), routes)
			}
			all := logs.String()
			for _, s := range secrets {
				if s == "" {
					t.Fatal("a secret of the walk-through is empty")
				}
				if strings.Contains(all, s) {
					t.Errorf("the log holds a secret: %.12s…", s)
				}
			}
		})
	}
}

// TestRequestLogProxy: behind a trusted proxy, the proxy's X-Request-Id is
// the request's (echoed and logged) unless it is too long or not printable,
// and the client is the forwarded address.
func TestRequestLogProxy(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			logs := &lockedBuffer{}
			c := startWith(t, dbtest.Open(t, engine), options{log: logs, proxies: []*net.IPNet{loopback}})
			for in, want := range map[string]string{"edge-7f3a": "edge-7f3a", strings.Repeat("x", 129): "", "has space": ""} {
				r := c.do("GET", "/healthz", nil, "", "X-Request-Id", in, "X-Forwarded-For", "198.51.100.7")
				got := r.Header.Get("X-Request-Id")
				if (want != "" && got != want) || (want == "" && (got == in || got == "")) {
					t.Errorf("X-Request-Id %.20q answered %q", in, got)
				}
				if !strings.Contains(logs.String(), `"request_id":"`+got+`"`) || !strings.Contains(logs.String(), `"client":"198.51.100.7"`) {
					t.Errorf("no line for %q from the forwarded client in %s", got, logs.String())
				}
			}
		})
	}
}
