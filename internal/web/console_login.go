package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/feature/passkey"
)

// consoleLoginForm is what the log-in page shows: the password form (and
// the passkey's button when passkeys are configured), or the second
// factor's form with its challenge.
type consoleLoginForm struct {
	Identifier, Challenge string
	Passkey               bool
}

// Action is where the log-in's forms post.
func (consoleLoginForm) Action() string { return "/admin/login" }

// RequestID is "": the console's log-in answers no authorization request.
func (consoleLoginForm) RequestID() string { return "" }

// passwordForm is the log-in page's first step, its identifier filled in.
func (s *Server) passwordForm(ident string) consoleLoginForm {
	return consoleLoginForm{Identifier: ident, Passkey: s.passkeys.Enabled()}
}

// loginView is the view of the log-in pages, which have no session yet.
func (s *Server) loginView(r *http.Request) *consoleView {
	return &consoleView{Title: "Sign in", Version: s.cfg.Version, client: s.clientOf(r), Data: s.passwordForm("")}
}

func (s *Server) consoleLoginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", s.loginView(r))
}

// loginForm reads a log-in form after the cross-origin protection; it
// renders the refusal itself and reports whether to go on.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, v *consoleView) bool {
	if err := s.cop.Check(r); err != nil {
		s.consoleFail(w, r, v, "Sign in", errCSRF)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		status, msg := formError(err)
		s.renderError(w, r, v, "login", newProblem(status, "bad_form", msg))
		return false
	}
	return true
}

// consoleLogin checks the password through the API's log-in (its rate
// limits, lock-outs, audit and answers for an unknown identifier), then
// asks for the second factor when the user has one.
func (s *Server) consoleLogin(w http.ResponseWriter, r *http.Request) {
	v := s.loginView(r)
	if !s.loginForm(w, r, v) {
		return
	}
	ident := r.PostFormValue("identifier")
	l, err := s.auth.Login(r.Context(), ident, r.PostFormValue("password"), v.client)
	if ch, ok := isMFA(err); ok {
		v.Data = consoleLoginForm{Challenge: ch}
		s.render(w, http.StatusOK, "login", v)
		return
	}
	v.Data = s.passwordForm(ident)
	s.consoleSignedIn(w, r, v, l, err)
}

// consoleMFA finishes a log-in with a TOTP code or a recovery code.
func (s *Server) consoleMFA(w http.ResponseWriter, r *http.Request) {
	v := s.loginView(r)
	if !s.loginForm(w, r, v) {
		return
	}
	ch := r.PostFormValue("challenge")
	l, err := s.auth.VerifyMFA(r.Context(), ch, r.PostFormValue("code"), r.PostFormValue("recovery"), v.client)
	v.Data = consoleLoginForm{Challenge: ch}
	s.consoleSignedIn(w, r, v, l, err)
}

// consolePasskey signs in with a passkey. console.js posts the ceremony's
// id (from POST /v1/auth/passkeys/login/begin) and the browser's assertion
// as JSON; they go through the API's log-in with a passkey, then through
// the console's door as a password's log-in does. A credential that is not
// a WebAuthn response is refused like one that proves no one (401).
func (s *Server) consolePasskey(w http.ResponseWriter, r *http.Request) {
	v := s.loginView(r)
	if !s.loginForm(w, r, v) {
		return
	}
	l, err := s.passkeySignIn(r.Context(), r.PostFormValue("challenge_id"), []byte(r.PostFormValue("credential")), v.client)
	if errors.Is(err, passkey.ErrMalformed) {
		err = passkey.ErrRefused
	}
	s.consoleSignedIn(w, r, v, l, err)
}

// consoleSignedIn keeps the session of a log-in that holds a console
// permission in the console's cookie and goes to the overview; it ends the
// session of anyone else at once, and renders a failed log-in's reason.
func (s *Server) consoleSignedIn(w http.ResponseWriter, r *http.Request, v *consoleView, l auth.Login, err error) {
	if err == nil {
		var c auth.Caller
		if c, err = s.auth.Authenticate(r.Context(), l.SessionToken); err == nil && !s.mayConsole(c.Actor.Grants) {
			err = errConsoleRefused
			if end := s.auth.Logout(r.Context(), c.Actor, v.client); end != nil {
				err = end
			}
		}
	}
	if err != nil {
		if errors.Is(err, mfa.ErrChallenge) || errors.Is(err, errConsoleRefused) || userd.ErrorKind(err) == userd.KindRateLimited {
			v.Data = s.passwordForm("") // a new attempt starts with the password
		}
		s.renderError(w, r, v, "login", err)
		return
	}
	s.consoleSession(w, r, l.SessionToken, l.Session.ExpiresAt)
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// consoleLogout ends the console's session and clears its cookie.
func (s *Server) consoleLogout(w http.ResponseWriter, r *http.Request, v *consoleView) {
	if err := s.auth.Logout(r.Context(), v.caller.Actor, v.client); err != nil {
		s.consoleFail(w, r, v, "Sign out", err)
		return
	}
	s.consoleSession(w, r, "", time.Time{})
	v = s.loginView(r)
	v.Notice = "You are signed out."
	s.render(w, http.StatusOK, "login", v)
}
