package web_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/userd/userd/internal/feature/passkey"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

const rpOrigin = "http://localhost:8443"

var rp = virtualwebauthn.RelyingParty{ID: "localhost", Name: "userd", Origin: rpOrigin}

func userHandle(id string) []byte {
	b, _ := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	return b
}

// newCredential returns a P-256 credential for the virtual authenticator.
// virtualwebauthn writes a public key's coordinates without their leading
// zero bytes, which COSE keeps (so go-webauthn rightly refuses such a key,
// one in about 64), so the key is drawn until both coordinates are whole.
func newCredential(t *testing.T) virtualwebauthn.Credential {
	for {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(key.X.Bytes()) != 32 || len(key.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	}
}

// registerPasskey runs the registration ceremony for a signed-in user with
// a virtual authenticator.
func registerPasskey(t *testing.T, c *client, tok, userID string) (virtualwebauthn.Authenticator, virtualwebauthn.Credential) {
	t.Helper()
	r := c.do("POST", "/v1/auth/passkeys/register/begin", nil, tok)
	if r.Status != 200 {
		t.Fatalf("register begin = %d %s", r.Status, r.Raw)
	}
	opts, _ := json.Marshal(r.Body["options"])
	parsed, err := virtualwebauthn.ParseAttestationOptions(string(opts))
	if err != nil {
		t.Fatal(err)
	}
	auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: userHandle(userID)})
	cred := newCredential(t)
	resp := virtualwebauthn.CreateAttestationResponse(rp, auth, cred, *parsed)
	r = c.do("POST", "/v1/auth/passkeys/register/finish", map[string]any{"challenge_id": str(r.Body, "challenge_id"), "name": "Laptop", "credential": json.RawMessage(resp)}, tok)
	if r.Status != 201 || str(r.Body, "name") != "Laptop" {
		t.Fatalf("register finish = %d %s", r.Status, r.Raw)
	}
	auth.AddCredential(cred)
	return auth, cred
}

// passkeyAssertion begins a log-in ceremony and answers it with the
// virtual authenticator: the ceremony's id and the assertion as JSON.
func passkeyAssertion(t *testing.T, c *client, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential) (string, json.RawMessage) {
	t.Helper()
	r := c.do("POST", "/v1/auth/passkeys/login/begin", nil, "")
	opts, _ := json.Marshal(r.Body["options"])
	parsed, err := virtualwebauthn.ParseAssertionOptions(string(opts))
	if err != nil {
		t.Fatal(err)
	}
	return str(r.Body, "challenge_id"), json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *parsed))
}

// loginPasskey runs the log-in ceremony.
func loginPasskey(t *testing.T, c *client, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential) response {
	t.Helper()
	id, resp := passkeyAssertion(t, c, auth, cred)
	return c.do("POST", "/v1/auth/passkeys/login/finish", map[string]any{"challenge_id": id, "credential": resp}, "")
}

// TestPasskeys: registration and log-in ceremonies against go-webauthn,
// with a virtual authenticator; replayed ceremonies, another user's
// credential and a sign count that goes backwards are refused.
func TestPasskeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := startWith(t, db, options{rpOrigin: rpOrigin})
		annID, ann := c.signup(map[string]any{"email": "ann@example.com"})
		auth, cred := registerPasskey(t, c, ann, annID)
		cred.Counter = 5
		r := loginPasskey(t, c, auth, cred)
		if r.Status != 200 || str(r.Body["user"].(map[string]any), "id") != annID {
			t.Fatalf("passkey log-in = %d %s", r.Status, r.Raw)
		}
		if me := c.do("GET", "/v1/me", nil, str(r.Body["session"].(map[string]any), "token")); me.Status != 200 {
			t.Fatalf("the passkey session = %d", me.Status)
		}
		// The sign count going backwards is a cloned authenticator.
		cred.Counter = 3
		if r := loginPasskey(t, c, auth, cred); r.Status != 401 || r.code() != "passkey_refused" {
			t.Fatalf("a backwards sign count = %d %s", r.Status, r.Raw)
		}
		// Bob's authenticator claiming to be Ann.
		bobID, bob := c.signup(map[string]any{"email": "bob@example.com"})
		bobAuth, bobCred := registerPasskey(t, c, bob, bobID)
		forged := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: userHandle(annID)})
		forged.AddCredential(bobCred)
		bobCred.Counter = 1
		if r := loginPasskey(t, c, forged, bobCred); r.Status != 401 {
			t.Fatalf("bob's credential as ann = %d %s", r.Status, r.Raw)
		}
		bobCred.Counter = 2
		if r := loginPasskey(t, c, bobAuth, bobCred); r.Status != 200 || str(r.Body["user"].(map[string]any), "id") != bobID {
			t.Fatalf("bob's own log-in = %d %s", r.Status, r.Raw)
		}
		// A ceremony works once; garbage is refused.
		begin := c.do("POST", "/v1/auth/passkeys/login/begin", nil, "")
		opts, _ := json.Marshal(begin.Body["options"])
		parsed, _ := virtualwebauthn.ParseAssertionOptions(string(opts))
		bobCred.Counter = 3
		resp := json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, bobAuth, bobCred, *parsed))
		body := map[string]any{"challenge_id": str(begin.Body, "challenge_id"), "credential": resp}
		if r := c.do("POST", "/v1/auth/passkeys/login/finish", body, ""); r.Status != 200 {
			t.Fatalf("finish = %d", r.Status)
		}
		if r := c.do("POST", "/v1/auth/passkeys/login/finish", body, ""); r.Status != 401 || r.code() != "invalid_challenge" {
			t.Fatalf("a replayed ceremony = %d %s", r.Status, r.Raw)
		}
		if r := c.do("POST", "/v1/auth/passkeys/login/finish", map[string]any{"challenge_id": "udw_x", "credential": map[string]any{"id": 1}}, ""); r.Status != 400 {
			t.Fatalf("garbage credential = %d %s", r.Status, r.Raw)
		}
		// List and delete.
		r = c.do("GET", "/v1/me/passkeys", nil, ann)
		items := r.Body["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["last_used_at"] == nil {
			t.Fatalf("passkeys = %s", r.Raw)
		}
		id := str(items[0].(map[string]any), "id")
		if r := c.do("DELETE", "/v1/me/passkeys/"+id, nil, bob); r.Status != 404 {
			t.Fatalf("bob deleting ann's passkey = %d", r.Status)
		}
		if r := c.do("DELETE", "/v1/me/passkeys/"+id, nil, ann); r.Status != 204 {
			t.Fatalf("delete = %d", r.Status)
		}
		cred.Counter = 10
		if r := loginPasskey(t, c, auth, cred); r.Status != 401 {
			t.Fatalf("a deleted passkey's log-in = %d", r.Status)
		}
	})
}

// TestPasskeyLoginBeginLimit: one address may begin passkey.LoginsPerIP
// passwordless log-ins in its window; the next is 429 and stores no
// ceremony, and another address (through a trusted proxy) still may.
func TestPasskeyLoginBeginLimit(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	enginesWith(t, options{limits: true, rpOrigin: "auto", proxies: []*net.IPNet{loopback}}, func(t *testing.T, c *client) {
		begin := func(ip string) response {
			return c.do("POST", "/v1/auth/passkeys/login/begin", map[string]any{}, "", "X-Forwarded-For", ip)
		}
		for i := range passkey.LoginsPerIP.Max {
			if r := begin("198.51.100.1"); r.Status != http.StatusOK {
				t.Fatalf("begin %d = %d %s", i+1, r.Status, r.Raw)
			}
		}
		if r := begin("198.51.100.1"); r.Status != http.StatusTooManyRequests || r.code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("begin past the limit = %d %s", r.Status, r.Raw)
		}
		var n int
		c.db.SQL().QueryRow(`SELECT count(*) FROM webauthn_challenges WHERE kind = 'login'`).Scan(&n)
		if n != passkey.LoginsPerIP.Max {
			t.Errorf("%d ceremonies stored, want %d", n, passkey.LoginsPerIP.Max)
		}
		if r := begin("198.51.100.2"); r.Status != http.StatusOK {
			t.Errorf("another address = %d %s", r.Status, r.Raw)
		}
	})
}
