package web

// The administration console at /admin: server-rendered pages
// (html/template, embedded with the binary under console/), one stylesheet
// and one small script under /admin/static/, and nothing else. It lives in
// package web because it is HTTP: like the API's handlers, each page or
// action makes calls to the same feature services as the matching
// /v1/admin route, guarded by the same permission key (consoleRoutes), so
// rules, audit and invalidation are the API's.
//
// Security model: the console's own cookie (consoleCookie: HttpOnly,
// SameSite=Strict, Path=/admin, Secure over https) holds a normal userd
// session token opened by the API's log-in (rate limits, lock-outs,
// second factor and audit included); only a user holding an
// administration permission keeps one. Every POST passes the cross-origin
// protection and carries a CSRF token derived from the session's token
// (csrfToken), compared in constant time. Pages send a content security
// policy without 'unsafe-inline' (consolePolicy).

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/apikey"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/feature/webhook"
)

// consoleCookie carries the console's session token.
const consoleCookie = "userd_console"

// consolePolicy is the console pages' content security policy: its own
// script and stylesheet, forms to itself, no frames and no base.
const consolePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// notificationsSend is the permission of POST /v1/admin/notifications.
const notificationsSend = "notifications:send"

// consoleArea is any holder of a console permission: the overview and the
// settings.
const consoleArea = "console"

// navItem is an entry of the console's navigation.
type navItem struct {
	Path, Label, Needs string
	Current            bool
}

// consoleNav is the navigation, each page with the permission it needs.
var consoleNav = []navItem{
	{Path: "/admin", Label: "Overview", Needs: consoleArea},
	{Path: "/admin/users", Label: "Users", Needs: usersRead},
	{Path: "/admin/orgs", Label: "Organisations", Needs: usersRead},
	{Path: "/admin/roles", Label: "Roles", Needs: rolesRead},
	{Path: "/admin/api-keys", Label: "API keys", Needs: admin.APIKeysRead},
	{Path: "/admin/reports", Label: "Moderation queue", Needs: reportsReview},
	{Path: "/admin/sponsor-ads", Label: "Sponsor ads", Needs: adsReview},
	{Path: "/admin/featured", Label: "Featured items", Needs: itemsFeature},
	{Path: "/admin/billing", Label: "Billing", Needs: billingRead},
	{Path: "/admin/collections", Label: "Collections", Needs: collectionsWrite},
	{Path: "/admin/notifications", Label: "Notifications", Needs: notificationsSend},
	{Path: "/admin/mail", Label: "Mail", Needs: mailq.ReadPermission},
	{Path: "/admin/webhooks", Label: "Webhooks", Needs: webhook.ReadPermission},
	{Path: "/admin/oauth-clients", Label: "OpenID clients", Needs: openid.ReadPermission},
	{Path: "/admin/audit", Label: "Audit log", Needs: logsRead},
	{Path: "/admin/settings", Label: "Settings", Needs: consoleArea},
}

// consoleRoutes registers the console's pages and actions.
func (s *Server) consoleRoutes() {
	s.consolePerms = adminPermissions(s.api.OpenAPI())
	s.mux.HandleFunc("GET /admin/static/console.css", consoleStatic("console.css", "text/css; charset=utf-8"))
	s.mux.HandleFunc("GET /admin/static/console.js", consoleStatic("console.js", "text/javascript; charset=utf-8"))
	s.mux.HandleFunc("GET /admin/login", s.consoleLoginPage)
	s.mux.HandleFunc("POST /admin/login", s.consoleLogin)
	s.mux.HandleFunc("POST /admin/login/mfa", s.consoleMFA)
	s.mux.HandleFunc("POST /admin/login/passkey", s.consolePasskey)
	s.mux.HandleFunc("POST /admin/logout", s.console(consoleArea, s.consoleLogout))
	s.mux.HandleFunc("GET /admin", s.console(consoleArea, s.consoleOverview))
	s.mux.HandleFunc("GET /admin/settings", s.console(consoleArea, s.consoleSettings))
	s.mux.HandleFunc("GET /admin/users", s.console(usersRead, s.consoleUsers))
	s.mux.HandleFunc("GET /admin/users/{id}", s.console(usersRead, s.consoleUser))
	s.mux.HandleFunc("POST /admin/users/{id}/roles", s.console(rolesWrite, s.consoleSetRole))
	s.mux.HandleFunc("POST /admin/users/{id}/moderate", s.console(moderation.ModeratePermission, s.consoleModerate))
	s.mux.HandleFunc("POST /admin/users/{id}/delete", s.console(usersWrite, s.consoleDeleteUser))
	s.mux.HandleFunc("GET /admin/audit", s.console(logsRead, s.consoleAudit))
	s.mux.HandleFunc("GET /admin/mail", s.console(mailq.ReadPermission, s.consoleMail))
	s.mux.HandleFunc("POST /admin/users/{id}/sessions", s.console(usersWrite, s.consoleEndSessions))
	s.mux.HandleFunc("GET /admin/orgs", s.console(usersRead, s.consoleOrgs))
	s.mux.HandleFunc("GET /admin/orgs/{id}", s.console(usersRead, s.consoleOrg))
	s.mux.HandleFunc("GET /admin/reports", s.console(reportsReview, s.consoleReports))
	s.mux.HandleFunc("POST /admin/reports/{report}/review", s.console(reportsReview, s.consoleReviewReport))
	s.mux.HandleFunc("POST /admin/reports/act", s.console(moderation.ModeratePermission, s.consoleActOnContent))
	s.mux.HandleFunc("GET /admin/sponsor-ads", s.console(adsReview, s.consoleSponsorAds))
	s.mux.HandleFunc("POST /admin/sponsor-ads/{ad}/review", s.console(adsReview, s.consoleReviewAd))
	s.mux.HandleFunc("GET /admin/featured", s.console(itemsFeature, s.consoleFeatured))
	s.mux.HandleFunc("POST /admin/featured", s.console(itemsFeature, s.consoleFeature))
	s.mux.HandleFunc("POST /admin/featured/remove", s.console(itemsFeature, s.consoleUnfeature))
	s.mux.HandleFunc("GET /admin/billing", s.console(billingRead, s.consoleBilling))
	s.mux.HandleFunc("POST /admin/billing/grant", s.console(billingWrite, s.consoleGrant))
	s.mux.HandleFunc("POST /admin/billing/{sub}/end", s.console(billingWrite, s.consoleEndGrant))
	s.mux.HandleFunc("GET /admin/billing/events", s.console(billingRead, s.consoleBillingEvents))
	s.mux.HandleFunc("GET /admin/collections", s.console(collectionsWrite, s.consoleCollections))
	s.mux.HandleFunc("/admin/", s.console(consoleArea, s.consoleNotFound))
	s.mux.HandleFunc("GET /admin/roles", s.console(rolesRead, s.consoleRoles))
	s.mux.HandleFunc("GET /admin/roles/new", s.console(rolesWrite, s.consoleNewRole))
	s.mux.HandleFunc("POST /admin/roles", s.console(rolesWrite, s.consoleCreateRole))
	s.mux.HandleFunc("GET /admin/roles/{role}", s.console(rolesRead, s.consoleRole))
	s.mux.HandleFunc("POST /admin/roles/{role}", s.console(rolesWrite, s.consoleUpdateRole))
	s.mux.HandleFunc("POST /admin/roles/{role}/delete", s.console(rolesWrite, s.consoleDeleteRole))
	s.mux.HandleFunc("POST /admin/permissions", s.console(rolesWrite, s.consoleCreatePermission))
	s.mux.HandleFunc("POST /admin/permissions/{key}/delete", s.console(rolesWrite, s.consoleDeletePermission))
	s.mux.HandleFunc("GET /admin/api-keys", s.console(admin.APIKeysRead, s.consoleAPIKeys))
	s.mux.HandleFunc("POST /admin/api-keys", s.console(admin.APIKeysWrite, s.consoleCreateAPIKey))
	s.mux.HandleFunc("POST /admin/api-keys/{key}/revoke", s.console(admin.APIKeysWrite, s.consoleRevokeAPIKey))
	s.mux.HandleFunc("GET /admin/webhooks", s.console(webhook.ReadPermission, s.consoleWebhooks))
	s.mux.HandleFunc("POST /admin/webhooks", s.console(webhook.WritePermission, s.consoleCreateWebhook))
	s.mux.HandleFunc("POST /admin/webhooks/{endpoint}/enabled", s.console(webhook.WritePermission, s.consoleEnableWebhook))
	s.mux.HandleFunc("POST /admin/webhooks/{endpoint}/rotate", s.console(webhook.WritePermission, s.consoleRotateWebhook))
	s.mux.HandleFunc("POST /admin/webhooks/{endpoint}/test", s.console(webhook.WritePermission, s.consoleTestWebhook))
	s.mux.HandleFunc("POST /admin/webhooks/{endpoint}/delete", s.console(webhook.WritePermission, s.consoleDeleteWebhook))
	s.mux.HandleFunc("GET /admin/oauth-clients", s.console(openid.ReadPermission, s.consoleOAuthClients))
	s.mux.HandleFunc("POST /admin/oauth-clients", s.console(openid.WritePermission, s.consoleCreateOAuthClient))
	s.mux.HandleFunc("POST /admin/oauth-clients/{client}/delete", s.console(openid.WritePermission, s.consoleDeleteOAuthClient))
	s.mux.HandleFunc("GET /admin/webhooks/deliveries", s.console(webhook.ReadPermission, s.consoleWebhookDeliveries))
	s.mux.HandleFunc("POST /admin/webhooks/deliveries/{delivery}/retry", s.console(webhook.WritePermission, s.consoleRetryWebhook))
	s.mux.HandleFunc("GET /admin/notifications", s.console(notificationsSend, s.consoleCompose))
	s.mux.HandleFunc("POST /admin/notifications", s.console(notificationsSend, s.consoleSend))
}

//go:embed console
var consoleFiles embed.FS

// consolePages are the console's templates, each page parsed with the
// layout.
var consolePages = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"deref": account.Deref,
		"day":   func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"stamp": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				return v.UTC().Format("2006-01-02 15:04 UTC")
			case *time.Time:
				return v.UTC().Format("2006-01-02 15:04 UTC")
			}
			return ""
		},
	}
	base := template.Must(template.New("layout").Funcs(funcs).ParseFS(consoleFiles, "console/layout.html"))
	out := map[string]*template.Template{}
	entries, err := consoleFiles.ReadDir("console/pages")
	if err != nil {
		panic(err) // the files are fixed at build time
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(consoleFiles, "console/pages/"+e.Name()))
	}
	return out
}()

// consoleStatic serves one of the console's static files.
func consoleStatic(name, contentType string) http.HandlerFunc {
	body, err := consoleFiles.ReadFile("console/static/" + name)
	if err != nil {
		panic(err) // the files are fixed at build time
	}
	return func(w http.ResponseWriter, r *http.Request) {
		consoleHeaders(w.Header())
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(body)
	}
}

// consoleHeaders sets the security headers of every console answer.
func consoleHeaders(h http.Header) {
	h.Set("Content-Security-Policy", consolePolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// consoleView is what a page's template sees.
type consoleView struct {
	Title   string
	Me      string // who is signed in, as shown
	CSRF    string
	Nav     []navItem
	Notice  string
	Error   string
	Fields  []string
	Status  int
	Version string
	Data    any
	// Brand names the site in the header: "userd console", or "userd" on
	// the OpenID Provider's log-in page.
	Brand string
	// formTo is an origin the page's forms may end at besides userd's
	// own (the OpenID Provider's client, which a form's answer redirects
	// to): the Content-Security-Policy's form-action names it.
	formTo string

	grants  userd.Grants
	entered bool   // the administrator passed the console's door (mayConsole)
	token   string // the console session's token
	caller  auth.Caller
	client  auth.Client
}

// Can reports whether the signed-in administrator holds a permission (or,
// for consoleArea, any console permission). Pages offer only what it
// allows; the routes refuse the rest anyway.
func (v *consoleView) Can(perm string) bool {
	if perm == consoleArea {
		return v.entered
	}
	return v.grants.Has(perm)
}

// mayConsole reports whether grants let a user into the console: they
// hold a permission of some /v1/admin route (or an admin role).
func (s *Server) mayConsole(g userd.Grants) bool {
	return slices.ContainsFunc(s.consolePerms, g.Has)
}

// adminPermissions are the permissions that guard the /v1/admin routes of
// an API, each once.
func adminPermissions(doc *huma.OpenAPI) []string {
	var out []string
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/v1/admin/") {
			continue
		}
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			if p, _ := op.Metadata[metaPerm].(string); p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// who is the administrator acting, for the admin service.
func (v *consoleView) who() admin.Who { return admin.Who{Actor: v.caller.Actor, Client: v.client} }

// consoleHandler is a console page or action of a signed-in administrator.
type consoleHandler func(w http.ResponseWriter, r *http.Request, v *consoleView)

// console authenticates a request by the console's cookie and checks that
// the administrator holds needs; a POST must also pass the cross-origin
// protection and carry the session's CSRF token. A request without a valid
// session goes to the log-in page (a GET) or is refused (a POST).
func (s *Server) console(needs string, h consoleHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &consoleView{Version: s.cfg.Version, client: s.clientOf(r)}
		c, err := r.Cookie(consoleCookie)
		if err == nil && c.Value != "" && !strings.HasPrefix(c.Value, apikey.Prefix) {
			v.caller, err = s.auth.Authenticate(r.Context(), c.Value)
			v.token = c.Value
		} else {
			err = auth.ErrUnauthenticated
		}
		if err == nil && (v.caller.Actor.APIKeyID != "" || !s.mayConsole(v.caller.Actor.Grants)) {
			err = errConsoleRefused
		}
		if err != nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
				return
			}
			s.consoleFail(w, r, v, "Sign in", err)
			return
		}
		v.grants, v.entered = v.caller.Actor.Grants, true
		v.CSRF = csrfToken(v.token)
		v.Me = account.Deref(v.caller.User.Email)
		if v.Me == "" {
			v.Me = account.Deref(v.caller.User.Username)
		}
		for _, n := range consoleNav {
			if v.Can(n.Needs) {
				n.Current = n.Path == r.URL.Path || (n.Path != "/admin" && strings.HasPrefix(r.URL.Path, n.Path+"/"))
				v.Nav = append(v.Nav, n)
			}
		}
		if r.Method == http.MethodPost {
			if err := s.consoleForm(w, r, v); err != nil {
				s.consoleFail(w, r, v, "Refused", err)
				return
			}
		}
		if !v.Can(needs) {
			s.consoleFail(w, r, v, "Refused", permit(needs, v.grants))
			return
		}
		ctx := withClient(withCaller(r.Context(), v.caller), v.client)
		h(w, r.WithContext(ctx), v)
	}
}

// Errors of the console's own checks.
var (
	errConsoleRefused = userd.Errorf(userd.KindForbidden, "console_refused", "This account holds no administration permission: the console is not for it.")
	errCSRF           = userd.Errorf(userd.KindForbidden, "csrf_rejected", "The form is stale or was not sent from this console. Load the page again.")
)

// consoleForm reads a POST's form after the cross-origin and CSRF checks.
func (s *Server) consoleForm(w http.ResponseWriter, r *http.Request, v *consoleView) error {
	if err := s.cop.Check(r); err != nil {
		return errCSRF
	}
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		status, msg := formError(err)
		return newProblem(status, "bad_form", msg)
	}
	if v.token == "" || !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(csrfToken(v.token))) {
		return errCSRF
	}
	return nil
}

// csrfToken is the CSRF token of a console session: a keyed hash of its
// secret token, so that only a page served to that session knows it, and
// every process computes the same one.
func csrfToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("userd console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// render writes a console page.
func (s *Server) render(w http.ResponseWriter, status int, page string, v *consoleView) {
	consoleHeaders(w.Header())
	if v.formTo != "" {
		w.Header().Set("Content-Security-Policy", strings.Replace(consolePolicy, "form-action 'self'", "form-action 'self' "+v.formTo, 1))
	}
	if v.Brand == "" {
		v.Brand = "userd console"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	v.Status = status
	// Into memory first: a template that fails half-way answers 500, not
	// a page cut short under the status it would have had.
	var b bytes.Buffer
	if err := consolePages[page].ExecuteTemplate(&b, "layout", v); err != nil {
		s.log.Error("render console page", "page", page, "err", err)
		http.Error(w, "The page could not be shown; the error is in the server's log.", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// consoleFail renders an error on a page of its own with a link back: its
// status and message (a bare message for an internal error, which
// problemOf logs).
func (s *Server) consoleFail(w http.ResponseWriter, r *http.Request, v *consoleView, title string, err error) {
	s.failBack(w, r, v, title, backTo(r), err)
}

// failBack renders err on a page of its own that links back to back.
func (s *Server) failBack(w http.ResponseWriter, r *http.Request, v *consoleView, title, back string, err error) {
	v.Title, v.Data = title, back
	s.renderError(w, r, v, "message", err)
}

// renderError renders page with err's status and message in its banner.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, v *consoleView, page string, err error) {
	p := problemOf(r.Context(), s.log, err)
	v.Error, v.Fields = p.Detail, nil
	for _, f := range p.Errors {
		v.Fields = append(v.Fields, f.Message)
	}
	s.render(w, p.Status, page, v)
}

// backTo is where an error page links back to: the user a form was about,
// else the overview.
func backTo(r *http.Request) string {
	if id := r.PathValue("id"); id != "" {
		return "/admin/users/" + id
	}
	return "/admin"
}

func (s *Server) consoleNotFound(w http.ResponseWriter, r *http.Request, v *consoleView) {
	s.consoleFail(w, r, v, "Not found", userd.Errorf(userd.KindNotFound, "not_found", "No such page."))
}

// consoleSession sets (or, with an empty token, clears) the console's
// cookie.
func (s *Server) consoleSession(w http.ResponseWriter, r *http.Request, tok string, expires time.Time) {
	c := &http.Cookie{Name: consoleCookie, Value: tok, Path: "/admin", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || s.secure(), Expires: expires}
	if tok == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// isMFA reports whether err asks for the second factor, and its challenge.
func isMFA(err error) (string, bool) {
	var m *auth.MFARequired
	if errors.As(err, &m) {
		return m.Token, true
	}
	return "", false
}
