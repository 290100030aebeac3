package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/account"
	"github.com/userd/userd/auth"
)

type signupInput struct {
	Body struct {
		Email       string `json:"email,omitempty" doc:"Needed unless username or phone_number is given."`
		Username    string `json:"username,omitempty" doc:"3 to 32 letters, digits, '.', '_' or '-'; unique without regard to case."`
		PhoneNumber string `json:"phone_number,omitempty" doc:"E.164."`
		Password    string `json:"password" doc:"At least 8 characters, at most 256 bytes; not the email, username or phone number."`
		FirstName   string `json:"first_name,omitempty"`
		LastName    string `json:"last_name,omitempty"`
		AvatarURL   string `json:"avatar_url,omitempty"`
		Country     string `json:"country,omitempty"`
		City        string `json:"city,omitempty"`
		Zipcode     string `json:"zipcode,omitempty"`
		Language    string `json:"language,omitempty" doc:"BCP 47; en by default."`
	}
}

// SessionToken is a new session with its token, shown once.
type SessionToken struct {
	ID        string    `json:"id" format:"uuid"`
	Token     string    `json:"token" doc:"Send it as 'Authorization: Bearer <token>'. It is shown only here."`
	ExpiresAt time.Time `json:"expires_at"`
}

type loginOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      struct {
		User    User         `json:"user"`
		Session SessionToken `json:"session"`
	}
}

func (s *Server) loginOutput(l auth.Login) *loginOutput {
	out := &loginOutput{SetCookie: s.cookie(l.Token, l.Session.ExpiresAt)}
	out.Body.User = userOf(l.User)
	out.Body.Session = SessionToken{ID: l.Session.ID, Token: l.Token, ExpiresAt: l.Session.ExpiresAt}
	return out
}

// cookie returns the session cookie; an empty token clears it.
func (s *Server) cookie(tok string, expires time.Time) http.Cookie {
	c := http.Cookie{
		Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(s.cfg.PublicURL, "https://"), Expires: expires,
	}
	if tok == "" {
		c.MaxAge = -1
	}
	return c
}

func (s *Server) signup(ctx context.Context, in *signupInput) (*loginOutput, error) {
	b := in.Body
	l, err := s.auth.Signup(ctx, auth.Signup{
		Identity: account.Identity{Email: b.Email, Username: b.Username, PhoneNumber: b.PhoneNumber},
		Profile: account.Profile{FirstName: b.FirstName, LastName: b.LastName, AvatarURL: b.AvatarURL,
			Country: b.Country, City: b.City, Zipcode: b.Zipcode, Language: b.Language},
		Password: b.Password,
	}, s.client(ctx))
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
	if err := s.auth.Logout(ctx, userd.ActorFrom(ctx)); err != nil {
		return nil, err
	}
	return &logoutOutput{SetCookie: s.cookie("", time.Time{})}, nil
}
