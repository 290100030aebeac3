package client_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/client"
)

// TestGoClient drives a real userd through the generated client: sign-up,
// log-in, the current user, a follow seen in both users' counters and in
// the followers' list; then checks the access tokens it issued with
// VerifyAccessToken: accepted as issued, refused once tampered with or
// past their expiry.
func TestGoClient(t *testing.T) {
	t.Parallel()
	srv := startUserd(t)
	ctx := context.Background()
	anon, err := client.NewClientWithResponses(srv.url)
	if err != nil {
		t.Fatal(err)
	}
	signup := func(email string) *client.LoginBody {
		t.Helper()
		r, err := anon.SignupWithResponse(ctx, client.SignupJSONRequestBody{Email: &email, Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode() != http.StatusCreated || r.JSON201 == nil {
			t.Fatalf("signup %s = %d %s", email, r.StatusCode(), r.Body)
		}
		return r.JSON201
	}
	ann, bob := signup("ann@example.com"), signup("bob@example.com")
	if ann.User.Email == nil || *ann.User.Email != "ann@example.com" || ann.TokenType != "Bearer" || ann.ExpiresIn <= 0 {
		t.Fatalf("signup body = %+v", ann)
	}

	login, err := anon.LoginWithResponse(ctx, client.LoginJSONRequestBody{Identifier: "ann@example.com", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if login.StatusCode() != http.StatusOK || login.JSON200 == nil || login.JSON200.User.Id != ann.User.Id {
		t.Fatalf("login = %d %s", login.StatusCode(), login.Body)
	}
	wrong, err := anon.LoginWithResponse(ctx, client.LoginJSONRequestBody{Identifier: "ann@example.com", Password: "not her password"})
	if err != nil {
		t.Fatal(err)
	}
	if wrong.StatusCode() != http.StatusUnauthorized || !strings.Contains(string(wrong.Body), `"invalid_credentials"`) {
		t.Fatalf("wrong password = %d %s", wrong.StatusCode(), wrong.Body)
	}

	asAnn, err := client.NewClientWithResponses(srv.url, client.WithBearer(login.JSON200.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	me, err := asAnn.GetMeWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.JSON200 == nil || me.JSON200.Id != ann.User.Id || *me.JSON200.Email != "ann@example.com" || me.JSON200.Status != client.UserWithRolesStatusActive {
		t.Fatalf("me = %d %s", me.StatusCode(), me.Body)
	}
	noAuth, err := anon.GetMeWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if noAuth.StatusCode() != http.StatusUnauthorized || noAuth.ApplicationproblemJSON401 == nil {
		t.Fatalf("me without a token = %d %s", noAuth.StatusCode(), noAuth.Body)
	}

	bobID := bob.User.Id.String()
	for range 2 { // following is idempotent: 204 both times
		f, err := asAnn.FollowWithResponse(ctx, bobID)
		if err != nil {
			t.Fatal(err)
		}
		if f.StatusCode() != http.StatusNoContent {
			t.Fatalf("follow = %d %s", f.StatusCode(), f.Body)
		}
	}
	prof, err := asAnn.GetUserWithResponse(ctx, bobID)
	if err != nil {
		t.Fatal(err)
	}
	if prof.JSON200 == nil || prof.JSON200.FollowersCount != 1 || prof.JSON200.FollowingsCount != 0 ||
		prof.JSON200.FollowedByMe == nil || !*prof.JSON200.FollowedByMe {
		t.Fatalf("bob's profile = %d %s", prof.StatusCode(), prof.Body)
	}
	followers, err := anon.FollowersWithResponse(ctx, bobID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if followers.JSON200 == nil || followers.JSON200.Items == nil || len(*followers.JSON200.Items) != 1 || (*followers.JSON200.Items)[0].Id != ann.User.Id {
		t.Fatalf("bob's followers = %d %s", followers.StatusCode(), followers.Body)
	}
	self, err := asAnn.FollowWithResponse(ctx, ann.User.Id.String())
	if err != nil {
		t.Fatal(err)
	}
	if self.StatusCode() != http.StatusUnprocessableEntity || self.ApplicationproblemJSON422 == nil || !strings.Contains(string(self.Body), `"self_follow"`) {
		t.Fatalf("self-follow = %d %s", self.StatusCode(), self.Body)
	}

	t.Run("VerifyAccessToken", func(t *testing.T) {
		v := client.NewVerifier(srv.url, client.VerifierOptions{})
		tok := login.JSON200.AccessToken
		c, err := v.VerifyAccessToken(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != ann.User.Id.String() || c.SessionID != login.JSON200.Session.Id.String() || c.Issuer != srv.url ||
			!slices.Equal(c.Roles, []string{"END_USER"}) || c.Admin || !c.Can("account:read") || c.Can("users:write") {
			t.Fatalf("claims = %+v", c)
		}
		if life := c.Expiry.Sub(c.IssuedAt); life != 15*time.Minute {
			t.Fatalf("the token lives %s, want the default 15m", life)
		}
		for name, bad := range tampered(t, tok) {
			if _, err := v.VerifyAccessToken(ctx, bad); !errors.Is(err, client.ErrInvalidToken) {
				t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
			}
		}

		at := c.Expiry.Add(time.Second)
		late := client.NewVerifier(srv.url, client.VerifierOptions{Now: func() time.Time { return at }})
		if _, err := late.VerifyAccessToken(ctx, tok); !errors.Is(err, client.ErrTokenExpired) {
			t.Fatalf("a second past its expiry: err = %v, want ErrTokenExpired", err)
		}
		lenient := client.NewVerifier(srv.url, client.VerifierOptions{Now: func() time.Time { return at }, Leeway: 2 * time.Second})
		if _, err := lenient.VerifyAccessToken(ctx, tok); err != nil {
			t.Fatalf("a second past its expiry with 2 s of leeway: %v", err)
		}

		other := client.NewVerifier(srv.url, client.VerifierOptions{Issuer: "https://id.example.com"})
		if _, err := other.VerifyAccessToken(ctx, tok); !errors.Is(err, client.ErrInvalidToken) {
			t.Fatalf("another issuer: err = %v, want ErrInvalidToken", err)
		}
		down := client.NewVerifier("http://"+freeAddr(t), client.VerifierOptions{})
		if _, err := down.VerifyAccessToken(ctx, tok); err == nil || errors.Is(err, client.ErrInvalidToken) {
			t.Fatalf("no JWKS to read: err = %v, want the cause", err)
		}
	})
}

// tampered returns forgeries of the access token tok: a claim changed, the
// signature of another token, no signature, alg none, an unknown key id.
func tampered(t *testing.T, tok string) map[string]string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	dec := func(s string) string {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	header, payload := dec(parts[0]), dec(parts[1])
	if !strings.Contains(payload, `"roles":["END_USER"]`) || !strings.Contains(header, `"kid":"`) {
		t.Fatalf("unexpected token: %s %s", header, payload)
	}
	admin := enc(strings.Replace(payload, `"roles":["END_USER"]`, `"roles":["ADMIN"],"admin":true`, 1))
	kid := header[strings.Index(header, `"kid":"`)+7:]
	kid = kid[:strings.Index(kid, `"`)]
	return map[string]string{
		"payload changed":  parts[0] + "." + admin + "." + parts[2],
		"signature cut":    parts[0] + "." + parts[1] + ".",
		"signature zeroed": parts[0] + "." + parts[1] + "." + enc(strings.Repeat("\x00", 64)),
		"alg none":         enc(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + ".",
		"HS256":            enc(strings.Replace(header, `"EdDSA"`, `"HS256"`, 1)) + "." + parts[1] + "." + parts[2],
		"unknown kid":      enc(strings.Replace(header, kid, "not-"+kid, 1)) + "." + parts[1] + "." + parts[2],
		"not a JWT":        "uds_not-a-jwt",
		"over 32 KiB":      parts[0] + "." + parts[1] + strings.Repeat("A", 32<<10) + "." + parts[2],
	}
}
