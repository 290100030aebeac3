package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrInvalidToken is returned by VerifyAccessToken for a token that is
// malformed, signed by a key the JWKS does not hold or with another
// algorithm than EdDSA, tampered with, not yet valid, or for another issuer
// or audience.
var ErrInvalidToken = errors.New("userd client: invalid access token")

// ErrTokenExpired is returned by VerifyAccessToken for a well-signed token
// past its expiry (and the verifier's leeway): the caller should refresh it.
var ErrTokenExpired = errors.New("userd client: access token expired")

// AccessClaims are what a verified access token says: who (Subject), through
// which session (SessionID), and what the user could do when it was issued.
type AccessClaims struct {
	// Issuer is userd's public URL; Subject the user's id; SessionID the
	// session that the token belongs to; ID the token's own id.
	Issuer, Subject, SessionID, ID string
	// IssuedAt and Expiry bound the token's life.
	IssuedAt, Expiry time.Time
	// Roles and Permissions are the user's role names and the permission
	// keys those roles carry, sorted; Admin is true for an administrator,
	// who passes every check (see Can).
	Roles, Permissions []string
	Admin              bool
	// OrgID, OrgRole and OrgSlug name the session's active organisation
	// and the user's role in it; empty when there is none.
	OrgID, OrgRole, OrgSlug string
}

// Can reports whether the token's holder passes a check of the permission
// key: an administrator passes every check, anyone else those of the keys
// their token lists.
func (c *AccessClaims) Can(key string) bool {
	return c.Admin || slices.Contains(c.Permissions, key)
}

// VerifierOptions tune a Verifier; the zero value is ready to use.
type VerifierOptions struct {
	// Issuer is the iss and aud that tokens must carry: userd's
	// --public-url. Empty means the base URL given to NewVerifier.
	Issuer string
	// HTTPClient fetches the JWKS; nil means http.DefaultClient.
	HTTPClient *http.Client
	// CacheTTL is how long fetched keys are used before the JWKS is read
	// again; 0 means 5 minutes (what userd's Cache-Control allows).
	CacheTTL time.Duration
	// MinRefresh is the least time between two reads of the JWKS caused by
	// tokens of unknown key ids, so that forged key ids cannot make the
	// verifier hammer userd; 0 means 10 seconds.
	MinRefresh time.Duration
	// Leeway allows for clocks that differ: a token is taken until its
	// expiry plus Leeway. 0 means none.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verifier checks userd's access tokens against the keys of its JWKS
// (GET /.well-known/jwks.json), which it fetches on first use and caches.
// A Verifier is safe for concurrent use.
type Verifier struct {
	jwksURL string
	opts    VerifierOptions

	fetchMu sync.Mutex // one JWKS read at a time
	mu      sync.Mutex // guards the fields below
	keys    map[string]ed25519.PublicKey
	fetched time.Time // when keys were read; zero before the first read
}

// NewVerifier returns a Verifier of the tokens of the userd at baseURL
// (such as https://id.example.com).
func NewVerifier(baseURL string, opts VerifierOptions) *Verifier {
	baseURL = strings.TrimSuffix(baseURL, "/")
	if opts.Issuer == "" {
		opts.Issuer = baseURL
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	if opts.MinRefresh == 0 {
		opts.MinRefresh = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{jwksURL: baseURL + "/.well-known/jwks.json", opts: opts}
}

// maxToken bounds the tokens that VerifyAccessToken parses: userd's largest
// access token is about 28 KB, and it takes none over 32 KiB.
const maxToken = 32 << 10

// claims is an access token's payload.
type claims struct {
	jwt.Claims
	SessionID   string   `json:"sid"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	Admin       bool     `json:"admin"`
	OrgID       string   `json:"org_id"`
	OrgRole     string   `json:"org_role"`
	OrgSlug     string   `json:"org_slug"`
}

// VerifyAccessToken checks raw, an access token that userd issued: an EdDSA
// signature by a key of the JWKS (named by the kid of its header), the
// issuer and audience, and its times. It returns ErrTokenExpired for a
// token past its expiry, ErrInvalidToken for any other fault of the token,
// and an error wrapping the cause when the JWKS cannot be read.
//
// It only says what the token said when it was issued: userd ends tokens
// at once on logout or suspension for its own routes, while another service
// trusts a token until it expires (minutes).
func (v *Verifier) VerifyAccessToken(ctx context.Context, raw string) (*AccessClaims, error) {
	if len(raw) > maxToken {
		return nil, ErrInvalidToken
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return nil, ErrInvalidToken
	}
	key, err := v.key(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	var c claims
	if err := tok.Claims(key, &c); err != nil {
		return nil, ErrInvalidToken
	}
	err = c.ValidateWithLeeway(jwt.Expected{Issuer: v.opts.Issuer, AnyAudience: jwt.Audience{v.opts.Issuer}, Time: v.opts.Now()}, v.opts.Leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return nil, ErrTokenExpired
	case err != nil, c.Subject == "", c.SessionID == "", c.Expiry == nil:
		return nil, ErrInvalidToken
	}
	out := &AccessClaims{Issuer: c.Issuer, Subject: c.Subject, SessionID: c.SessionID, ID: c.ID,
		Expiry: c.Expiry.Time(), Roles: c.Roles, Permissions: c.Permissions, Admin: c.Admin,
		OrgID: c.OrgID, OrgRole: c.OrgRole, OrgSlug: c.OrgSlug}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.Time()
	}
	return out, nil
}

// key returns the public key of kid: from the cache while it is fresh, else
// from a new read of the JWKS. An unknown kid reads the JWKS again at most
// once per MinRefresh; it is ErrInvalidToken when the JWKS does not hold it.
// When a read fails, keys already known keep working.
func (v *Verifier) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	now := v.opts.Now()
	v.mu.Lock()
	k, known := v.keys[kid]
	fetched := v.fetched
	v.mu.Unlock()
	fresh := !fetched.IsZero() && now.Sub(fetched) < v.opts.CacheTTL
	if known && fresh {
		return k, nil
	}
	if !known && !fetched.IsZero() && now.Sub(fetched) < v.opts.MinRefresh {
		return nil, ErrInvalidToken
	}
	if err := v.refresh(ctx, fetched); err != nil {
		if known {
			return k, nil
		}
		return nil, err
	}
	v.mu.Lock()
	k, known = v.keys[kid]
	v.mu.Unlock()
	if !known {
		return nil, ErrInvalidToken
	}
	return k, nil
}

// refresh reads the JWKS, unless another caller did since seen (the time of
// the read its caller saw), and keeps its Ed25519 keys.
func (v *Verifier) refresh(ctx context.Context, seen time.Time) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.mu.Lock()
	done := v.fetched.After(seen)
	v.mu.Unlock()
	if done {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
	if err != nil {
		return fmt.Errorf("jwks request: %w", err)
	}
	resp, err := v.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("read jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("read jwks: %s answered %s", v.jwksURL, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("decode jwks: %w", err)
	}
	keys := make(map[string]ed25519.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		if pub, ok := k.Key.(ed25519.PublicKey); ok && k.KeyID != "" && k.Use != "enc" {
			keys[k.KeyID] = pub
		}
	}
	v.mu.Lock()
	v.keys, v.fetched = keys, v.opts.Now()
	v.mu.Unlock()
	return nil
}
