package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/crm"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/organization"
)

// Errors of the users' forms.
var (
	errBadDay       = userd.Invalid([]userd.FieldError{{Field: "until", Code: "invalid_day", Message: "Give a day, such as 2026-01-31."}})
	errNotConfirmed = userd.Invalid([]userd.FieldError{{Field: "confirm", Code: "not_confirmed", Message: "Type the user's email (or username) exactly to delete them."}})
)

// consolePage is how many rows a console list shows at once.
const consolePage = 25

// usersPage is the users' search page.
type usersPage struct {
	Q, Next string
	Users   []account.User
}

// consoleUsers finds users as GET /v1/admin/users does, a page at a time.
func (s *Server) consoleUsers(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Users"
	q := r.URL.Query()
	before, err := decodeCursor(q.Get("cursor"))
	if err != nil {
		s.consoleFail(w, r, v, v.Title, err)
		return
	}
	list, err := s.admin.ListUsers(r.Context(), q.Get("q"), before, consolePage+1)
	if err != nil {
		s.consoleFail(w, r, v, v.Title, err)
		return
	}
	p := usersPage{Q: q.Get("q")}
	var next *string
	p.Users, next = pageOf(list, consolePage, func(u account.User) string { return u.ID })
	if next != nil {
		p.Next = *next
	}
	v.Data = p
	if q.Get("deleted") != "" {
		v.Notice = "The user is deleted."
	}
	s.render(w, http.StatusOK, "users", v)
}

// userPage is a user's page: what the administrator may read of them, and
// what they may give.
type userPage struct {
	admin.UserWithGrants
	Roles       []string // the roles that may be given
	History     []moderation.Entry
	Activity    []audit.Entry
	ConfirmWord string // what to type to delete them

	Sessions      []auth.Session
	SessionsNext  string // the cursor of their next sessions
	MySession     string // the console's own session, which the list marks
	Factors       admin.Factors
	Orgs          []organization.Summary
	MoreOrgs      bool                   // they belong to more than Orgs
	Subscriptions []billing.Subscription // with billing:read
	Client        *crm.ClientProfile     // nil without one
}

// consoleUser shows a user: their profile and roles (users:read), their
// moderation history (users:moderate) and recent activity
// (activity_logs:read), with the forms of the actions the administrator
// holds.
func (s *Server) consoleUser(w http.ResponseWriter, r *http.Request, v *consoleView) {
	id, err := s.userID(r.Context(), r.PathValue("id"))
	var p userPage
	if err == nil {
		p.UserWithGrants, err = s.admin.GetUser(r.Context(), id)
	}
	if err == nil && v.Can(rolesWrite) {
		roles, _, rerr := s.admin.Roles(r.Context())
		for _, ro := range roles {
			p.Roles = append(p.Roles, ro.Name)
		}
		err = rerr
	}
	if err == nil && v.Can(moderation.ModeratePermission) {
		p.History, err = s.moderation.History(r.Context(), id, false, "", 10)
	}
	if err == nil && v.Can(logsRead) {
		p.Activity, err = s.admin.ActivityLogs(r.Context(), audit.Filter{UserID: id}, "", 10)
	}
	if err == nil {
		err = s.userAccess(r, v, id, &p)
	}
	if err != nil {
		s.consoleFail(w, r, v, "User", err)
		return
	}
	p.ConfirmWord = confirmWord(p.User)
	v.Title, v.Data = "User "+p.ConfirmWord, p
	v.Notice = userNotices[r.URL.Query().Get("done")]
	s.render(w, http.StatusOK, "user", v)
}

// userAccess reads how a user gets in and what they belong to, each as its
// /v1/admin route does: their sessions (a page after the query's
// "sessions" cursor), second factor and passkeys, organisations and client
// profile (users:read), and subscriptions (billing:read).
func (s *Server) userAccess(r *http.Request, v *consoleView, id string, p *userPage) error {
	ctx := r.Context()
	after, err := decodeCursor(r.URL.Query().Get("sessions"))
	if err != nil {
		return err
	}
	sessions, err := s.admin.Sessions(ctx, id, after, consolePage+1)
	if err != nil {
		return err
	}
	var next *string
	if p.Sessions, next = pageOf(sessions, consolePage, func(se auth.Session) string { return se.ID }); next != nil {
		p.SessionsNext = *next
	}
	p.MySession = v.caller.Actor.SessionID
	if p.Factors, err = s.admin.Factors(ctx, id); err != nil {
		return err
	}
	orgs, err := s.orgs.Search(ctx, "", id, "", consolePage+1)
	if err != nil {
		return err
	}
	p.Orgs, next = pageOf(orgs, consolePage, func(o organization.Summary) string { return o.ID })
	p.MoreOrgs = next != nil
	if v.Can(billing.ReadPermission) {
		if p.Subscriptions, err = s.billing.List(ctx, v.caller.Actor, billing.Filter{UserID: id}, "", consolePage); err != nil {
			return err
		}
	}
	cp, err := s.crm.ClientProfile(ctx, v.caller.Actor, id)
	switch {
	case err == nil:
		p.Client = &cp
	case !errors.Is(err, engagement.ErrProfileNotFound):
		return err
	}
	return nil
}

// userNotices are the messages shown after an action, by its name in the
// redirect's query (never text from the request).
var userNotices = map[string]string{
	"give":    "The role is given.",
	"take":    "The role is taken.",
	"suspend": "The user is suspended and signed out everywhere.",
	"ban":     "The user is banned and signed out everywhere.",
	"unban":   "The user is active again.",
	"warn":    "The user is warned.",
	"session": "The session is ended: its tokens are refused from now on.",
	"endall":  "Every session of the user is ended: they are signed out everywhere.",
}

// confirmWord is what an administrator types to delete a user: their email,
// else their username, else their id.
func confirmWord(u account.User) string {
	for _, s := range []*string{u.Email, u.Username} {
		if w := account.Deref(s); w != "" {
			return w
		}
	}
	return u.ID
}

// done goes back to the user's page with an action's notice.
func done(w http.ResponseWriter, r *http.Request, action string) {
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(r.PathValue("id"))+"?done="+url.QueryEscape(action), http.StatusSeeOther)
}

// consoleSetRole gives or takes a role, as PUT and DELETE
// /v1/admin/users/{id}/roles/{role} do.
func (s *Server) consoleSetRole(w http.ResponseWriter, r *http.Request, v *consoleView) {
	op := r.PostFormValue("op")
	id, err := s.userID(r.Context(), r.PathValue("id"))
	if err == nil {
		err = s.admin.SetRole(r.Context(), v.who(), id, r.PostFormValue("role"), op == "give")
	}
	if err != nil {
		s.consoleFail(w, r, v, "Roles", err)
		return
	}
	if op != "give" {
		op = "take"
	}
	done(w, r, op)
}

// formDay reads an optional day (2026-01-31) of a form: nil when the field
// is empty, errBadDay when it is not a day.
func formDay(r *http.Request, field string) (*time.Time, error) {
	day := r.PostFormValue(field)
	if day == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, errBadDay
	}
	return &t, nil
}

// consoleModerate warns, suspends (until a day, or for good), bans or
// restores a user, as POST /v1/admin/moderation-actions does.
func (s *Server) consoleModerate(w http.ResponseWriter, r *http.Request, v *consoleView) {
	id, err := s.userID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.consoleFail(w, r, v, "Status", err)
		return
	}
	in := moderation.ActionInput{UserID: id, Reason: r.PostFormValue("reason")}
	in.Action = r.PostFormValue("action") // a moderation action, not an audit one
	if in.Until, err = formDay(r, "until"); err != nil {
		s.consoleFail(w, r, v, "Status", err)
		return
	}
	if _, err := s.moderation.Act(r.Context(), v.caller.Actor, v.client, in); err != nil {
		s.consoleFail(w, r, v, "Status", err)
		return
	}
	done(w, r, in.Action)
}

// consoleDeleteUser deletes a user, as DELETE /v1/admin/users/{id} does,
// once the administrator typed the user's confirmation word.
func (s *Server) consoleDeleteUser(w http.ResponseWriter, r *http.Request, v *consoleView) {
	id, err := s.userID(r.Context(), r.PathValue("id"))
	var u admin.UserWithGrants
	if err == nil {
		u, err = s.admin.GetUser(r.Context(), id)
	}
	if err == nil && r.PostFormValue("confirm") != confirmWord(u.User) {
		err = errNotConfirmed
	}
	if err == nil {
		err = s.admin.DeleteUser(r.Context(), v.who(), id)
	}
	if err != nil {
		s.consoleFail(w, r, v, "Delete", err)
		return
	}
	http.Redirect(w, r, "/admin/users?deleted=1", http.StatusSeeOther)
}

// consoleEndSessions ends one session of a user (the form's "session"), or
// all of them (none named), as DELETE /v1/admin/users/{id}/sessions/{session_id}
// and DELETE /v1/admin/users/{id}/sessions do.
func (s *Server) consoleEndSessions(w http.ResponseWriter, r *http.Request, v *consoleView) {
	one := r.PostFormValue("session")
	id, err := s.userID(r.Context(), r.PathValue("id"))
	if err == nil {
		_, err = s.admin.EndSessions(r.Context(), v.who(), id, one)
	}
	if err != nil {
		s.consoleFail(w, r, v, "Sessions", err)
		return
	}
	if one != "" {
		done(w, r, "session")
		return
	}
	done(w, r, "endall")
}
