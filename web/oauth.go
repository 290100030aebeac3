package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/userd/userd/federation"
)

// bindingCookie ties a log-in in flight to the browser that started it: the
// callback uses a state only with the cookie its start set.
const bindingCookie = "userd_oauth"

type oauthStartInput struct {
	Provider   string `path:"provider" doc:"A provider configured with --oidc-provider."`
	RedirectTo string `query:"redirect_to" doc:"Where the callback sends the browser when it is done: a URL on an origin of --allowed-redirects."`
	Binding    string `cookie:"userd_oauth" doc:"Set by an earlier start in this browser; reused, so that log-ins in two tabs both finish."`
}

type redirectOutput struct {
	Status    int
	Location  string      `header:"Location"`
	SetCookie http.Cookie `header:"Set-Cookie" doc:"userd_oauth: binds the log-in to this browser (HttpOnly, SameSite=Lax, ten minutes)."`
}

func (s *Server) oauthStart(ctx context.Context, in *oauthStartInput) (*redirectOutput, error) {
	if s.fed == nil {
		return nil, federation.ErrUnknownProvider
	}
	to, binding, err := s.fed.Start(ctx, in.Provider, in.RedirectTo, in.Binding)
	if err != nil {
		return nil, err
	}
	cookie := http.Cookie{Name: bindingCookie, Value: binding, Path: "/v1/auth/oauth/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(s.cfg.PublicURL, "https://"), MaxAge: int(federation.BindingTTL / time.Second)}
	return &redirectOutput{Status: http.StatusFound, Location: to, SetCookie: cookie}, nil
}

type oauthCallbackInput struct {
	Provider string `path:"provider"`
	State    string `query:"state"`
	Code     string `query:"code"`
	Binding  string `cookie:"userd_oauth" doc:"The cookie that the start of this log-in set in this browser; without it the state is refused (400 invalid_state)."`
	Error    string `query:"error" doc:"Set by the provider when it did not sign the user in."`
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
	userID, to, err := s.fed.Callback(ctx, in.Provider, in.State, in.Binding, in.Code, in.Error, c.IP, c.UserAgent)
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
