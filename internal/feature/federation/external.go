package federation

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/userd/userd/internal/feature/auth"
)

// External accepts bearer JWTs of an outside identity provider (Auth0,
// Clerk, Cognito, Better Auth…): signed by a key of its JWKS (fetched,
// cached, fetched again for an unknown kid), from its issuer, for the
// audience when one is set, within exp and nbf, with the algorithm the key
// is for.
type External struct {
	verifier      *oidc.IDTokenVerifier
	referralClaim string // see ExternalConfig.ReferralClaim
}

// ExternalConfig configures External mode.
type ExternalConfig struct {
	JWKSURL, Issuer, Audience string
	// ReferralClaim names the claim that holds the slug of the referral a
	// new user came through ("" for none).
	ReferralClaim string
}

// NewExternal returns a verifier for the configured provider.
func NewExternal(ctx context.Context, c ExternalConfig) (*External, error) {
	if u, err := url.Parse(c.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("--external-jwks-url must be an http(s) URL")
	}
	if c.Issuer == "" {
		return nil, fmt.Errorf("--external-issuer is needed with --external-jwks-url")
	}
	keys := oidc.NewRemoteKeySet(context.WithoutCancel(ctx), c.JWKSURL)
	v := oidc.NewVerifier(c.Issuer, keys, &oidc.Config{
		ClientID:             c.Audience,
		SkipClientIDCheck:    c.Audience == "",
		SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA},
	})
	return &External{verifier: v, referralClaim: c.ReferralClaim}, nil
}

// Verify checks a token and returns its claims.
func (e *External) Verify(ctx context.Context, raw string) (auth.ExternalClaims, error) {
	t, err := e.verifier.Verify(ctx, raw)
	if err != nil {
		return auth.ExternalClaims{}, err
	}
	var c struct {
		Email    string `json:"email"`
		AuthTime int64  `json:"auth_time"`
	}
	_ = t.Claims(&c)
	if t.Subject == "" || len(t.Subject) > 255 {
		return auth.ExternalClaims{}, fmt.Errorf("external token: no usable sub")
	}
	out := auth.ExternalClaims{Subject: t.Subject, Email: c.Email, IssuedAt: t.IssuedAt}
	if e.referralClaim != "" {
		var all map[string]any
		if t.Claims(&all) == nil {
			out.Referral, _ = all[e.referralClaim].(string)
		}
	}
	if c.AuthTime > 0 {
		out.AuthTime = time.Unix(c.AuthTime, 0).UTC()
	}
	return out, nil
}
