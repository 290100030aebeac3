package openid

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/userd/userd/internal/feature/keys"
)

// The provider's endpoints, under userd's public URL (the issuer).
const (
	AuthorizePath  = "/oauth2/authorize"
	TokenPath      = "/oauth2/token"
	UserinfoPath   = "/oauth2/userinfo"
	RevokePath     = "/oauth2/revoke"
	IntrospectPath = "/oauth2/introspect"
	EndSessionPath = "/oauth2/end_session"
	// LoginPath is userd's page that signs the browser's user in for an
	// authorization request (?id=) and asks their consent.
	LoginPath = "/oauth2/login"
	// KeysPath is userd's JWKS, which verifies every token it signs.
	KeysPath = "/.well-known/jwks.json"
)

// opClient is a Client as the op package wants it.
type opClient struct {
	Client
	cfg Config
}

func (c opClient) GetID() string                    { return c.ID }
func (c opClient) RedirectURIs() []string           { return c.Client.RedirectURIs }
func (c opClient) PostLogoutRedirectURIs() []string { return c.Client.PostLogoutRedirectURIs }

// ApplicationType is web for a confidential client, user agent for a
// public one; never native, whose loopback redirect URIs match on any
// port, where userd matches every URI exactly.
func (c opClient) ApplicationType() op.ApplicationType {
	if c.Public {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

// AuthMethod is none for a public client; a confidential one may send its
// secret either way (Basic or in the form): the token endpoint accepts
// both for every client (AuthMethodPost is on).
func (c opClient) AuthMethod() oidc.AuthMethod {
	if c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c opClient) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, len(c.Client.GrantTypes))
	for i, g := range c.Client.GrantTypes {
		out[i] = oidc.GrantType(g)
	}
	return out
}

func (c opClient) LoginURL(id string) string { return loginURL(c.cfg.Issuer, id) }

// loginURL is the address of userd's log-in page for the authorization
// request id.
func loginURL(issuer, id string) string {
	return strings.TrimSuffix(issuer, "/") + LoginPath + "?id=" + url.QueryEscape(id)
}

// LoginURL is the address of userd's log-in page for the authorization
// request id: where the op package sends the browser, and where a social
// provider's log-in comes back to.
func (s *Service) LoginURL(id string) string { return loginURL(s.cfg.Issuer, id) }

// AccessTokenType is JWT: resource servers verify access tokens with the
// JWKS alone (audience: the client id).
func (c opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c opClient) IDTokenLifetime() time.Duration      { return c.cfg.AccessTTL }

// DevMode lets a redirect URI be http or an application's own scheme:
// registration allows http on loopback only, and every URI still matches
// exactly.
func (c opClient) DevMode() bool { return true }

func (c opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c opClient) IsScopeAllowed(scope string) bool { return slices.Contains(c.Scopes, scope) }

// IDTokenUserinfoClaimsAssertion puts the profile, email and phone claims
// in the ID token too, as Auth0 and Cognito do: frameworks that read the
// ID token alone (Auth.js) see them.
func (c opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c opClient) ClockSkew() time.Duration             { return 0 }

// Handler returns the op package's handler of the /oauth2 endpoints.
func (s *Service) Handler() http.Handler { return s.op }

// provider makes the OpenID Provider over the service.
func (s *Service) provider() (*op.Provider, error) {
	cfg := &op.Config{
		CryptoKey:             s.cfg.CryptoKey,
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       Scopes,
		SupportedClaims: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "at_hash", "c_hash",
			"name", "given_name", "family_name", "preferred_username", "picture", "locale", "updated_at",
			"email", "email_verified", "phone_number", "phone_number_verified", "roles", "organizations", "auth_user_id", "legacy_id"},
	}
	opts := []op.Option{
		op.WithCustomAuthEndpoint(op.NewEndpoint(AuthorizePath)),
		op.WithCustomTokenEndpoint(op.NewEndpoint(TokenPath)),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(UserinfoPath)),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(RevokePath)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(IntrospectPath)),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(EndSessionPath)),
		op.WithCustomKeysEndpoint(op.NewEndpoint(KeysPath)),
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms(keys.Algorithm)),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(keys.Algorithm)),
	}
	if strings.HasPrefix(s.cfg.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(cfg, storage{s}, op.StaticIssuer(s.cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("openid provider: %w", err)
	}
	return p, nil
}

// Discovery returns the discovery document: the op package's, with
// authorization_response_iss_parameter_supported (RFC 9207: userd adds iss
// to every authorization response) and without the device flow, which
// userd does not offer.
func (s *Service) Discovery(ctx context.Context) ([]byte, error) {
	ctx = op.ContextWithIssuer(ctx, s.cfg.Issuer)
	doc := op.CreateDiscoveryConfig(ctx, s.op, storage{s})
	doc.DeviceAuthorizationEndpoint = ""
	doc.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	doc.ResponseModesSupported = []string{"query"}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	m["authorization_response_iss_parameter_supported"] = true
	return json.Marshal(m)
}

// Authorize serves the authorization endpoint: the op package's, with iss
// added to the answers it redirects to the client.
func (s *Service) Authorize(w http.ResponseWriter, r *http.Request) {
	s.op.ServeHTTP(withIss(w, s.cfg.Issuer), r)
}

// Answer writes the authorization response of a completed request: a
// redirect (or form post) to the client with the code, the state and iss
// (RFC 9207).
func (s *Service) Answer(w http.ResponseWriter, r *http.Request, req *Request) {
	r = r.WithContext(op.ContextWithIssuer(r.Context(), s.cfg.Issuer))
	op.AuthResponse(req, s.op, withIss(w, s.cfg.Issuer), r)
}

// Fail answers a request's client with an error (login_required,
// consent_required, access_denied), with the state and iss.
func (s *Service) Fail(w http.ResponseWriter, r *http.Request, req *Request, err error) {
	r = r.WithContext(op.ContextWithIssuer(r.Context(), s.cfg.Issuer))
	op.AuthRequestError(withIss(w, s.cfg.Issuer), r, req, err, s.op)
}

// issWriter adds iss to the authorization response that a redirect
// carries (RFC 9207), so that a client talking to several providers knows
// which one answered.
type issWriter struct {
	http.ResponseWriter
	issuer string
}

// withIss returns w, adding iss to the query of a redirect it answers that
// carries a code or an error (not a redirect to userd's own log-in page).
func withIss(w http.ResponseWriter, issuer string) http.ResponseWriter {
	return &issWriter{ResponseWriter: w, issuer: issuer}
}

func (w *issWriter) WriteHeader(status int) {
	if loc := w.Header().Get("Location"); status >= 300 && status < 400 && loc != "" {
		if u, err := url.Parse(loc); err == nil && !strings.HasPrefix(loc, strings.TrimSuffix(w.issuer, "/")+LoginPath) {
			q := u.Query()
			if (q.Has("code") || q.Has("error")) && !q.Has("iss") {
				q.Set("iss", w.issuer)
				u.RawQuery = q.Encode()
				w.Header().Set("Location", u.String())
			}
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the writer beneath.
func (w *issWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
