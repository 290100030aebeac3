package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/userd/userd/internal/feature/federation"
)

// The binding cookie ties a log-in in flight to the browser that started
// it: the callback uses a state only with the cookie its start set. Under
// https it is __Host-userd_oauth (Secure, Path=/, no Domain), which no
// sibling subdomain and no plain-http page can set in a victim's browser.

// binding returns the binding a request carries, from its cookie of either
// name.
func (s *Server) binding(plain, host string) string {
	if s.secure() {
		return host
	}
	return plain
}

// bindingCookie returns the cookie that carries a log-in's binding.
func (s *Server) bindingCookie(value string) http.Cookie {
	c := http.Cookie{Name: "userd_oauth", Value: value, Path: "/v1/auth/oauth/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		MaxAge: int(federation.BindingTTL / time.Second)}
	if s.secure() {
		c.Name, c.Path, c.Secure = "__Host-userd_oauth", "/", true
	}
	return c
}

// secure reports whether clients reach userd over https.
func (s *Server) secure() bool { return strings.HasPrefix(s.cfg.PublicURL, "https://") }

type oauthStartInput struct {
	Provider    string `path:"provider" doc:"A provider configured with --oidc-provider."`
	RedirectTo  string `query:"redirect_to" doc:"Where the callback sends the browser when it is done: a URL on an origin of --allowed-redirects."`
	Referral    string `query:"referral" doc:"The slug of the referral the user came through (422 unknown_referral when none has it), recorded if the log-in makes a new user."`
	Binding     string `cookie:"userd_oauth" doc:"Over http: set by an earlier start in this browser, and reused, so that log-ins in two tabs both finish."`
	HostBinding string `cookie:"__Host-userd_oauth" doc:"Over https: as userd_oauth."`
}

type redirectOutput struct {
	Status    int
	Location  string      `header:"Location"`
	SetCookie http.Cookie `header:"Set-Cookie" doc:"userd_oauth (__Host-userd_oauth over https): binds the log-in to this browser (HttpOnly, SameSite=Lax, ten minutes)."`
}

func (s *Server) oauthStart(ctx context.Context, in *oauthStartInput) (*redirectOutput, error) {
	if s.fed == nil {
		return nil, federation.ErrUnknownProvider
	}
	to, b, err := s.fed.Start(ctx, in.Provider, in.RedirectTo, in.Referral, s.binding(in.Binding, in.HostBinding))
	if err != nil {
		return nil, err
	}
	return &redirectOutput{Status: http.StatusFound, Location: to, SetCookie: s.bindingCookie(b)}, nil
}

type oauthCallbackInput struct {
	Provider    string `path:"provider"`
	State       string `query:"state"`
	Code        string `query:"code"`
	Error       string `query:"error" doc:"Set by the provider when it did not sign the user in."`
	Binding     string `cookie:"userd_oauth" doc:"Over http: the cookie that the start of this log-in set in this browser; without it the state is refused (400 invalid_state)."`
	HostBinding string `cookie:"__Host-userd_oauth" doc:"Over https: as userd_oauth."`
}

type callbackOutput struct {
	Status    int
	Location  string      `header:"Location"`
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      *LoginBody
}

func (s *Server) oauthCallback(ctx context.Context, in *oauthCallbackInput) (*callbackOutput, error) {
	if s.fed == nil {
		return nil, federation.ErrUnknownProvider
	}
	c := s.client(ctx)
	userID, to, err := s.fed.Callback(ctx, in.Provider, in.State, s.binding(in.Binding, in.HostBinding), in.Code, in.Error, c.IP, c.UserAgent)
	if err != nil {
		return nil, err
	}
	l, err := s.auth.SignIn(ctx, userID, c, "oidc:"+in.Provider)
	if err != nil {
		return nil, err
	}
	login := s.loginOutput(l)
	if to != "" {
		return &callbackOutput{Status: http.StatusFound, Location: to, SetCookie: login.SetCookie}, nil
	}
	return &callbackOutput{Status: http.StatusOK, SetCookie: login.SetCookie, Body: &login.Body}, nil
}
