package web

import (
	"errors"
	"html/template"
	"net"
	"net/http"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/apikey"
	"github.com/userd/userd/internal/feature/auth"
)

// The pages that mailed links open: a form that POSTs the token back, so
// that a mail scanner that fetches the link uses nothing up.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:28em;margin:4em auto;padding:0 1em;color:#222}
input,button{font:inherit;padding:.5em;margin:.3em 0;width:100%;box-sizing:border-box}
button{background:#05a;color:#fff;border:0;border-radius:4px;cursor:pointer}.err{color:#c22}</style></head>
<body><h1>{{.Title}}</h1>
{{if .Message}}<p class="{{if .Failed}}err{{end}}">{{.Message}}</p>{{end}}
{{if .Form}}<form method="post">
<input type="hidden" name="token" value="{{.Token}}">
{{if .Password}}<label>New password<input type="password" name="password" autocomplete="new-password" minlength="8" required autofocus></label>{{end}}
<button type="submit">{{.Button}}</button></form>{{end}}
</body></html>`))

type page struct {
	Title, Message, Token, Button string
	Form, Password, Failed        bool
}

func (s *Server) renderPage(w http.ResponseWriter, status int, p page) {
	pageHeaders(w.Header(), formPolicy)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, p); err != nil {
		s.log.Error("render page", "err", err)
	}
}

// pageResult renders the outcome of a form: done, or the problem's message.
func (s *Server) pageResult(w http.ResponseWriter, r *http.Request, p page, err error, done string) {
	p.Form = false
	if err == nil {
		p.Message = done
		s.renderPage(w, http.StatusOK, p)
		return
	}
	pr := problemOf(r.Context(), s.log, err)
	p.Message, p.Failed = pr.Detail, true
	if e := userd.ErrorOf(err); e != nil && len(e.Fields) > 0 {
		p.Message, p.Form = e.Fields[0].Message, p.Password
	}
	s.renderPage(w, pr.Status, p)
}

// formLimit is the most a form page reads of a body: its fields are a token
// and a password.
const formLimit = 64 << 10

// posted renders the form for a GET, with the token of the link. For a POST
// it refuses a cross-origin request, and a body larger than formLimit (413)
// or not read in time (408), and reads the token sent into p. It reports
// whether the request is a POST to act on.
func (s *Server) posted(w http.ResponseWriter, r *http.Request, p *page) bool {
	if r.Method == http.MethodGet {
		p.Token = r.URL.Query().Get("token")
		s.renderPage(w, http.StatusOK, *p)
		return false
	}
	if err := s.cop.Check(r); err != nil {
		s.renderPage(w, http.StatusForbidden, page{Title: p.Title, Message: "This form must be sent from this site.", Failed: true})
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		status, msg := formError(err)
		s.renderPage(w, status, page{Title: p.Title, Message: msg, Failed: true})
		return false
	}
	p.Token = r.PostFormValue("token")
	return true
}

// formError returns the status and the message of a form that could not be
// read.
func formError(err error) (int, string) {
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "The form is too large."
	case errors.As(err, &netErr) && netErr.Timeout():
		return http.StatusRequestTimeout, "The form took too long to arrive."
	}
	return http.StatusBadRequest, "The form could not be read."
}

func (s *Server) verifyEmailPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Confirm your email address", Button: "Confirm", Form: true}
	if !s.posted(w, r, &p) {
		return
	}
	err := s.auth.VerifyEmail(r.Context(), p.Token, s.clientOf(r))
	s.pageResult(w, r, p, err, "Your email address is confirmed. You can close this page.")
}

func (s *Server) resetPasswordPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Choose a new password", Button: "Set the new password", Form: true, Password: true}
	if !s.posted(w, r, &p) {
		return
	}
	err := s.auth.ResetPassword(r.Context(), p.Token, r.PostFormValue("password"), s.clientOf(r))
	s.pageResult(w, r, p, err, "Your password is changed, and every session is signed out. Sign in with the new password.")
}

// acceptInvitationPage is where an organisation's invitation mail leads:
// a signed-in browser (the session cookie) accepts it with the form; anyone
// else is asked to sign in with the invited address first. Like the API's
// route, it needs the permission account:write (403 without).
func (s *Server) acceptInvitationPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Join an organisation", Button: "Accept the invitation", Form: true}
	if !s.posted(w, r, &p) {
		return
	}
	// Only a browser's session: a cookie that carries an API key was
	// planted, and is not authenticated at all.
	var c auth.Caller
	tok, fromCookie := credential(r)
	var err error = auth.ErrUnauthenticated
	if fromCookie && !strings.HasPrefix(tok, apikey.Prefix) {
		c, err = s.auth.Authenticate(r.Context(), tok)
	}
	if err != nil || c.Actor.APIKeyID != "" {
		s.renderPage(w, http.StatusUnauthorized, page{Title: p.Title, Failed: true,
			Message: "Sign in with the email address that was invited, then open the link in the mail again."})
		return
	}
	if err := permit(accountWrite, c.Actor.Grants); err != nil {
		s.pageResult(w, r, p, err, "")
		return
	}
	o, err := s.orgs.Accept(withCaller(r.Context(), c), c.Actor, s.clientOf(r), p.Token)
	s.pageResult(w, r, p, err, "You are now a member of "+o.Name+". You can close this page.")
}
