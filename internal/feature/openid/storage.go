package openid

import (
	"context"
	"crypto/ed25519"
	"errors"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/userd/userd/internal/feature/keys"
)

// storage is the op package's Storage over a Service.
type storage struct{ s *Service }

var (
	_ op.Storage                   = storage{}
	_ op.CanSetUserinfoFromRequest = storage{}
)

// CreateAuthRequest stores a validated authorization request.
func (st storage) CreateAuthRequest(ctx context.Context, ar *oidc.AuthRequest, hinted string) (op.AuthRequest, error) {
	return st.s.createRequest(ctx, ar, hinted)
}

// AuthRequestByID reads a request (the op package's callback; userd
// answers requests from its log-in page instead).
func (st storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return st.s.requestByID(ctx, id)
}

// AuthRequestByCode spends a code: see spendCode.
func (st storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	return st.s.spendCode(ctx, code)
}

// SaveAuthCode keeps a request's code.
func (st storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return st.s.saveCode(ctx, id, code)
}

// DeleteAuthRequest does nothing: spendCode marked the request exchanged,
// and it is kept until it expires so that a replay of its code is
// recognised.
func (st storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken issues an access token without a refresh token.
func (st storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, _, exp, err := st.s.issue(ctx, req, "", false)
	return id, exp, err
}

// CreateAccessAndRefreshTokens issues an access token and a refresh token
// (for a code with offline_access, or a refresh).
func (st storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	id, refresh, exp, err := st.s.issue(ctx, req, current, true)
	if errors.Is(err, errReused) {
		err = oidc.ErrInvalidGrant().WithDescription("The refresh token was already used; the grant is revoked.")
	}
	return id, refresh, exp, err
}

// TokenRequestByRefreshToken reads the grant of a refresh token.
func (st storage) TokenRequestByRefreshToken(ctx context.Context, tok string) (op.RefreshTokenRequest, error) {
	g, err := st.s.grantByRefresh(ctx, tok)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// TerminateSession revokes the client's grants for the user (end_session)
// and tells the hook of the context (see WithEndSession).
func (st storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	if err := st.s.endGrants(ctx, userID, clientID); err != nil {
		return err
	}
	if hook, ok := ctx.Value(endSessionKey{}).(func(string)); ok {
		hook(userID)
	}
	return nil
}

// RevokeToken revokes a token for its client.
func (st storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if err := st.s.revoke(ctx, tokenOrID, userID, clientID); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// GetRefreshTokenInfo returns the user and token id of a refresh token.
func (st storage) GetRefreshTokenInfo(ctx context.Context, clientID, tok string) (string, string, error) {
	g, err := st.s.grantByRefresh(ctx, tok)
	if err != nil || g.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.UserID, g.tokenID, nil
}

// signingKey is userd's signing key as the op package wants it.
type signingKey struct {
	id  string
	key ed25519.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.EdDSA }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

// SigningKey returns the key that signs now.
func (st storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	kid, key, err := st.s.deps.Keys.Signer(ctx)
	return signingKey{kid, key}, err
}

// SignatureAlgorithms returns EdDSA, userd's one algorithm.
func (st storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{keys.Algorithm}, nil
}

// publicKey is a published key as the op package wants it.
type publicKey struct{ jose.JSONWebKey }

func (k publicKey) ID() string { return k.KeyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(k.JSONWebKey.Algorithm)
}
func (k publicKey) Use() string { return k.JSONWebKey.Use }
func (k publicKey) Key() any    { return k.JSONWebKey.Key }

// KeySet returns the published keys: userd's JWKS.
func (st storage) KeySet(ctx context.Context) ([]op.Key, error) {
	ks, err := st.s.deps.Keys.Published(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, len(ks))
	for i, k := range ks {
		out[i] = publicKey{k}
	}
	return out, nil
}

// GetClientByClientID reads a client.
func (st storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	cl, err := st.s.client(ctx, id)
	if err != nil {
		return nil, err
	}
	return opClient{cl, st.s.cfg}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (st storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	_, err := st.s.authenticate(ctx, id, secret)
	return err
}

// SetUserinfoFromScopes does nothing: SetUserinfoFromRequest does it.
func (st storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills an ID token's claims from its scopes.
func (st storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return st.s.userinfo(ctx, info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers userinfo for a live access token.
func (st storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	g, err := st.s.liveToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	return st.s.userinfo(ctx, info, g.UserID, g.Scopes)
}

// SetIntrospectionFromToken answers introspection (RFC 7662) for a live
// access token of the client that asks; anything else is inactive.
func (st storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	g, err := st.s.liveToken(ctx, tokenID, subject)
	if err != nil || g.ClientID != clientID {
		return errors.New("token not active for this client")
	}
	var info oidc.UserInfo
	if err := st.s.userinfo(ctx, &info, g.UserID, g.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(&info)
	resp.Scope, resp.ClientID, resp.Audience = g.Scopes, g.ClientID, []string{g.ClientID}
	resp.Active = true
	return nil
}

// GetPrivateClaimsFromScopes adds no private claims to access tokens:
// their scope claim says what they allow.
func (st storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID refuses: clients do not authenticate with keys.
func (st storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not supported")
}

// ValidateJWTProfileScopes refuses: the JWT profile grant is not supported.
func (st storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

// Health reports whether the database answers.
func (st storage) Health(ctx context.Context) error { return st.s.db.Ping(ctx) }

// endSessionKey carries the hook of WithEndSession.
type endSessionKey struct{}

// WithEndSession returns a context whose end_session calls hook with the
// user whose grants it ended (the web layer ends the browser's session
// when it is theirs).
func WithEndSession(ctx context.Context, hook func(userID string)) context.Context {
	return context.WithValue(ctx, endSessionKey{}, hook)
}
