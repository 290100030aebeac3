package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// grantClaims are an access token's grants as its payload spells them;
// Admin is nil when the claim is absent.
type grantClaims struct {
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	Admin       *bool    `json:"admin"`
}

// claimsOf decodes an access token's payload, unverified (the signature is
// TestAccessTokenVerifiesWithJWKS's), and checks that roles and permissions
// are arrays, never null or missing.
func claimsOf(t *testing.T, raw string) grantClaims {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWS", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var shape map[string]json.RawMessage
	var c grantClaims
	if err := json.Unmarshal(payload, &shape); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"roles", "permissions"} {
		if v := string(shape[k]); !strings.HasPrefix(v, "[") {
			t.Fatalf("claim %s = %q; want an array in %s", k, v, payload)
		}
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// want returns the claims that grants should give.
func want(g userd.Grants) grantClaims {
	c := grantClaims{Roles: g.Roles, Permissions: g.Permissions}
	if c.Roles == nil {
		c.Roles = []string{}
	}
	if c.Permissions == nil {
		c.Permissions = []string{}
	}
	if g.Admin {
		c.Admin = &g.Admin
	}
	return c
}

// grantsOf reads a user's grants from the database.
func grantsOf(t *testing.T, db *sqldb.DB, userID string) userd.Grants {
	t.Helper()
	var g userd.Grants
	err := db.View(sqldb.System(context.Background()), func(tx *sqldb.Tx) (err error) {
		g, err = rbac.Grants(context.Background(), tx, userID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// system runs fn in a transaction as the system: an administrator's change.
func system(t *testing.T, db *sqldb.DB, fn func(ctx context.Context, tx *sqldb.Tx) error) {
	t.Helper()
	ctx := sqldb.System(context.Background())
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

// TestAccessClaimsAtLogin: the token of a sign-up, a password log-in and a
// SignIn (second factor, passkey, provider) carries exactly the user's roles
// and effective permissions, sorted and each once (END_USER and AGENT both
// carry account:read and account:write), and no admin claim.
func TestAccessClaimsAtLogin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		endUser := grantClaims{Roles: []string{"END_USER"}, Permissions: []string{"account:read", "account:write"}}
		if diff := cmp.Diff(endUser, claimsOf(t, ann.AccessToken)); diff != "" {
			t.Fatalf("sign-up token's claims (-want +got):\n%s", diff)
		}
		system(t, db, func(ctx context.Context, tx *sqldb.Tx) error {
			name, perms := "AUDITOR", []string{"users:read", "activity_logs:read"}
			if _, err := rbac.Create(ctx, tx, rbac.RolePatch{Name: &name, Permissions: &perms}); err != nil {
				return err
			}
			for _, r := range []string{"AGENT", "AUDITOR"} {
				if _, err := rbac.Assign(ctx, tx, ann.User.ID, r); err != nil {
					return err
				}
			}
			return nil
		})
		g := grantsOf(t, db, ann.User.ID)
		exact := grantClaims{Roles: []string{"AGENT", "AUDITOR", "END_USER"},
			Permissions: []string{"account:read", "account:write", "activity_logs:read", "users:read"}}
		if diff := cmp.Diff(exact, want(g)); diff != "" {
			t.Fatalf("the database's grants (-want +got):\n%s", diff)
		}
		l, err := s.Login(ctx, "ann@example.com", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(exact, claimsOf(t, l.AccessToken)); diff != "" {
			t.Fatalf("log-in token's claims (-want +got):\n%s", diff)
		}
		in, err := s.SignIn(ctx, ann.User.ID, client, "test")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(exact, claimsOf(t, in.AccessToken)); diff != "" {
			t.Fatalf("SignIn token's claims (-want +got):\n%s", diff)
		}
	})
}

// TestAccessClaimsAfterRoleChange: a role given after a token was issued
// shows in the token of the next refresh, and the token issued before still
// carries the old set (it is the other services' view until it expires);
// userd's own routes see the change at once. Taking the role away shows the
// same way, and so does a retry of the refresh within the grace window.
func TestAccessClaimsAfterRoleChange(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		before := claimsOf(t, ann.AccessToken)
		system(t, db, func(ctx context.Context, tx *sqldb.Tx) error {
			_, err := rbac.Assign(ctx, tx, ann.User.ID, rbac.AdminRole)
			if err != nil {
				return err
			}
			_, err = rbac.Unassign(ctx, tx, ann.User.ID, rbac.DefaultRole)
			return err
		})
		c, err := s.Authenticate(ctx, ann.AccessToken)
		if err != nil || !c.Actor.Grants.Admin || !slices.Equal(c.Actor.Grants.Roles, []string{"ADMIN"}) {
			t.Fatalf("userd's own view through the old token = %+v, %v; want the ADMIN role at once", c.Actor.Grants, err)
		}
		if diff := cmp.Diff(before, claimsOf(t, ann.AccessToken)); diff != "" {
			t.Fatalf("the old token changed (-before +now):\n%s", diff)
		}
		if !slices.Equal(before.Roles, []string{"END_USER"}) || before.Admin != nil {
			t.Fatalf("the old token carries %+v; want END_USER alone", before)
		}
		next, err := s.Refresh(ctx, ann.RefreshToken, client)
		if err != nil {
			t.Fatal(err)
		}
		// ADMIN carries no permission of its own: admin says it passes
		// every check.
		yes := true
		if diff := cmp.Diff(grantClaims{Roles: []string{"ADMIN"}, Permissions: []string{}, Admin: &yes}, claimsOf(t, next.AccessToken)); diff != "" {
			t.Fatalf("refreshed token's claims (-want +got):\n%s", diff)
		}
		retry, err := s.Refresh(ctx, ann.RefreshToken, client)
		if err != nil || retry.RefreshToken != next.RefreshToken {
			t.Fatalf("retry within the grace window = %+v, %v", retry, err)
		}
		if diff := cmp.Diff(claimsOf(t, next.AccessToken), claimsOf(t, retry.AccessToken)); diff != "" {
			t.Fatalf("the retry's token differs in its grants (-first +retry):\n%s", diff)
		}
		system(t, db, func(ctx context.Context, tx *sqldb.Tx) error {
			_, err := rbac.Unassign(ctx, tx, ann.User.ID, rbac.AdminRole)
			return err
		})
		last, err := s.Refresh(ctx, next.RefreshToken, client)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(grantClaims{Roles: []string{}, Permissions: []string{}}, claimsOf(t, last.AccessToken)); diff != "" {
			t.Fatalf("token of a user without a role (-want +got):\n%s", diff)
		}
	})
}

// TestAccessClaimsAdmin: an administrator's token says admin: true (every
// check passes, even of a permission made after the token) and lists the
// permission keys that their roles carry, as anyone's does: not every key
// there is, which would grow with each permission that an application
// defines (GET /v1/me, userd's own view, still lists every key). The same
// after a refresh.
func TestAccessClaimsAdmin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newService(t, db)
		boss := signup(t, s, account.Identity{Email: "boss@example.com"})
		system(t, db, func(ctx context.Context, tx *sqldb.Tx) error {
			if _, err := rbac.Assign(ctx, tx, boss.User.ID, rbac.AdminRole); err != nil {
				return err
			}
			_, err := rbac.CreatePermission(ctx, tx, "items:create", "")
			return err
		})
		if g := grantsOf(t, db, boss.User.ID); !g.Admin || !slices.Contains(g.Permissions, "items:create") || !slices.Contains(g.Permissions, "roles:write") {
			t.Fatalf("userd's own view of the administrator = %+v; want every key", g)
		}
		l, err := s.Login(ctx, "boss@example.com", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		yes := true
		exact := grantClaims{Roles: []string{"ADMIN", "END_USER"}, Permissions: []string{"account:read", "account:write"}, Admin: &yes}
		if diff := cmp.Diff(exact, claimsOf(t, l.AccessToken)); diff != "" {
			t.Fatalf("administrator's token (-want +got):\n%s", diff)
		}
		next, err := s.Refresh(ctx, l.RefreshToken, client)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(exact, claimsOf(t, next.AccessToken)); diff != "" {
			t.Fatalf("administrator's refreshed token (-want +got):\n%s", diff)
		}
		// An administrator without another role lists none.
		system(t, db, func(ctx context.Context, tx *sqldb.Tx) error {
			_, err := rbac.Unassign(ctx, tx, boss.User.ID, rbac.DefaultRole)
			return err
		})
		l, err = s.Login(ctx, "boss@example.com", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(grantClaims{Roles: []string{"ADMIN"}, Permissions: []string{}, Admin: &yes}, claimsOf(t, l.AccessToken)); diff != "" {
			t.Fatalf("token of an administrator alone (-want +got):\n%s", diff)
		}
	})
}

// TestAccessTokenBounded: the application defines as many permissions as it
// may (rbac.MaxPermissions), each as long as it may be
// (rbac.PermissionKeyMax). An administrator's token stays small, and userd
// takes it; so does the token of a user whose roles carry every
// permission there is, beside 100 roles with the longest names, which is
// below token.MaxJWT (and past the 16 KiB it was). One more permission, or
// a longer key, is refused.
func TestAccessTokenBounded(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newService(t, db)
		boss := signup(t, s, account.Identity{Email: "boss@example.com"})
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		var roles []string
		everyKey := 0
		system(t, db, func(ctx context.Context, tx *sqldb.Tx) error {
			for i := range rbac.MaxPermissions {
				key := fmt.Sprintf("r%03d", i) + strings.Repeat("x", rbac.PermissionKeyMax-4-len(":action")) + ":action"
				if _, err := rbac.CreatePermission(ctx, tx, key, ""); err != nil {
					return fmt.Errorf("permission %d (%d bytes): %w", i, len(key), err)
				}
			}
			if _, err := rbac.CreatePermission(ctx, tx, "items:one_more", ""); !errors.Is(err, rbac.ErrTooManyPermissions) {
				return fmt.Errorf("one permission more = %v; want ErrTooManyPermissions", err)
			}
			ps, err := rbac.Permissions(ctx, tx)
			if err != nil {
				return err
			}
			every := []string{}
			for _, p := range ps {
				every = append(every, p.Key)
			}
			everyKey = len(every)
			name := "EVERYTHING"
			if _, err := rbac.Create(ctx, tx, rbac.RolePatch{Name: &name, Permissions: &every}); err != nil {
				return err
			}
			roles = append(roles, name)
			for i := range 100 {
				name := fmt.Sprintf("R%03d", i) + strings.Repeat("X", 60)
				if _, err := rbac.Create(ctx, tx, rbac.RolePatch{Name: &name}); err != nil {
					return err
				}
				roles = append(roles, name)
			}
			for _, r := range roles {
				if _, err := rbac.Assign(ctx, tx, ann.User.ID, r); err != nil {
					return err
				}
			}
			_, err = rbac.Assign(ctx, tx, boss.User.ID, rbac.AdminRole)
			return err
		})
		tooLong := strings.Repeat("a", 32) + ":" + strings.Repeat("b", rbac.PermissionKeyMax-32)
		if err := withTx(db, func(ctx context.Context, tx *sqldb.Tx) error {
			_, err := rbac.CreatePermission(ctx, tx, tooLong, "")
			return err
		}); userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("a key of %d bytes = %v; want KindInvalid", len(tooLong), err)
		}

		l, err := s.Login(ctx, "boss@example.com", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(l.AccessToken); n > 2048 {
			t.Fatalf("the administrator's token is %d bytes; want it small", n)
		}
		if c, err := s.Authenticate(ctx, l.AccessToken); err != nil || !c.Actor.Grants.Admin {
			t.Fatalf("the administrator's token = %+v, %v", c.Actor.Grants, err)
		}

		l, err = s.Login(ctx, "ann@example.com", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		got := claimsOf(t, l.AccessToken)
		if len(got.Permissions) != everyKey ||
			len(got.Roles) != len(roles)+1 || got.Admin != nil {
			t.Fatalf("ann's token lists %d permissions and %d roles", len(got.Permissions), len(got.Roles))
		}
		if n := len(l.AccessToken); n <= 16<<10 || n >= token.MaxJWT {
			t.Fatalf("ann's token is %d bytes; want past 16 KiB and below %d", n, token.MaxJWT)
		}
		t.Logf("the largest token: %d bytes", len(l.AccessToken))
		if c, err := s.Authenticate(ctx, l.AccessToken); err != nil || c.Actor.UserID != ann.User.ID {
			t.Fatalf("ann's token = %v", err)
		}
	})
}

// withTx runs fn in a transaction as the system and returns its error.
func withTx(db *sqldb.DB, fn func(ctx context.Context, tx *sqldb.Tx) error) error {
	ctx := sqldb.System(context.Background())
	return db.Tx(ctx, func(tx *sqldb.Tx) error { return fn(ctx, tx) })
}

// TestAccessTokenVerifiesWithJWKS: a resource server that knows only the
// JWKS verifies userd's access tokens with another JOSE library
// (golang-jwt, where userd signs with go-jose) and with crypto/ed25519 on
// the compact JWS itself, and reads the grants; before and after a key
// rotation, the old key staying published.
func TestAccessTokenVerifiesWithJWKS(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newService(t, db)
		ann := signup(t, s, account.Identity{Email: "ann@example.com"})
		if _, err := s.Keys.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		later, err := s.Login(ctx, "ann@example.com", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := s.Keys.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var set struct {
			Keys []struct{ Kty, Crv, Kid, Alg, X string }
		}
		if err := json.Unmarshal(raw, &set); err != nil {
			t.Fatal(err)
		}
		published := map[string]ed25519.PublicKey{}
		for _, k := range set.Keys {
			x, err := base64.RawURLEncoding.DecodeString(k.X)
			if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || err != nil || len(x) != ed25519.PublicKeySize {
				t.Fatalf("JWK %+v: %v", k, err)
			}
			published[k.Kid] = x
		}
		kids := map[string]bool{}
		for _, tok := range []string{ann.AccessToken, later.AccessToken} {
			type claims struct {
				jwt.RegisteredClaims
				SessionID   string   `json:"sid"`
				Roles       []string `json:"roles"`
				Permissions []string `json:"permissions"`
				Admin       bool     `json:"admin"`
			}
			var c claims
			parsed, err := jwt.ParseWithClaims(tok, &c, func(tok *jwt.Token) (any, error) {
				kid, _ := tok.Header["kid"].(string)
				kids[kid] = true
				if key, ok := published[kid]; ok {
					return key, nil
				}
				return nil, jwt.ErrTokenUnverifiable
			}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("http://userd.test"), jwt.WithAudience("http://userd.test"),
				jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(time.Minute))
			if err != nil || !parsed.Valid {
				t.Fatalf("golang-jwt: %v", err)
			}
			if c.Subject != ann.User.ID || c.SessionID == "" || c.Admin ||
				!slices.Equal(c.Roles, []string{"END_USER"}) || !slices.Equal(c.Permissions, []string{"account:read", "account:write"}) {
				t.Fatalf("golang-jwt read %+v", c)
			}
			if ttl := c.ExpiresAt.Sub(c.IssuedAt.Time); ttl != 15*time.Minute {
				t.Fatalf("exp - iat = %v; want 15m", ttl)
			}
			// The standard library alone: the signature of header.payload.
			dot := strings.LastIndexByte(tok, '.')
			sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
			kid, _ := parsed.Header["kid"].(string)
			if err != nil || !ed25519.Verify(published[kid], []byte(tok[:dot]), sig) {
				t.Fatalf("crypto/ed25519 refused the token signed by %s: %v", kid, err)
			}
			tampered := strings.Replace(tok, tok[strings.IndexByte(tok, '.')+1:dot], base64.RawURLEncoding.EncodeToString(
				[]byte(`{"sub":"`+ann.User.ID+`","roles":["ADMIN"],"permissions":[],"admin":true}`)), 1)
			if _, err := jwt.Parse(tampered, func(*jwt.Token) (any, error) { return published[kid], nil }, jwt.WithValidMethods([]string{"EdDSA"})); err == nil {
				t.Fatal("golang-jwt accepted a token whose claims were changed")
			}
		}
		if len(kids) != 2 {
			t.Fatalf("tokens signed by %v; want two keys, before and after the rotation", kids)
		}
	})
}
