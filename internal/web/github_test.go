package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/userd/userd/internal/feature/federation"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// gitHub is a GitHub Enterprise Server's OAuth and REST endpoints, on
// loopback: it checks the client, the PKCE verifier and the token.
type gitHub struct {
	mu         sync.Mutex
	challenges map[string]string // code → PKCE challenge
	email      string
	verified   bool
}

func (g *gitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch r.URL.Path {
	case "/login/oauth/authorize":
		q := r.URL.Query()
		if q.Get("client_id") != "gh-client" || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "bad authorize", 400)
			return
		}
		code := "code-" + q.Get("state")[:8]
		g.challenges[code] = q.Get("code_challenge")
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	case "/login/oauth/access_token":
		r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
		}
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		want, known := g.challenges[r.Form.Get("code")]
		delete(g.challenges, r.Form.Get("code"))
		if id != "gh-client" || secret != "gh-secret" || !known || base64.RawURLEncoding.EncodeToString(sum[:]) != want {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"access_token": "gho_token", "token_type": "bearer", "scope": "read:user,user:email"})
	case "/api/v3/user", "/api/v3/user/emails":
		if r.Header.Get("Authorization") != "Bearer gho_token" {
			http.Error(w, "bad token", 401)
			return
		}
		if strings.HasSuffix(r.URL.Path, "emails") {
			json.NewEncoder(w).Encode([]map[string]any{{"email": "other@example.com", "primary": false, "verified": true},
				{"email": g.email, "primary": true, "verified": g.verified}})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": 583231, "login": "octocat", "name": "Mona Lisa", "avatar_url": "https://avatars.example/u/583231"})
	default:
		http.NotFound(w, r)
	}
}

// TestGitHubLogin: the github preset (OAuth 2.0 with PKCE and state, the
// user from the REST API) against a GitHub Enterprise Server on loopback.
func TestGitHubLogin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		g := &gitHub{challenges: map[string]string{}, email: "Mona@Example.com", verified: true}
		gh := httptest.NewServer(g)
		defer gh.Close()
		p, err := federation.ParseProvider("github," + gh.URL + ",gh-client,gh-secret")
		if err != nil {
			t.Fatal(err)
		}
		c := startWith(t, db, options{oidc: []federation.Provider{p}})
		res := get3xx(t, c.url+"/v1/auth/oauth/github/start")
		back := get3xx(t, res.Header.Get("Location")).Header.Get("Location")
		cb, err := noRedirects.Get(back)
		if err != nil {
			t.Fatal(err)
		}
		r := decode(t, cb)
		user, _ := r.Body["user"].(map[string]any)
		if r.Status != 200 || user["email"] != "mona@example.com" || user["first_name"] != "Mona" || user["email_verified_at"] == nil {
			t.Fatalf("github callback = %d %s", r.Status, r.Raw)
		}
		var n int
		db.SQL().QueryRow(`SELECT count(*) FROM accounts WHERE provider = 'github' AND provider_account_id = '583231'`).Scan(&n)
		if n != 1 {
			t.Fatalf("github accounts = %d", n)
		}
		// A code used twice is refused by the provider; the state too.
		if again, _ := noRedirects.Get(back); decode(t, again).Status != 400 {
			t.Fatal("a replayed callback went through")
		}
	})
}
