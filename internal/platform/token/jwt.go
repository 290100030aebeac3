package token

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Access is what an access token says: who (Subject), through which session
// (SessionID), from whom (Issuer) to whom (Audience), for how long, and what
// the subject could do when it was issued: their role names (Roles), the
// permission keys those roles carry (Permissions), and whether a role is an
// administrator's (Admin), which passes every check, even of a permission
// made after the token.
type Access struct {
	Issuer      string
	Audience    string
	Subject     string
	SessionID   string
	ID          string
	IssuedAt    time.Time
	Expires     time.Time
	Roles       []string
	Permissions []string
	Admin       bool
	// OrgID, OrgRole and OrgSlug name the session's active organisation
	// and the user's role in it; empty (and left out of the token) when
	// there is none.
	OrgID, OrgRole, OrgSlug string
}

// accessClaims is an access token's payload. roles and permissions are
// always there (an empty array for none); admin only when true.
type accessClaims struct {
	jwt.Claims
	SessionID   string   `json:"sid"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	Admin       bool     `json:"admin,omitempty"`
	OrgID       string   `json:"org_id,omitempty"`
	OrgRole     string   `json:"org_role,omitempty"`
	OrgSlug     string   `json:"org_slug,omitempty"`
}

// ErrInvalidJWT is returned by VerifyAccess for a token that is malformed,
// signed by an unknown key or another algorithm, forged, expired, not yet
// valid, or for another issuer or audience.
var ErrInvalidJWT = errors.New("token: invalid access token")

// SignAccess signs a as a JWT with EdDSA, the key id in its header.
func SignAccess(a Access, kid string, key ed25519.PrivateKey) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", fmt.Errorf("jwt signer: %w", err)
	}
	c := accessClaims{Claims: jwt.Claims{
		Issuer: a.Issuer, Subject: a.Subject, Audience: jwt.Audience{a.Audience}, ID: a.ID,
		IssuedAt: jwt.NewNumericDate(a.IssuedAt), NotBefore: jwt.NewNumericDate(a.IssuedAt), Expiry: jwt.NewNumericDate(a.Expires),
	}, SessionID: a.SessionID, Roles: nonNil(a.Roles), Permissions: nonNil(a.Permissions), Admin: a.Admin,
		OrgID: a.OrgID, OrgRole: a.OrgRole, OrgSlug: a.OrgSlug}
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign jwt: %w", err)
	}
	return s, nil
}

// nonNil returns s, or an empty slice for nil, so that it encodes as [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// MaxJWT bounds the length of what LooksLikeJWT accepts. An access token
// grows with the user's roles and the permissions they carry (a key takes
// 4/3 of its length and 4 bytes), not with the permissions that exist: an
// administrator's lists what their roles carry, as anyone's. An
// application defines at most 200 permissions of at most 64 characters
// (rbac.MaxPermissions, rbac.PermissionKeyMax), some 17.9 KB once encoded,
// and userd's own add about 0.3 KB: the bound leaves some 13 KB for the
// other claims and the roles (some 140 names of 64 characters) beside them.
const MaxJWT = 32 << 10

// LooksLikeJWT reports whether s has the three dot-separated parts of a
// compact JWS, to tell it from an opaque token before any parsing.
func LooksLikeJWT(s string) bool { return strings.Count(s, ".") == 2 && len(s) < MaxJWT }

// VerifyAccess checks a JWT signed with EdDSA by the key that publicKey
// returns for its kid, for the given issuer and audience at time now (with a
// minute of leeway for clocks). It returns ErrInvalidJWT for any failure.
func VerifyAccess(raw, issuer, audience string, now time.Time, publicKey func(kid string) (ed25519.PublicKey, bool)) (Access, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 {
		return Access{}, ErrInvalidJWT
	}
	pub, ok := publicKey(tok.Headers[0].KeyID)
	if !ok {
		return Access{}, ErrInvalidJWT
	}
	var c accessClaims
	if err := tok.Claims(pub, &c); err != nil {
		return Access{}, ErrInvalidJWT
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{audience}, Time: now}, time.Minute); err != nil {
		return Access{}, ErrInvalidJWT
	}
	if c.Subject == "" || c.SessionID == "" || c.Expiry == nil {
		return Access{}, ErrInvalidJWT
	}
	return Access{Issuer: c.Issuer, Audience: audience, Subject: c.Subject, SessionID: c.SessionID, ID: c.ID,
		IssuedAt: c.IssuedAt.Time(), Expires: c.Expiry.Time(), Roles: c.Roles, Permissions: c.Permissions, Admin: c.Admin,
		OrgID: c.OrgID, OrgRole: c.OrgRole, OrgSlug: c.OrgSlug}, nil
}
