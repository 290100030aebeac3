// Package openid owns userd's OpenID Provider: the applications that sign
// their users in through userd (oauth_clients), the consents users gave
// them (oauth_consents), authorization requests and their codes
// (oauth_authorizations), and the grants and tokens those led to
// (oauth_grants, oauth_tokens). The protocol itself is
// github.com/zitadel/oidc/v3's op package (OpenID-certified); this package
// is its storage, and the rules userd adds: exact redirect URIs, PKCE S256
// for public clients, single-use codes whose replay revokes what they gave,
// rotating refresh tokens bound to their client with reuse detection, and
// an audit record for every grant, refusal and revocation.
package openid

import (
	"context"
	"fmt"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/keys"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Permissions (the migrations seed them).
const (
	// ReadPermission reads clients, never their secrets.
	ReadPermission = "oauth_clients:read"
	// WritePermission makes, changes and deletes clients.
	WritePermission = "oauth_clients:write"
)

// Lifetimes of what the provider issues.
const (
	// RequestTTL is how long an authorization request waits for its user
	// to sign in and consent.
	RequestTTL = 15 * time.Minute
	// CodeTTL is how long a code can be exchanged.
	CodeTTL = time.Minute
	// KeepReplays is how long an exchanged code is remembered, so that
	// its replay revokes what it gave.
	KeepReplays = time.Hour
)

// Config holds the provider's settings.
type Config struct {
	// Issuer is userd's public URL: the iss of every token.
	Issuer string
	// AccessTTL is the lifetime of access and ID tokens.
	AccessTTL time.Duration
	// RefreshTTL is how long a grant's refresh tokens work after the
	// log-in (not renewed by refreshing).
	RefreshTTL time.Duration
	// RefreshGrace is how long a spent refresh token still gets its
	// successor again (a retry, two tabs), as userd's own refresh does.
	RefreshGrace time.Duration
	// RefreshSecret keys the derivation of a refresh token's successor.
	RefreshSecret []byte
	// CryptoKey encrypts authorization codes (AES-256-GCM): derived from
	// the master key, the same in every process.
	CryptoKey [32]byte
	// TokenLimit bounds the token and authorization endpoints' requests
	// per client address (each its own count).
	TokenLimit ratelimit.Rule
}

// Deps are what a Service needs besides the database.
type Deps struct {
	// Keys are userd's signing keys: one JWKS verifies the provider's
	// tokens and userd's own.
	Keys    *keys.Store
	Limiter *ratelimit.Limiter
	// Orgs reads a user's organisations for the organizations scope
	// (organization.Service's, adapted in cmd); nil leaves the claim
	// empty.
	Orgs func(ctx context.Context, userID string) ([]OrgClaim, error)
}

// Service is the OpenID Provider's storage and its clients' and consents'
// management.
type Service struct {
	db   *sqldb.DB
	cfg  Config
	deps Deps
	op   *op.Provider
}

// NewService returns a Service over db; without an issuer it manages
// clients only (the CLI) and serves no endpoint. It fails for an issuer
// that is not an absolute http(s) URL without a query or fragment.
func NewService(db *sqldb.DB, cfg Config, deps Deps) (*Service, error) {
	s := &Service{db: db, cfg: cfg, deps: deps}
	if cfg.Issuer == "" {
		return s, nil
	}
	var err error
	s.op, err = s.provider()
	return s, err
}

// Errors of the provider's management API.
var (
	ErrClientNotFound  = userd.Errorf(userd.KindNotFound, "oauth_client_not_found", "No such OAuth client.")
	ErrConsentNotFound = userd.Errorf(userd.KindNotFound, "consent_not_found", "You have not consented to this application.")
	// ErrRequestNotFound answers for an authorization request that is
	// unknown, expired or already answered.
	ErrRequestNotFound = userd.Errorf(userd.KindNotFound, "authorization_request_not_found", "This sign-in request is unknown or has expired. Go back to the application and start again.")
)

func need(a userd.Actor, permission string) error {
	if a.Grants.Has(permission) {
		return nil
	}
	return userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+permission+".")
}

// Expire deletes authorization requests past their time, and grants
// (with their tokens) whose refresh tokens no longer work; it returns how
// many rows it deleted.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	var n int64
	for _, q := range []string{
		`DELETE FROM oauth_authorizations WHERE expires_at < $1`,
		`DELETE FROM oauth_tokens WHERE expires_at < $1`,
		`DELETE FROM oauth_grants WHERE expires_at < $1`,
	} {
		k, err := sqldb.DeleteWhere(ctx, tx, q, now)
		if err != nil {
			return n, fmt.Errorf("expire oauth rows: %w", err)
		}
		n += k
	}
	return n, nil
}

// DefaultTokenLimit is the limit per client address of the token
// endpoint, and of the authorization endpoint (each request there stores
// an authorization request), unless configured otherwise.
var DefaultTokenLimit = ratelimit.Rule{Max: 120, Window: time.Minute}

// Limit counts a request from ip to one of the provider's endpoints
// ("token", "authorize") and refuses it past the limit (ratelimit's
// KindRateLimited error).
func (s *Service) Limit(ctx context.Context, endpoint, ip string) error {
	if s.deps.Limiter == nil {
		return nil
	}
	rule := s.cfg.TokenLimit
	if rule == (ratelimit.Rule{}) {
		rule = DefaultTokenLimit
	}
	return s.deps.Limiter.Hit(ctx, "oauth_"+endpoint+":ip:"+ip, rule)
}

// EndAll revokes every grant of a user, with its tokens, in the caller's
// transaction: the auth package calls it wherever it ends all of a user's
// sessions (a password changed or reset, an administrator's or a
// moderator's revocation), so that no application keeps a refresh token
// past the event. It is audited when there was a grant.
func EndAll(ctx context.Context, tx *sqldb.Tx, userID string) error {
	n, err := sqldb.DeleteWhere(ctx, tx, `DELETE FROM oauth_grants WHERE user_id = $1`, userID)
	if err != nil {
		return fmt.Errorf("end oauth grants: %w", err)
	}
	if n == 0 {
		return nil
	}
	return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.OAuthTokenRevoked, TargetType: "user", TargetID: userID,
		Metadata: map[string]any{"reason": "sessions_revoked", "grants": n}})
}
