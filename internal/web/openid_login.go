package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/feature/passkey"
)

// The OpenID Provider's log-in page: the op package sends a browser with
// an authorization request here (?id=). A browser whose userd session
// (the userd_session cookie) is enough passes straight through to the
// client with a code; else the page signs the user in with userd's own
// log-in (password then second factor, passkey, or a configured social
// provider, each with its rate limits, lock-outs and audit), sets the
// session cookie (so that the next client passes through), and asks for
// consent where the client is not first-party and the user has not
// allowed these scopes before.

// oauthPage is what the page's template sees.
type oauthPage struct {
	ID, Client            string
	Step                  string // login, mfa or consent
	Identifier, Challenge string
	Passkey               bool
	Providers             []providerLink
	Scopes                []string
	Who                   string
}

// Action is where the page's log-in forms post.
func (oauthPage) Action() string { return openid.LoginPath }

// RequestID is the authorization request the page answers.
func (p oauthPage) RequestID() string { return p.ID }

// providerLink is a social provider's button.
type providerLink struct{ Name, URL string }

// scopeText says what each scope lets the client read.
var scopeText = map[string]string{
	"openid":         "who you are (your user id)",
	"profile":        "your name, username, picture and language",
	"email":          "your email address",
	"phone":          "your phone number",
	"offline_access": "all of this while you are away (a refresh token)",
	"roles":          "your roles",
	"organizations":  "your organisations and your role in each",
}

// oauthView is the page's view for the request p: data's step (login,
// mfa or consent), with its challenge or the user it names, and what the
// request and the server say besides.
func (s *Server) oauthView(r *http.Request, p openid.Pending, data oauthPage) *consoleView {
	data.ID, data.Client, data.Identifier, data.Passkey = p.ID, p.Client.Name, p.LoginHint(), s.passkeys.Enabled()
	if s.fed != nil {
		back := s.oidc.LoginURL(p.ID)
		for _, n := range s.fed.Names() {
			data.Providers = append(data.Providers, providerLink{Name: n, URL: "/v1/auth/oauth/" + url.PathEscape(n) + "/start?redirect_to=" + url.QueryEscape(back)})
		}
	}
	for _, sc := range p.GetScopes() {
		data.Scopes = append(data.Scopes, scopeText[sc])
	}
	title := "Sign in"
	if data.Step == "consent" {
		title = "Allow " + p.Client.Name + "?"
	}
	v := &consoleView{Title: title, Brand: "userd", Version: s.cfg.Version, client: s.clientOf(r), Data: data}
	if u, err := url.Parse(p.GetRedirectURI()); err == nil && u.Scheme != "" && u.Host != "" {
		v.formTo = u.Scheme + "://" + u.Host
	}
	return v
}

// oauthFail renders what ends the page without an answer to the client (an
// unknown or expired request, a refused form) on a page of its own.
func (s *Server) oauthFail(w http.ResponseWriter, r *http.Request, err error) {
	s.renderError(w, r, &consoleView{Title: "Sign in", Brand: "userd", Version: s.cfg.Version, Data: "/"}, "message", err)
}

// browserUser returns the browser's signed-in user from its session
// cookie, and how the consent page names them; a zero Signed when there is
// none or it is not valid.
func (s *Server) browserUser(r *http.Request) (openid.Signed, string) {
	tok, fromCookie := credential(r)
	if !fromCookie || tok == "" {
		return openid.Signed{}, ""
	}
	c, err := s.auth.Authenticate(r.Context(), tok)
	if err != nil || c.Actor.SessionID == "" {
		return openid.Signed{}, ""
	}
	return openid.Signed{Actor: c.Actor}, displayName(c.User)
}

// oauthAdvance moves the request id on and answers: the client with a code
// or an error, or the page's next step.
func (s *Server) oauthAdvance(w http.ResponseWriter, r *http.Request, id string, u openid.Signed, consent bool, who string) {
	step, p, err := s.oidc.Advance(r.Context(), id, u, consent, s.clientOf(r))
	var oerr *oidc.Error
	switch {
	case errors.As(err, &oerr) && p.Request != nil:
		s.oidc.Fail(w, r, p.Request, err)
	case err != nil:
		s.oauthFail(w, r, err)
	case step == openid.StepDone:
		s.oidc.Answer(w, r, p.Request)
	case step == openid.StepConsent:
		s.render(w, http.StatusOK, "oauth", s.oauthView(r, p, oauthPage{Step: "consent", Who: who}))
	default:
		s.render(w, http.StatusOK, "oauth", s.oauthView(r, p, oauthPage{Step: "login"}))
	}
}

func (s *Server) oauthLoginPage(w http.ResponseWriter, r *http.Request) {
	u, who := s.browserUser(r)
	s.oauthAdvance(w, r, r.URL.Query().Get("id"), u, false, who)
}

// displayName is how the consent page names a user.
func displayName(u account.User) string {
	for _, p := range []*string{u.Email, u.Username, u.PhoneNumber} {
		if p != nil && *p != "" {
			return *p
		}
	}
	return u.ID
}

// oauthForm reads a form of the page after the cross-origin protection,
// with its request; it renders the refusal itself and reports whether to
// go on.
func (s *Server) oauthForm(w http.ResponseWriter, r *http.Request) (openid.Pending, bool) {
	fail := func(err error) (openid.Pending, bool) {
		s.oauthFail(w, r, err)
		return openid.Pending{}, false
	}
	if err := s.cop.Check(r); err != nil {
		return fail(errCSRF)
	}
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		status, msg := formError(err)
		return fail(newProblem(status, "bad_form", msg))
	}
	p, err := s.oidc.Pending(r.Context(), r.PostFormValue("id"))
	if err != nil {
		return fail(err)
	}
	return p, true
}

// oauthSignedIn goes on with a log-in made on the page: its session's
// cookie is set and the request moves on with a fresh sign-in; a failed
// log-in shows the page again with why.
func (s *Server) oauthSignedIn(w http.ResponseWriter, r *http.Request, p openid.Pending, l auth.Login, err error, amr []string, challenge string) {
	if ch, ok := isMFA(err); ok {
		s.render(w, http.StatusOK, "oauth", s.oauthView(r, p, oauthPage{Step: "mfa", Challenge: ch}))
		return
	}
	if err != nil {
		// A wrong code may be tried again on its challenge; an expired
		// challenge or a limit starts again with the password.
		again := oauthPage{Step: "login"}
		if challenge != "" && !errors.Is(err, mfa.ErrChallenge) && userd.ErrorKind(err) != userd.KindRateLimited {
			again = oauthPage{Step: "mfa", Challenge: challenge}
		}
		s.renderError(w, r, s.oauthView(r, p, again), "oauth", err)
		return
	}
	ck := s.cookie(l.SessionToken, l.Session.ExpiresAt)
	http.SetCookie(w, &ck)
	a := userd.Actor{UserID: l.User.ID, SessionID: l.Session.ID, AuthTime: l.Session.CreatedAt}
	s.oauthAdvance(w, r, p.ID, openid.Signed{Actor: a, Fresh: true, AMR: amr}, false, displayName(l.User))
}

func (s *Server) oauthPassword(w http.ResponseWriter, r *http.Request) {
	p, ok := s.oauthForm(w, r)
	if !ok {
		return
	}
	l, err := s.auth.Login(r.Context(), r.PostFormValue("identifier"), r.PostFormValue("password"), s.clientOf(r))
	s.oauthSignedIn(w, r, p, l, err, []string{"pwd"}, "")
}

func (s *Server) oauthMFA(w http.ResponseWriter, r *http.Request) {
	p, ok := s.oauthForm(w, r)
	if !ok {
		return
	}
	l, err := s.auth.VerifyMFA(r.Context(), r.PostFormValue("challenge"), r.PostFormValue("code"), r.PostFormValue("recovery"), s.clientOf(r))
	s.oauthSignedIn(w, r, p, l, err, []string{"pwd", "otp", "mfa"}, r.PostFormValue("challenge"))
}

func (s *Server) oauthPasskey(w http.ResponseWriter, r *http.Request) {
	p, ok := s.oauthForm(w, r)
	if !ok {
		return
	}
	l, err := s.passkeySignIn(r.Context(), r.PostFormValue("challenge_id"), []byte(r.PostFormValue("credential")), s.clientOf(r))
	if errors.Is(err, passkey.ErrMalformed) {
		err = passkey.ErrRefused
	}
	s.oauthSignedIn(w, r, p, l, err, []string{"hwk", "user"}, "")
}

// oauthConsent records the signed-in user's answer on the consent page:
// allow completes the request, deny answers the client access_denied.
func (s *Server) oauthConsent(w http.ResponseWriter, r *http.Request) {
	p, ok := s.oauthForm(w, r)
	if !ok {
		return
	}
	u, _ := s.browserUser(r)
	if u.Actor.UserID == "" {
		s.render(w, http.StatusOK, "oauth", s.oauthView(r, p, oauthPage{Step: "login"}))
		return
	}
	if r.PostFormValue("decision") != "allow" {
		_, err := s.oidc.Refuse(r.Context(), p.ID, u.Actor, s.clientOf(r))
		s.oidc.Fail(w, r, p.Request, err)
		return
	}
	s.oauthAdvance(w, r, p.ID, u, true, "")
}
