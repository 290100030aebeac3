// Package web is userd's HTTP API: the route table (routes.go), the
// middleware that authenticates requests, problem+json errors, one handler
// file per feature, the OpenAPI document and the reference page.
package web

import (
	"cmp"
	"context"
	"embed"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/feature/crm"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/federation"
	"github.com/userd/userd/internal/feature/keys"
	"github.com/userd/userd/internal/feature/layout"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/newsletter"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/feature/passkey"
	"github.com/userd/userd/internal/feature/referral"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/feature/sponsor"
	"github.com/userd/userd/internal/feature/survey"
	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/feature/vault"
	"github.com/userd/userd/internal/feature/webhook"
)

// Config holds the web layer's settings.
type Config struct {
	Version string
	// PublicURL is the address clients reach userd at; an https one makes
	// cookies Secure.
	PublicURL string
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []*net.IPNet
	// CachedPages is how many pages of lists the server remembers, and ten
	// times as many unread counts: DefaultCachedPages when 0, none when
	// negative.
	CachedPages int
	// HideAuthUserID leaves users' auth_user_id out of public profiles and
	// lists (--public-auth-user-id=false).
	HideAuthUserID bool
	// Flags are the process's settings, each with its effective value and
	// secrets hidden, and MasterKey what may be said of the master key: the
	// console's settings page shows them.
	Flags     []Flag
	MasterKey MasterKey
	Logger    *slog.Logger
	// Requests is told of every request when it ends (metrics); nil for
	// no one.
	Requests RequestObserver
	// Metrics, when not nil, serves GET /metrics on the API's address.
	Metrics http.Handler
}

// RequestObserver is told of each request that the Server served: its
// method, its route's pattern (never the path), the answer's status and
// how long it took.
type RequestObserver interface {
	ObserveRequest(method, route string, status int, took time.Duration)
}

// Database is what the API asks of the database itself (sqldb.DB is one).
type Database interface {
	// Now is the database's clock, which tests move.
	Now() time.Time
	// Ping reports whether the database answers.
	Ping(context.Context) error
	// MigrationsPending reports whether migrations wait to be applied.
	MigrationsPending(context.Context) (bool, error)
	// Engine names the engine ("sqlite" or "postgres"); ServerVersion is its
	// version, and MigrationVersion the latest migration applied.
	Engine() string
	ServerVersion(context.Context) (string, error)
	MigrationVersion(context.Context) (int64, error)
}

// Services are what the API serves.
type Services struct {
	DB   Database
	Auth *auth.Service
	// Accounts serves users their own account.
	Accounts *account.Service
	Admin    *admin.Service
	Keys     *keys.Store
	Hub      *notify.Hub
	// Federation signs users in through OpenID Connect providers; nil when
	// none is configured.
	Federation *federation.Service
	// Passkeys runs WebAuthn ceremonies (or answers that they are off) and
	// keeps the users' passkeys.
	Passkeys *passkey.Service
	// Layouts reads and writes dashboard layouts.
	Layouts *layout.Service
	// Referrals serves users their referral.
	Referrals *referral.Service
	// Vault keeps users' credential accounts and sealed credentials.
	Vault *vault.Service
	// Synchronizations keeps users' links to external platforms.
	Synchronizations *synchronization.Service
	// Lifecycle ends users who ask for it and reads their exports.
	Lifecycle *lifecycle.Service
	// Notifications serves users their notifications.
	Notifications *notify.Service
	// Social serves the follow graph.
	Social *social.Service
	// Engagement serves votes, favorites and client profiles.
	Engagement *engagement.Service
	// Sponsors serves sponsor ads: submission, review and the ads shown now.
	Sponsors *sponsor.Service
	// Moderation serves reports, their review and moderators' actions.
	Moderation *moderation.Service
	// Organizations serves organisations, their members and invitations.
	Organizations *organization.Service
	// Billing serves providers' events, subscriptions and plans' roles.
	Billing *billing.Service
	// Collections serves declared collections and their records.
	Collections *collection.Service
	// CRM serves companies, integration mappings, the Twenty CRM
	// connection and the seed's status.
	CRM *crm.Service
	// Newsletter serves the newsletter's subscriptions.
	Newsletter *newsletter.Service
	// ChangeHub announces the changes of users' records to their streams
	// (fed from collection.Channel).
	ChangeHub *notify.Hub
	// Surveys serves surveys, their responses and results.
	Surveys *survey.Service
	// Webhooks serves webhook endpoints and deliveries.
	Webhooks *webhook.Service
	// Mail lists the mail deliveries.
	Mail *mailq.Service
	// OpenID is the OpenID Provider: its clients, consents and
	// endpoints; nil when it is off.
	OpenID *openid.Service
}

// Server is the HTTP API.
type Server struct {
	cfg         Config
	db          Database
	auth        *auth.Service
	accounts    *account.Service
	admin       *admin.Service
	keys        *keys.Store
	hub         *notify.Hub
	fed         *federation.Service
	passkeys    *passkey.Service
	layouts     *layout.Service
	referrals   *referral.Service
	vault       *vault.Service
	syncs       *synchronization.Service
	lifecycle   *lifecycle.Service
	notices     *notify.Service
	social      *social.Service
	items       *engagement.Service
	sponsors    *sponsor.Service
	moderation  *moderation.Service
	orgs        *organization.Service
	billing     *billing.Service
	collections *collection.Service
	crm         *crm.Service
	changeHub   *notify.Hub
	newsletter  *newsletter.Service
	surveys     *survey.Service
	webhooks    *webhook.Service
	mail        *mailq.Service
	oidc        *openid.Service
	// rankingPages remembers each answer of GET /v1/rankings encoded, by
	// ranking, period and limit (at most 17 × 100 of them), for as long as
	// the ranking stays the same: encoding is most of the cost of an answer
	// that the engagement service has in memory.
	rankingPages sync.Map
	done         chan struct{} // closed when the server shuts down: streams end
	log          *slog.Logger
	api          huma.API
	mux          *http.ServeMux
	cop          *http.CrossOriginProtection
	memo         memos
	consolePerms []string // the permissions of the /v1/admin routes: any one lets its holder into the console
}

func init() {
	huma.NewError = humaError
}

// New returns the API over the given services.
func New(cfg Config, svc Services) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CachedPages == 0 {
		cfg.CachedPages = DefaultCachedPages
	}
	s := &Server{cfg: cfg, db: svc.DB, auth: svc.Auth, accounts: svc.Accounts, admin: svc.Admin, keys: svc.Keys, hub: svc.Hub, fed: svc.Federation, passkeys: svc.Passkeys, layouts: svc.Layouts, referrals: svc.Referrals, vault: svc.Vault, syncs: svc.Synchronizations, lifecycle: svc.Lifecycle, notices: svc.Notifications, social: svc.Social, items: svc.Engagement, moderation: svc.Moderation, orgs: svc.Organizations, sponsors: svc.Sponsors, billing: svc.Billing, collections: svc.Collections, crm: svc.CRM, changeHub: svc.ChangeHub, done: make(chan struct{}), log: cfg.Logger, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection()}
	s.newsletter = svc.Newsletter
	s.surveys = svc.Surveys
	s.webhooks = svc.Webhooks
	s.mail = svc.Mail
	s.oidc = svc.OpenID
	s.memo = newMemos(s, cfg.CachedPages)
	hc := huma.DefaultConfig("userd", cfg.Version)
	hc.Info.Description = "userd: identity and user data for your applications. Errors are RFC 9457 problem documents with a stable `code`."
	hc.DocsPath = ""     // /docs is our own page, readable without a CDN
	hc.SchemasPath = ""  // schemas live inside the document
	hc.CreateHooks = nil // no $schema links in bodies
	hc.OpenAPIPath = "/openapi"
	hc.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A session token (uds_…) or an access token (a JWT)."},
		"apiKey": {Type: "http", Scheme: "bearer", Description: "An application's API key (udk_…), as `Authorization: Bearer udk_…`: it reaches the routes whose permission it carries, never those that act for a signed-in user (403 `user_required`)."},
		"cookie": {Type: "apiKey", In: "cookie", Name: sessionCookie, Description: "The session cookie set by sign-up and log-in."},
	}
	hc.Tags = []*huma.Tag{
		{Name: "Service", Description: "Health, readiness and the keys that verify access tokens."},
		{Name: "Authentication", Description: "Sign-up, log-in, tokens, and the flows that mail carries."},
		{Name: "Current user", Description: "What the signed-in user reads and changes about themself."},
		{Name: "Users", Description: "Other users, as anyone may see them."},
		{Name: "Synchronizations", Description: "Links to external platforms with sealed tokens; daily sync and token expiry webhooks."},
		{Name: "Credentials vault", Description: "Named accounts and their API credentials, sealed at rest; revealed only on purpose."},
		{Name: "Administration", Description: "Users, roles and the audit trail, for holders of the permissions each names."},
		{Name: "CRM", Description: "Companies and client profiles' companies, mappings of userd's objects to an external CRM's, the Twenty CRM connection, and the demonstration seed's status."},
		{Name: "Newsletter", Description: "Double opt-in subscriptions to the newsletter, one-click unsubscription (RFC 8058), and the subscribers' list and CSV for the administration."},
		{Name: "Webhooks", Description: "Endpoints that receive the catalogue's events (see the document's webhooks section), signed as Standard Webhooks, and the record of each delivery."},
		{Name: "Webhook events", Description: "What userd POSTs to webhook endpoints: the catalogue, one entry of the webhooks section per event type."},
		{Name: "OpenID Provider", Description: "userd as the OpenID Connect provider of applications: their clients (administrators) and the consents users gave them. The protocol's own endpoints (discovery at /.well-known/openid-configuration, /oauth2/authorize, /oauth2/token, /oauth2/userinfo, /oauth2/revoke, /oauth2/introspect, /oauth2/end_session) follow OpenID Connect Core, RFC 6749, 7636, 7009, 7662 and 9207 and are described by the discovery document, not here."},
		{Name: "Collections", Description: "Records of the kinds an operator declares (owned by a user or an organisation, validated by a JSON Schema), with unique keys, relations, filters and exports."},
	}
	if cfg.PublicURL != "" {
		hc.Servers = []*huma.Server{{URL: cfg.PublicURL}}
	}
	s.api = humago.New(s.mux, hc)
	s.api.OpenAPI().OnAddOperation = append(s.api.OpenAPI().OnAddOperation, documentJSONOnly)
	s.api.UseMiddleware(apiHeaders, s.requireJSON)
	s.api.UseMiddleware(s.authenticate)
	s.routes()
	s.mountOpenID()
	documentWebhooks(s.api)
	s.mux.HandleFunc("GET /docs", s.docs)
	s.mux.HandleFunc("GET /passkeys", static("passkeys.html", "text/html; charset=utf-8", passkeysPolicy))
	s.mux.HandleFunc("GET /passkeys.js", static("passkeys.js", "text/javascript; charset=utf-8", passkeysPolicy))
	s.mux.HandleFunc("GET /verify-email", s.verifyEmailPage)
	s.mux.HandleFunc("POST /verify-email", s.verifyEmailPage)
	s.mux.HandleFunc("GET /reset-password", s.resetPasswordPage)
	s.mux.HandleFunc("POST /reset-password", s.resetPasswordPage)
	s.mux.HandleFunc("GET /accept-invitation", s.acceptInvitationPage)
	s.mux.HandleFunc("POST /accept-invitation", s.acceptInvitationPage)
	s.mux.HandleFunc("GET "+newsletter.ConfirmPage, s.confirmNewsletterPage)
	s.mux.HandleFunc("POST "+newsletter.ConfirmPage, s.confirmNewsletterPage)
	s.mux.HandleFunc("GET "+newsletter.UnsubscribePage, s.unsubscribeNewsletterPage)
	s.mux.HandleFunc("POST "+newsletter.UnsubscribePage, s.unsubscribeNewsletterPage)
	s.consoleRoutes()
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", cfg.Metrics)
	}
	s.mux.HandleFunc("/", s.notFound)
	return s
}

// Shutdown ends the open event streams, so that a graceful shutdown does not
// wait for them. Call it once, when the HTTP server shuts down.
func (s *Server) Shutdown() { close(s.done) }

// ServeHTTP serves the API.

// OpenAPI returns the OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

//go:embed static
var staticFiles embed.FS

// static serves an embedded file with the page headers and the given
// policy.
func static(name, contentType, policy string) http.HandlerFunc {
	body, err := staticFiles.ReadFile("static/" + name)
	if err != nil {
		panic(err) // the files are fixed at build time
	}
	return func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w.Header(), policy)
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}
}

// The content security policies of the HTML pages, on top of what
// pageHeaders adds: what each page may load and where its forms may go.
const (
	formPolicy     = "style-src 'unsafe-inline'; form-action 'self'" // the mailed links' pages
	docsPolicy     = "style-src 'unsafe-inline'; form-action 'none'"
	passkeysPolicy = "script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'none'"
)

// pageHeaders sets the security headers of an HTML page: a content security
// policy that loads nothing but what policy allows and that no other site
// may frame, no MIME sniffing and no Referer on the page's links and
// requests (a mailed link's token is in its URL).
func pageHeaders(h http.Header, policy string) {
	h.Set("Content-Security-Policy", "default-src 'none'; "+policy+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// apiHeaders keeps every API answer out of caches and content sniffing:
// many carry a token, a secret or a user's data. An operation that may be
// cached says so with its own Cache-Control, which wins (the JWKS does).
func apiHeaders(ctx huma.Context, next func(huma.Context)) {
	ctx.SetHeader("Cache-Control", "no-store")
	ctx.SetHeader("X-Content-Type-Options", "nosniff")
	next(ctx)
}

// Timeouts bound how long a client may take over a request. A zero field
// takes its default.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers: 10 s by default.
	ReadHeader time.Duration
	// Read bounds reading a whole request, headers and body: 30 s by
	// default. An API operation's body has 5 s from when huma starts to
	// read it (its BodyReadTimeout). Neither bounds an answer: the server
	// lifts the deadline once the request is read, so the event stream and
	// the export go on.
	Read time.Duration
	// Idle bounds how long a kept-alive connection waits for its next
	// request: 2 min by default.
	Idle time.Duration
}

// HTTPServer returns the http.Server that serves h with the timeouts t. It
// has no write timeout, which would cut the event stream and the export.
func HTTPServer(h http.Handler, t Timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cmp.Or(t.ReadHeader, 10*time.Second),
		ReadTimeout:       cmp.Or(t.Read, 30*time.Second),
		IdleTimeout:       cmp.Or(t.Idle, 2*time.Minute),
	}
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, newProblem(http.StatusNotFound, "not_found", "No such resource."))
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, _ = w.Write(mustJSON(p))
}

// clientIP returns the client's address: the peer's, or, when the peer is a
// trusted proxy, the right-most address in X-Forwarded-For that is not one.
func (s *Server) clientIP(remoteAddr, forwarded string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	if !s.trusted(host) || forwarded == "" {
		return host
	}
	hops := strings.Split(forwarded, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if net.ParseIP(hop) == nil {
			return host
		}
		if !s.trusted(hop) {
			return hop
		}
	}
	return host
}

func (s *Server) trusted(ip string) bool {
	addr := net.ParseIP(ip)
	for _, n := range s.cfg.TrustedProxies {
		if addr != nil && n.Contains(addr) {
			return true
		}
	}
	return false
}

// client describes the request's origin for the services.
func (s *Server) client(ctx context.Context) auth.Client {
	c, _ := ctx.Value(clientKey{}).(auth.Client)
	return c
}

// clientOf reads the request's origin.
func (s *Server) clientOf(r *http.Request) auth.Client {
	return auth.Client{IP: s.clientIP(r.RemoteAddr, r.Header.Get("X-Forwarded-For")), UserAgent: r.UserAgent()}
}

func withClient(ctx context.Context, c auth.Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

type clientKey struct{}
