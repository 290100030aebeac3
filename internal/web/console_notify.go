package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/notify"
)

// composeForm is the notifications composer's form, as typed.
type composeForm struct {
	To                   string // one, list or role
	User, Users, Role    string
	Type, Title, Details string
	Data                 string
}

// composePage is the composer: the form and the roles it may send to.
type composePage struct {
	F     composeForm
	Roles []string // empty when the administrator may not read the roles
	Max   int      // recipients of a list
}

// consoleCompose shows the notifications composer; after a sending, how
// many users got it.
func (s *Server) consoleCompose(w http.ResponseWriter, r *http.Request, v *consoleView) {
	p := composePage{F: composeForm{To: "one", Type: "console.message"}}
	if n, err := strconv.Atoi(r.URL.Query().Get("sent")); err == nil {
		v.Notice = fmt.Sprintf("Sent: %d users got the notification.", n)
		if n == 1 {
			v.Notice = "Sent: 1 user got the notification."
		}
	}
	s.renderCompose(w, r, v, p, nil)
}

// renderCompose renders the composer with p's form, and err's banner when
// err is not nil.
func (s *Server) renderCompose(w http.ResponseWriter, r *http.Request, v *consoleView, p composePage, err error) {
	v.Title, p.Max = "Send a notification", admin.MaxRecipients
	if v.Can(rolesRead) {
		roles, _, rerr := s.admin.Roles(r.Context())
		if rerr != nil {
			s.consoleFail(w, r, v, v.Title, rerr)
			return
		}
		for _, ro := range roles {
			p.Roles = append(p.Roles, ro.Name)
		}
	}
	v.Data = p
	if err != nil {
		s.renderError(w, r, v, "notifications", err)
		return
	}
	s.render(w, http.StatusOK, "notifications", v)
}

// consoleSend sends a notification, as POST /v1/admin/notifications does,
// to one user or a list (each by id, email or legacy id) or to every
// holder of a role, and goes back to the composer saying how many got it;
// a refusal shows the form again, as typed.
func (s *Server) consoleSend(w http.ResponseWriter, r *http.Request, v *consoleView) {
	f := composeForm{To: r.PostFormValue("to"), User: r.PostFormValue("user"), Users: r.PostFormValue("users"), Role: r.PostFormValue("role"),
		Title: r.PostFormValue("title"), Details: r.PostFormValue("description"), Data: r.PostFormValue("data")}
	f.Type = r.PostFormValue("type") // a notification's type, not an audit action
	n := notify.New{Type: f.Type, Title: f.Title, Description: f.Details}
	if d := strings.TrimSpace(f.Data); d != "" {
		n.Data = json.RawMessage(d) // notify.New.Check refuses what is not an object
	}
	sent, err := s.send(r, v, f, n)
	if err != nil {
		s.renderCompose(w, r, v, composePage{F: f}, err)
		return
	}
	http.Redirect(w, r, "/admin/notifications?sent="+strconv.Itoa(sent), http.StatusSeeOther)
}

// send sends n to whom f names, and returns how many got it.
func (s *Server) send(r *http.Request, v *consoleView, f composeForm, n notify.New) (int, error) {
	if f.To == "role" {
		return s.admin.NotifyRole(r.Context(), v.who(), f.Role, n)
	}
	lines := f.User
	if f.To == "list" {
		lines = f.Users
	}
	ids, err := s.admin.Recipients(r.Context(), textLines(lines)) // one a line
	if err != nil {
		return 0, err
	}
	made, err := s.admin.Notify(r.Context(), v.who(), ids, n)
	return len(made), err
}
