package web_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/userd/userd/internal/feature/federation"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// idp is an outside identity provider: a JWKS on loopback and the keys
// behind it.
type idp struct {
	mu   sync.Mutex
	keys map[string]*rsa.PrivateKey
	srv  *httptest.Server
}

func newIDP(t *testing.T) *idp {
	p := &idp{keys: map[string]*rsa.PrivateKey{}}
	p.rotate("k1")
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		set := jose.JSONWebKeySet{}
		for kid, k := range p.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) rotate(kid string) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	p.mu.Lock()
	p.keys[kid] = k
	p.mu.Unlock()
}

// token signs claims with the key kid (or with key when given).
func (p *idp) token(t *testing.T, kid string, key *rsa.PrivateKey, claims map[string]any) string {
	if key == nil {
		p.mu.Lock()
		key = p.keys[kid]
		p.mu.Unlock()
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestExternalIdentity: tokens of an outside provider sign users in by
// their sub; the first request makes the user; bad tokens are refused.
func TestExternalIdentity(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		p := newIDP(t)
		ext, err := federation.NewExternal(context.Background(), federation.ExternalConfig{JWKSURL: p.srv.URL, Issuer: "https://idp.test/", Audience: "userd-app"})
		if err != nil {
			t.Fatal(err)
		}
		c := startWith(t, db, options{external: ext})
		now := time.Now()
		claims := func(sub string, mod func(map[string]any)) map[string]any {
			m := map[string]any{"iss": "https://idp.test/", "aud": "userd-app", "sub": sub, "email": sub + "@example.com",
				"iat": now.Unix(), "nbf": now.Unix() - 5, "exp": now.Add(time.Hour).Unix()}
			if mod != nil {
				mod(m)
			}
			return m
		}
		tok := p.token(t, "k1", nil, claims("auth0|ann", nil))
		r := c.do("GET", "/v1/me", nil, tok)
		if r.Status != 200 || r.Body["auth_user_id"] != "auth0|ann" || r.Body["is_first_connection"] != true || r.Body["email"] != "auth0|ann@example.com" {
			t.Fatalf("first request = %d %s", r.Status, r.Raw)
		}
		id := str(r.Body, "id")
		if r := c.do("GET", "/v1/me", nil, p.token(t, "k1", nil, claims("auth0|ann", nil))); str(r.Body, "id") != id {
			t.Fatalf("second request made another user: %s", r.Raw)
		}
		// Concurrent first requests of a new subject make one user.
		var wg sync.WaitGroup
		ids := make([]string, 10)
		bob := p.token(t, "k1", nil, claims("cognito-bob", nil))
		for i := range ids {
			wg.Go(func() { ids[i] = str(c.do("GET", "/v1/me", nil, bob).Body, "id") })
		}
		wg.Wait()
		var n int
		db.SQL().QueryRow(`SELECT count(*) FROM users WHERE auth_user_id = 'cognito-bob'`).Scan(&n)
		if n != 1 || ids[0] == "" || ids[0] != ids[9] {
			t.Fatalf("concurrent first requests: %d users, ids %v", n, ids)
		}
		// A key the provider added later is fetched on first sight.
		p.rotate("k2")
		if r := c.do("GET", "/v1/me", nil, p.token(t, "k2", nil, claims("auth0|ann", nil))); r.Status != 200 {
			t.Fatalf("a token of a new key = %d", r.Status)
		}
		foreign, _ := rsa.GenerateKey(rand.Reader, 2048)
		seg := func(s string, i int) string { return strings.Split(s, ".")[i] }
		for name, bad := range map[string]string{
			"other issuer":   p.token(t, "k1", nil, claims("x", func(m map[string]any) { m["iss"] = "https://evil.test/" })),
			"other audience": p.token(t, "k1", nil, claims("x", func(m map[string]any) { m["aud"] = "another-app" })),
			"expired":        p.token(t, "k1", nil, claims("x", func(m map[string]any) { m["exp"] = now.Add(-time.Hour).Unix() })),
			"not yet valid":  p.token(t, "k1", nil, claims("x", func(m map[string]any) { m["nbf"] = now.Add(time.Hour).Unix() })),
			"foreign key":    p.token(t, "k1", foreign, claims("x", nil)),
			"unknown kid":    p.token(t, "k9", foreign, claims("x", nil)),
			"alg none":       "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + seg(tok, 1) + ".",
			"no sub":         p.token(t, "k1", nil, claims("", nil)),
		} {
			if r := c.do("GET", "/v1/me", nil, bad); r.Status != 401 {
				t.Errorf("%s = %d %s", name, r.Status, r.Raw)
			}
		}
		db.SQL().QueryRow(`SELECT count(*) FROM users`).Scan(&n)
		if n != 2 {
			t.Fatalf("users = %d; want 2: refused tokens made users", n)
		}
		// userd's own tokens still work beside the outside ones.
		_, own := c.signup(map[string]any{"email": "carol@example.com"})
		if r := c.do("GET", "/v1/me", nil, own); r.Status != 200 {
			t.Fatalf("own session = %d", r.Status)
		}
	})
}

// TestExternalReferral: with --external-referral-claim, a new subject's
// first request records the referral its token names, once; an unknown
// slug loses the referral but not the request.
func TestExternalReferral(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		p := newIDP(t)
		ext, err := federation.NewExternal(context.Background(), federation.ExternalConfig{JWKSURL: p.srv.URL, Issuer: "https://idp.test/",
			ReferralClaim: "custom:referral"})
		if err != nil {
			t.Fatal(err)
		}
		c := startWith(t, db, options{external: ext})
		_, ann := c.signup(map[string]any{"email": "ann@example.com"})
		if r := c.do("PUT", "/v1/me/referral", map[string]any{"slug": "ann-invites"}, ann); r.Status != 200 {
			t.Fatalf("choose slug = %d %s", r.Status, r.Raw)
		}
		now := time.Now()
		token := func(sub, slug string) string {
			return p.token(t, "k1", nil, map[string]any{"iss": "https://idp.test/", "sub": sub, "custom:referral": slug,
				"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		}
		bob := str(c.do("GET", "/v1/me", nil, token("cognito-bob", "Ann-Invites")).Body, "id")
		if r := c.do("GET", "/v1/me", nil, token("cognito-bob", "ann-invites")); r.Status != 200 || str(r.Body, "id") != bob {
			t.Fatalf("second request = %d %s", r.Status, r.Raw)
		}
		if r := c.do("GET", "/v1/me", nil, token("cognito-carol", "nobody-here")); r.Status != 200 {
			t.Fatalf("a token with an unknown referral = %d %s", r.Status, r.Raw)
		}
		r := c.do("GET", "/v1/me/referral", nil, ann)
		users, _ := r.Body["referred_users"].([]any)
		if bob == "" || r.Body["referred_count"] != float64(1) || len(users) != 1 || str(users[0].(map[string]any), "id") != bob {
			t.Fatalf("referral = %s", r.Raw)
		}
	})
}
