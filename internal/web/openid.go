package web

import (
	"context"
	"net/http"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/openid"
)

// mountOpenID serves the OpenID Provider: the discovery document, the op
// package's /oauth2 endpoints (authorize with iss added to its answers,
// token behind a rate limit, end_session ending the browser's session) and
// userd's log-in and consent page. Nothing when the provider is off.
func (s *Server) mountOpenID() {
	if s.oidc == nil {
		return
	}
	h := s.oidc.Handler()
	s.mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	s.mux.HandleFunc(openid.AuthorizePath, func(w http.ResponseWriter, r *http.Request) {
		if s.refused(w, r, "authorize") {
			return
		}
		s.oidc.Authorize(w, r)
	})
	s.mux.HandleFunc(openid.TokenPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && s.refused(w, r, "token") {
			return
		}
		h.ServeHTTP(w, r)
	})
	s.mux.HandleFunc(openid.UserinfoPath, func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&invalidToken{ResponseWriter: w}, r)
	})
	for _, p := range []string{openid.RevokePath, openid.IntrospectPath} {
		s.mux.Handle(p, h)
	}
	s.mux.HandleFunc(openid.EndSessionPath, func(w http.ResponseWriter, r *http.Request) {
		// The browser's userd session ends with the client's grants when
		// it is the session of the user the id_token_hint names.
		ctx := openid.WithEndSession(r.Context(), func(userID string) {
			tok, fromCookie := credential(r)
			if !fromCookie || userID == "" {
				return
			}
			c, err := s.auth.Authenticate(r.Context(), tok)
			if err != nil || c.Actor.UserID != userID || c.Actor.SessionID == "" {
				return
			}
			if err := s.auth.Logout(r.Context(), c.Actor, s.clientOf(r)); err == nil {
				ck := s.cookie("", time.Time{})
				http.SetCookie(w, &ck)
			}
		})
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	s.mux.HandleFunc("GET "+openid.LoginPath, s.oauthLoginPage)
	s.mux.HandleFunc("POST "+openid.LoginPath, s.oauthPassword)
	s.mux.HandleFunc("POST "+openid.LoginPath+"/mfa", s.oauthMFA)
	s.mux.HandleFunc("POST "+openid.LoginPath+"/passkey", s.oauthPasskey)
	s.mux.HandleFunc("POST "+openid.LoginPath+"/consent", s.oauthConsent)
}

// refused counts a request to a provider's endpoint against its limit and,
// past it, answers 429 with Retry-After and an OAuth error body; it reports
// whether it answered.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	err := s.oidc.Limit(r.Context(), endpoint, s.clientOf(r).IP)
	if err == nil {
		return false
	}
	if userd.ErrorKind(err) != userd.KindRateLimited {
		s.log.Error("openid rate limit", "err", err)
		http.Error(w, "The request could not be counted; the error is in the server's log.", http.StatusServiceUnavailable)
		return true
	}
	w.Header().Set("Retry-After", "60")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	w.Write([]byte(`{"error":"temporarily_unavailable","error_description":"Too many requests from this address; retry later."}`))
	return true
}

// invalidToken answers userinfo's refusal of a token that is revoked,
// expired or another's as RFC 6750 says (401 with error="invalid_token"),
// where the op package answers 403.
type invalidToken struct{ http.ResponseWriter }

func (w *invalidToken) WriteHeader(status int) {
	if status == http.StatusForbidden || status == http.StatusUnauthorized {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the writer beneath.
func (w *invalidToken) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// discovery serves the OpenID Provider's discovery document, to any origin.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	doc, err := s.oidc.Discovery(r.Context())
	if err != nil {
		s.log.Error("discovery document", "err", err)
		http.Error(w, "The discovery document could not be made; the error is in the server's log.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(doc)
}

// OAuthClient is a client of userd's OpenID Provider, without its secret.
type OAuthClient struct {
	ClientID               string    `json:"client_id"`
	Name                   string    `json:"name"`
	RedirectURIs           []string  `json:"redirect_uris" doc:"Matched exactly, query included."`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris" doc:"Where end_session may send the browser, matched exactly."`
	Scopes                 []string  `json:"scopes" doc:"The scopes the client may ask for: openid, profile, email, phone, offline_access, roles, organizations."`
	GrantTypes             []string  `json:"grant_types"`
	Public                 bool      `json:"public" doc:"A public client (a single-page or native app) has no secret and must use PKCE with S256; a confidential one authenticates at the token endpoint with client_secret_basic or client_secret_post."`
	FirstParty             bool      `json:"first_party" doc:"The operator's own application: users are not asked to consent."`
	CreatedBy              *string   `json:"created_by"`
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
}

func oauthClientOf(c openid.Client) OAuthClient {
	return OAuthClient{ClientID: c.ID, Name: c.Name, RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
		Scopes: nonNil(c.Scopes), GrantTypes: nonNil(c.GrantTypes), Public: c.Public, FirstParty: c.FirstParty, CreatedBy: optional(c.CreatedBy),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// OAuthClientWithSecret is a client as made, with its secret.
type OAuthClientWithSecret struct {
	OAuthClient
	ClientSecret *string `json:"client_secret" doc:"The udcs_… secret of a confidential client, shown only here (stored as a SHA-256 hash); null for a public client."`
}

type oauthClientInput struct {
	Body struct {
		Name                   string   `json:"name" doc:"1 to 200 characters, shown on the consent page."`
		RedirectURIs           []string `json:"redirect_uris" doc:"1 to 20 absolute URIs without a fragment: https, http only on loopback, or an application's own scheme (422 invalid_uri)."`
		PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty" doc:"As redirect_uris; none when absent."`
		Scopes                 []string `json:"scopes,omitempty" doc:"Among openid (required), profile, email, phone, offline_access, roles, organizations; all of them when absent."`
		Public                 bool     `json:"public,omitempty" doc:"A public client: no secret, PKCE with S256 required."`
		FirstParty             bool     `json:"first_party,omitempty" doc:"No consent page for this client."`
	}
}

type oauthClientSecretOutput struct {
	Body OAuthClientWithSecret
}

func (s *Server) createOAuthClient(ctx context.Context, in *oauthClientInput) (*oauthClientSecretOutput, error) {
	if s.oidc == nil {
		return nil, errProviderOff
	}
	b := in.Body
	c, secret, err := s.oidc.CreateClient(ctx, userd.ActorFrom(ctx), s.client(ctx), openid.NewClient{Name: b.Name, RedirectURIs: b.RedirectURIs,
		PostLogoutRedirectURIs: b.PostLogoutRedirectURIs, Scopes: b.Scopes, Public: b.Public, FirstParty: b.FirstParty})
	if err != nil {
		return nil, err
	}
	return &oauthClientSecretOutput{Body: OAuthClientWithSecret{OAuthClient: oauthClientOf(c), ClientSecret: optional(secret)}}, nil
}

// errProviderOff answers the provider's routes when it is off.
var errProviderOff = userd.Errorf(userd.KindNotFound, "provider_disabled", "The OpenID Provider is off (--openid-provider=false).")

type oauthClientsOutput struct {
	Body struct {
		Items []OAuthClient `json:"items"`
	}
}

func (s *Server) listOAuthClients(ctx context.Context, _ *struct{}) (*oauthClientsOutput, error) {
	if s.oidc == nil {
		return nil, errProviderOff
	}
	list, err := s.oidc.Clients(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &oauthClientsOutput{}
	out.Body.Items = mapAll(list, oauthClientOf)
	return out, nil
}

type oauthClientPath struct {
	ClientID string `path:"client_id" doc:"The client's id (udc_…)."`
}

type oauthClientOutput struct {
	Body OAuthClient
}

func (s *Server) getOAuthClient(ctx context.Context, in *oauthClientPath) (*oauthClientOutput, error) {
	if s.oidc == nil {
		return nil, errProviderOff
	}
	c, err := s.oidc.GetClient(ctx, userd.ActorFrom(ctx), in.ClientID)
	if err != nil {
		return nil, err
	}
	return &oauthClientOutput{Body: oauthClientOf(c)}, nil
}

func (s *Server) deleteOAuthClient(ctx context.Context, in *oauthClientPath) (*struct{}, error) {
	if s.oidc == nil {
		return nil, errProviderOff
	}
	return nil, s.oidc.DeleteClient(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ClientID)
}

// Consent is what the signed-in user allowed an application.
type Consent struct {
	ClientID   string    `json:"client_id"`
	ClientName string    `json:"client_name"`
	Scopes     []string  `json:"scopes"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

type consentsOutput struct {
	Body struct {
		Items []Consent `json:"items"`
	}
}

func (s *Server) listConsents(ctx context.Context, _ *struct{}) (*consentsOutput, error) {
	out := &consentsOutput{}
	out.Body.Items = []Consent{}
	if s.oidc == nil {
		return out, nil
	}
	list, err := s.oidc.Consents(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out.Body.Items = mapAll(list, consentOf)
	return out, nil
}

func consentOf(k openid.Consent) Consent {
	return Consent{ClientID: k.ClientID, ClientName: k.ClientName, Scopes: nonNil(k.Scopes), CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt}
}

func (s *Server) revokeConsent(ctx context.Context, in *oauthClientPath) (*struct{}, error) {
	if s.oidc == nil {
		return nil, openid.ErrConsentNotFound
	}
	return nil, s.oidc.RevokeConsent(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ClientID)
}
