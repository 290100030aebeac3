package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/auth"
)

type signupInput struct {
	Body struct {
		NewUserFields
		Password     string `json:"password" doc:"At least 8 characters, at most 256 bytes, not a common password; not the email, username or phone number."`
		ReferralSlug string `json:"referral_slug,omitempty" doc:"The slug of the referral the user came through."`
		Role         string `json:"role,omitempty" example:"AGENT" doc:"The user's one role, by name, among those that serve's --signup-roles lists; END_USER when absent. Another answers 422 role_not_allowed."`
	}
}

// SessionToken is a new session with its token, shown once.
type SessionToken struct {
	ID        string    `json:"id" format:"uuid"`
	Token     string    `json:"token" doc:"Send it as 'Authorization: Bearer <token>'. It is shown only here."`
	ExpiresAt time.Time `json:"expires_at"`
}

// TokenPair is a short-lived access token and the refresh token that
// renews it.
type TokenPair struct {
	AccessToken  string `json:"access_token" doc:"A signed JWT (EdDSA; kid in the header, keys at /.well-known/jwks.json). Send it as 'Authorization: Bearer <token>'. Its claims: sub (the user), sid (the session), and the user's grants when it was issued, for other services to check with the JWKS alone: roles (role names), permissions (the permission keys that the user's roles carry) and, for an administrator only, admin: true (every check passes, whatever permissions lists: a service checks admin || permissions contains the key). A role change shows in the next token; userd's own routes read the grants at each request."`
	RefreshToken string `json:"refresh_token" doc:"Trade it at POST /v1/auth/token for a new pair. It works once."`
	TokenType    string `json:"token_type" example:"Bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"Seconds until the access token expires."`
}

func pairOf(t auth.Tokens) TokenPair {
	return TokenPair{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer", ExpiresIn: int(t.ExpiresIn / time.Second)}
}

// LoginBody is the answer of a sign-up or a log-in.
type LoginBody struct {
	User    User         `json:"user"`
	Session SessionToken `json:"session"`
	TokenPair
}

type loginOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      LoginBody
}

func (s *Server) loginOutput(l auth.Login) *loginOutput {
	out := &loginOutput{SetCookie: s.cookie(l.SessionToken, l.Session.ExpiresAt)}
	out.Body.User = userOf(l.User)
	out.Body.Session = SessionToken{ID: l.Session.ID, Token: l.SessionToken, ExpiresAt: l.Session.ExpiresAt}
	out.Body.TokenPair = pairOf(l.Tokens)
	return out
}

// cookie returns the session cookie; an empty token clears it.
func (s *Server) cookie(tok string, expires time.Time) http.Cookie {
	c := http.Cookie{
		Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secure(), Expires: expires,
	}
	if tok == "" {
		c.MaxAge = -1
	}
	return c
}

func (s *Server) signup(ctx context.Context, in *signupInput) (*loginOutput, error) {
	b := in.Body
	l, err := s.auth.Signup(ctx, auth.Signup{Identity: b.identity(), Profile: b.profile(), Password: b.Password, ReferralSlug: b.ReferralSlug, Role: b.Role}, s.client(ctx))
	if err != nil {
		return nil, err
	}
	return s.loginOutput(l), nil
}

type loginInput struct {
	Body struct {
		Identifier string `json:"identifier" doc:"An email, a username or a phone number."`
		Password   string `json:"password"`
	}
}

func (s *Server) login(ctx context.Context, in *loginInput) (*loginOutput, error) {
	l, err := s.auth.Login(ctx, in.Body.Identifier, in.Body.Password, s.client(ctx))
	if err != nil {
		return nil, err
	}
	return s.loginOutput(l), nil
}

type logoutOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

func (s *Server) logout(ctx context.Context, _ *struct{}) (*logoutOutput, error) {
	if err := s.auth.Logout(ctx, userd.ActorFrom(ctx), s.client(ctx)); err != nil {
		return nil, err
	}
	return &logoutOutput{SetCookie: s.cookie("", time.Time{})}, nil
}

type refreshInput struct {
	Body struct {
		RefreshToken string `json:"refresh_token"`
	}
}

type tokenOutput struct {
	Body TokenPair
}

func (s *Server) refresh(ctx context.Context, in *refreshInput) (*tokenOutput, error) {
	t, err := s.auth.Refresh(ctx, in.Body.RefreshToken, s.client(ctx))
	if err != nil {
		return nil, err
	}
	return &tokenOutput{Body: pairOf(t)}, nil
}

type forgotInput struct {
	Body struct {
		Email string `json:"email"`
	}
}

func (s *Server) forgotPassword(ctx context.Context, in *forgotInput) (*struct{}, error) {
	return nil, s.auth.ForgotPassword(ctx, in.Body.Email, s.client(ctx))
}

type resetInput struct {
	Body struct {
		Token    string `json:"token" doc:"The token from the link in the mail."`
		Password string `json:"password" doc:"The new password."`
	}
}

func (s *Server) resetPassword(ctx context.Context, in *resetInput) (*struct{}, error) {
	return nil, s.auth.ResetPassword(ctx, in.Body.Token, in.Body.Password, s.client(ctx))
}

type verifyInput struct {
	Body struct {
		Token string `json:"token" doc:"The token from the link in the mail."`
	}
}

func (s *Server) verifyEmail(ctx context.Context, in *verifyInput) (*struct{}, error) {
	return nil, s.auth.VerifyEmail(ctx, in.Body.Token, s.client(ctx))
}

func (s *Server) resendVerification(ctx context.Context, _ *struct{}) (*struct{}, error) {
	return nil, s.auth.ResendVerification(ctx, userd.ActorFrom(ctx))
}

type jwksOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         JWKS
}

// JWKS is a JSON Web Key Set (RFC 7517).
type JWKS struct {
	Keys []map[string]any `json:"keys"`
}

func (s *Server) jwks(ctx context.Context, _ *struct{}) (*jwksOutput, error) {
	raw, err := s.keys.JWKS(ctx)
	if err != nil {
		return nil, err
	}
	out := &jwksOutput{CacheControl: "public, max-age=300"}
	if err := json.Unmarshal(raw, &out.Body); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return out, nil
}
