package web_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestClaimsSignup: the access token of a sign-up answer carries the user's
// roles and permissions, and a service that knows only
// /.well-known/jwks.json verifies it; so does the token of a refresh.
func TestClaimsSignup(t *testing.T) {
	engines(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/v1/auth/signup", map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, "")
		if r.Status != http.StatusCreated {
			t.Fatalf("signup = %d %s", r.Status, r.Raw)
		}
		userID := r.Body["user"].(map[string]any)["id"].(string)
		access, _ := r.Body["access_token"].(string)
		refresh, _ := r.Body["refresh_token"].(string)
		jwks := c.do("GET", "/.well-known/jwks.json", nil, "")
		if jwks.Status != http.StatusOK {
			t.Fatalf("jwks = %d", jwks.Status)
		}
		check := func(name, tok string) {
			t.Helper()
			claims := verifiedClaims(t, jwks.Raw, tok)
			var roles, perms []string
			if err := json.Unmarshal(claims["roles"], &roles); err != nil {
				t.Fatalf("%s: roles = %s: %v", name, claims["roles"], err)
			}
			if err := json.Unmarshal(claims["permissions"], &perms); err != nil {
				t.Fatalf("%s: permissions = %s: %v", name, claims["permissions"], err)
			}
			if !slices.Equal(roles, []string{"END_USER"}) || !slices.Contains(perms, "account:read") || !slices.Contains(perms, "account:write") {
				t.Fatalf("%s: roles %v, permissions %v; want [END_USER] with account:read and account:write", name, roles, perms)
			}
			if _, ok := claims["admin"]; ok {
				t.Fatalf("%s: admin = %s; want no admin claim", name, claims["admin"])
			}
			if sub := string(claims["sub"]); sub != `"`+userID+`"` {
				t.Fatalf("%s: sub = %s; want %q", name, sub, userID)
			}
		}
		check("sign-up", access)
		next := c.do("POST", "/v1/auth/token", map[string]any{"refresh_token": refresh}, "")
		if next.Status != http.StatusOK {
			t.Fatalf("refresh = %d %s", next.Status, next.Raw)
		}
		check("refresh", next.Body["access_token"].(string))
	})
}

// verifiedClaims checks a compact JWS's EdDSA signature against the key of
// its kid in a JWKS, with the standard library alone, and returns its
// claims.
func verifiedClaims(t *testing.T, jwks []byte, tok string) map[string]json.RawMessage {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWS", tok)
	}
	var header struct{ Alg, Kid string }
	type jwk struct{ Kid, Crv, X string }
	var set struct{ Keys []jwk }
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(h, &header) != nil || header.Alg != "EdDSA" {
		t.Fatalf("header %s: %v", h, err)
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(set.Keys, func(k jwk) bool { return k.Kid == header.Kid })
	if i < 0 || set.Keys[i].Crv != "Ed25519" {
		t.Fatalf("no Ed25519 key %q in %s", header.Kid, jwks)
	}
	pub, err1 := base64.RawURLEncoding.DecodeString(set.Keys[i].X)
	sig, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatalf("the signature does not verify with the JWKS's key %q", header.Kid)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}
