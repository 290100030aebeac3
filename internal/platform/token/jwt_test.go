package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestAccessClaims: roles and permissions are always arrays ([] for none),
// admin is there only when true, org_id, org_role and org_slug only for an
// active organisation, and VerifyAccess reads back what SignAccess wrote.
func TestAccessClaims(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	key := func(string) (ed25519.PublicKey, bool) { return pub, true }
	now := time.Now().Truncate(time.Second)
	base := Access{Issuer: "https://id.example", Audience: "https://id.example", Subject: "u", SessionID: "s", ID: "j",
		IssuedAt: now, Expires: now.Add(15 * time.Minute)}
	for _, tt := range []struct {
		name                     string
		roles, permissions       []string
		admin                    bool
		org                      [3]string         // OrgID, OrgRole, OrgSlug
		wantPayload              map[string]string // the grant claims as they are written
		wantRoles, wantPermitted []string
	}{
		{"none", nil, nil, false, [3]string{}, map[string]string{"roles": `[]`, "permissions": `[]`}, []string{}, []string{}},
		{"user", []string{"END_USER"}, []string{"account:read", "account:write"}, false, [3]string{},
			map[string]string{"roles": `["END_USER"]`, "permissions": `["account:read","account:write"]`}, []string{"END_USER"}, []string{"account:read", "account:write"}},
		{"admin", []string{"ADMIN"}, []string{"users:read"}, true, [3]string{},
			map[string]string{"roles": `["ADMIN"]`, "permissions": `["users:read"]`, "admin": `true`}, []string{"ADMIN"}, []string{"users:read"}},
		{"organisation", nil, nil, false, [3]string{"o1", "admin", "acme"},
			map[string]string{"roles": `[]`, "permissions": `[]`, "org_id": `"o1"`, "org_role": `"admin"`, "org_slug": `"acme"`}, []string{}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			a.Roles, a.Permissions, a.Admin = tt.roles, tt.permissions, tt.admin
			a.OrgID, a.OrgRole, a.OrgSlug = tt.org[0], tt.org[1], tt.org[2]
			raw, err := SignAccess(a, "k1", priv)
			if err != nil {
				t.Fatal(err)
			}
			payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]json.RawMessage
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			grants := map[string]string{}
			for _, k := range []string{"roles", "permissions", "admin", "org_id", "org_role", "org_slug"} {
				if v, ok := claims[k]; ok {
					grants[k] = string(v)
				}
			}
			if diff := cmp.Diff(tt.wantPayload, grants); diff != "" {
				t.Fatalf("grant claims of %s (-want +got):\n%s", payload, diff)
			}
			got, err := VerifyAccess(raw, base.Issuer, base.Audience, now, key)
			if err != nil {
				t.Fatal(err)
			}
			want := a
			want.Roles, want.Permissions = tt.wantRoles, tt.wantPermitted
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("VerifyAccess (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAccessLarge: the largest token that a user's grants may make is still
// taken for a JWT and verifies: the 200 application permissions of 64
// characters (rbac.MaxPermissions, rbac.PermissionKeyMax) with 20 of
// userd's own, 140 roles of 64 characters (the longest role name), and ids
// and a public URL of realistic lengths.
func TestAccessLarge(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	url := "https://accounts.example-company.com"
	id := "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	a := Access{Issuer: url, Audience: url, Subject: id, SessionID: id, ID: id, IssuedAt: now, Expires: now.Add(time.Minute)}
	for i := range 200 {
		a.Permissions = append(a.Permissions, fmt.Sprintf("resource_%03d_", i)+strings.Repeat("x", 64-len("resource_000_:action"))+":action")
	}
	for i := range 20 {
		a.Permissions = append(a.Permissions, fmt.Sprintf("synchronizations:reveal_%02d", i))
	}
	for i := range 140 {
		a.Roles = append(a.Roles, fmt.Sprintf("ROLE_%03d_", i)+strings.Repeat("X", 64-len("ROLE_000_")))
	}
	if len(a.Permissions[0]) != 64 || len(a.Roles[0]) != 64 {
		t.Fatalf("a key of %d and a role of %d characters; want 64", len(a.Permissions[0]), len(a.Roles[0]))
	}
	raw, err := SignAccess(a, "k1", priv)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 16<<10 || !LooksLikeJWT(raw) {
		t.Fatalf("a token of %d bytes: LooksLikeJWT = %v", len(raw), LooksLikeJWT(raw))
	}
	t.Logf("the largest token: %d bytes of %d", len(raw), MaxJWT)
	got, err := VerifyAccess(raw, url, url, now, func(string) (ed25519.PublicKey, bool) { return pub, true })
	if err != nil || len(got.Permissions) != 220 || len(got.Roles) != 140 {
		t.Fatalf("VerifyAccess = %d permissions, %d roles, %v", len(got.Permissions), len(got.Roles), err)
	}
	if LooksLikeJWT("a." + strings.Repeat("b", MaxJWT) + ".c") {
		t.Fatal("LooksLikeJWT took a token past MaxJWT")
	}
}
