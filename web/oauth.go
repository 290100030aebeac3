package web

import (
	"context"
	"net/http"

	"github.com/userd/userd/federation"
)

type oauthStartInput struct {
	Provider   string `path:"provider" doc:"A provider configured with --oidc-provider."`
	RedirectTo string `query:"redirect_to" doc:"Where the callback sends the browser when it is done: a URL on an origin of --allowed-redirects."`
}

type redirectOutput struct {
	Status   int
	Location string `header:"Location"`
}

func (s *Server) oauthStart(ctx context.Context, in *oauthStartInput) (*redirectOutput, error) {
	if s.fed == nil {
		return nil, federation.ErrUnknownProvider
	}
	to, err := s.fed.Start(ctx, in.Provider, in.RedirectTo)
	if err != nil {
		return nil, err
	}
	return &redirectOutput{Status: http.StatusFound, Location: to}, nil
}

type oauthCallbackInput struct {
	Provider string `path:"provider"`
	State    string `query:"state"`
	Code     string `query:"code"`
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
	userID, to, err := s.fed.Callback(ctx, in.Provider, in.State, in.Code, in.Error, c.IP, c.UserAgent)
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
