package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/feature/crm"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/federation"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/keys"
	"github.com/userd/userd/internal/feature/layout"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/newsletter"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/feature/outbox"
	"github.com/userd/userd/internal/feature/passkey"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/feature/referral"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/feature/sponsor"
	"github.com/userd/userd/internal/feature/survey"
	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/feature/vault"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/janitor"
	"github.com/userd/userd/internal/metrics"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/memo"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/web"
)

// serveConfig holds serve's settings.
type serveConfig struct {
	db             dbConfig
	addr           string
	publicURL      string
	smtpURL        string
	trustedProxies string
	logFormat      string
	oidcProviders  multiFlag
	allowRedirects string
	rateLimits     onOff
	engagement     engagement.Limits
	reportLimit    ratelimit.Rule
	holdThreshold  int
	// maxOrgs bounds a user's memberships of organisations.
	maxOrgs int
	// maxRecordBytes bounds a collection record's data.
	maxRecordBytes  int
	invitationLimit ratelimit.Rule
	stripeSecret    string
	pastDueGrace    time.Duration
	webhookLimit    ratelimit.Rule
	mailFrom        string
	keys            keyConfig
	auth            auth.Config
	keyRotation     time.Duration
	external        federation.ExternalConfig
	rpID            string
	rpOrigins       string
	webhookURL      string
	webhookSecret   string
	cachedPages     int
	publicAuthID    bool
	openidProvider  bool
	cachedItems     int
	memoryLimit     int // MiB; 0: none; -1: derived (tuneMemory)
	gcPercent       int
	debugAddr       string
	metricsAddr     string // "": /metrics on the API's address
	argon           password.Params
	shutdown        time.Duration
	exclusiveRoles  multiFlag // ROLE,ROLE,… each
	// webhookDisableAfter is how long an endpoint fails with no success
	// before it is disabled.
	webhookDisableAfter time.Duration
	webhookWorkers      int // runners of webhook deliveries

	// newsletter are the limits of subscriptions to the newsletter, and
	// newsletterTTL the life of their confirmation links.
	newsletter    newsletter.Limits
	newsletterTTL time.Duration
	// surveyLimit bounds the anonymous survey responses of one address.
	surveyLimit ratelimit.Rule
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, " ") }

// Set appends a value; several values in one (as from the environment) are
// separated by ';'.
func (m *multiFlag) Set(v string) error {
	for _, part := range strings.Split(v, ";") {
		if part = strings.TrimSpace(part); part != "" {
			*m = append(*m, part)
		}
	}
	return nil
}

// onOff is a flag that takes on or off.
type onOff bool

func (o *onOff) String() string {
	if *o {
		return "on"
	}
	return "off"
}

func (o *onOff) Set(v string) error {
	switch v {
	case "on":
		*o = true
	case "off":
		*o = false
	default:
		return errors.New("want on or off")
	}
	return nil
}

// rule is a rate limit as a flag spells it: MAX/WINDOW, such as 10/1m.
type rule struct{ r *ratelimit.Rule }

func (f rule) String() string {
	if f.r == nil {
		return ""
	}
	return fmt.Sprintf("%d/%s", f.r.Max, f.r.Window)
}

func (f rule) Set(v string) error {
	n, w, ok := strings.Cut(v, "/")
	max, err := strconv.Atoi(n)
	window, werr := time.ParseDuration(w)
	if !ok || err != nil || werr != nil || max < 1 || window <= 0 {
		return errors.New("want MAX/WINDOW, such as 10/1m")
	}
	*f.r = ratelimit.Rule{Max: max, Window: window}
	return nil
}

func serveFlags() (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{rateLimits: true, argon: password.OWASP, engagement: engagement.DefaultLimits, reportLimit: moderation.DefaultReportLimit,
		invitationLimit: organization.DefaultInvitationLimit, webhookLimit: billing.DefaultDeliveries, newsletter: newsletter.DefaultLimits}
	fs := newFlagSet("serve")
	c.db.flags(fs)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on (env USERD_ADDR)")
	fs.StringVar(&c.publicURL, "public-url", "", "URL that clients reach userd at, for links in mail and OAuth redirects; https makes cookies Secure (default http://ADDR) (env USERD_PUBLIC_URL)")
	fs.StringVar(&c.smtpURL, "smtp-url", "", "smtp://[user:pass@]host[:port] (STARTTLS required, unless ?tls=opportunistic or on loopback) or smtps://… (TLS from the start) for outgoing mail; mail goes to the log when unset (env USERD_SMTP_URL)")
	fs.StringVar(&c.logFormat, "log-format", "text", "the log's lines: text (key=value) or json, one line per event and per request (env USERD_LOG_FORMAT)")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "CIDR,… of proxies whose X-Forwarded-For is believed for the client address; none by default (env USERD_TRUSTED_PROXIES)")
	fs.Var(&c.oidcProviders, "oidc-provider", "NAME,ISSUER_URL,CLIENT_ID,CLIENT_SECRET of an OpenID Connect provider, repeatable; github and google need only NAME,,CLIENT_ID,CLIENT_SECRET (for github, an ISSUER_URL names a GitHub Enterprise Server) (env USERD_OIDC_PROVIDER)")
	fs.StringVar(&c.allowRedirects, "allowed-redirects", "", "ORIGIN,… that log-in may redirect to (env USERD_ALLOWED_REDIRECTS)")
	fs.Var(&c.rateLimits, "rate-limits", "on|off: brute-force limits; off only for load tests and test suites (env USERD_RATE_LIMITS)")
	fs.Var(rule{&c.engagement.Votes}, "vote-limit", "MAX/WINDOW: votes one user may cast, change or take back (env USERD_VOTE_LIMIT)")
	fs.Var(rule{&c.engagement.Comments}, "comment-limit", "MAX/WINDOW: comments one user may write (env USERD_COMMENT_LIMIT)")
	fs.Var(rule{&c.engagement.Views}, "view-limit", "MAX/WINDOW: item views one user, or one address when anonymous, may send (env USERD_VIEW_LIMIT)")
	fs.Var(rule{&c.invitationLimit}, "invitation-limit", "MAX/WINDOW: organisation invitations one user may send (env USERD_INVITATION_LIMIT)")
	fs.Var(rule{&c.reportLimit}, "report-limit", "MAX/WINDOW: reports one user may file (env USERD_REPORT_LIMIT)")
	fs.IntVar(&c.maxRecordBytes, "max-record-bytes", collection.DefaultMaxRecordBytes, "the largest data of a collection's record, in bytes of JSON (env USERD_MAX_RECORD_BYTES)")
	fs.IntVar(&c.maxOrgs, "max-organizations-per-user", organization.DefaultMaxPerUser, "how many organisations a user may create or join (env USERD_MAX_ORGANIZATIONS_PER_USER)")
	fs.IntVar(&c.holdThreshold, "report-hold-threshold", moderation.DefaultHoldThreshold, "content reported by this many distinct users is hidden pending review; 0 holds nothing (env USERD_REPORT_HOLD_THRESHOLD)")
	fs.StringVar(&c.stripeSecret, "stripe-webhook-secret", "", "whsec_… signing secret of the Stripe webhook endpoint that sends to /v1/billing/webhooks/stripe; wins over the one set by PUT /v1/admin/payment-providers/stripe (env USERD_STRIPE_WEBHOOK_SECRET)")
	fs.Var(rule{&c.webhookLimit}, "billing-webhook-limit", "MAX/WINDOW: deliveries to the billing webhooks from one address; a rejected signature is audited once per address and window (env USERD_BILLING_WEBHOOK_LIMIT)")
	fs.Var(rule{&c.newsletter.PerIP}, "newsletter-ip-limit", "MAX/WINDOW: newsletter subscriptions asked from one address (env USERD_NEWSLETTER_IP_LIMIT)")
	fs.Var(rule{&c.newsletter.PerEmail}, "newsletter-email-limit", "MAX/WINDOW: newsletter subscriptions asked for one email, each of which mails it (env USERD_NEWSLETTER_EMAIL_LIMIT)")
	fs.DurationVar(&c.newsletterTTL, "newsletter-confirm-ttl", newsletter.DefaultConfirmTTL, "lifetime of a newsletter subscription's confirmation link (env USERD_NEWSLETTER_CONFIRM_TTL)")
	fs.DurationVar(&c.pastDueGrace, "past-due-grace", billing.DefaultGrace, "how long a past_due subscription keeps its plan's roles (env USERD_PAST_DUE_GRACE)")
	fs.StringVar(&c.mailFrom, "mail-from", "userd <no-reply@localhost>", "sender of userd's mail (env USERD_MAIL_FROM)")
	c.surveyLimit = survey.DefaultResponseLimit
	fs.Var(rule{&c.surveyLimit}, "survey-response-limit", "MAX/WINDOW: anonymous survey responses one address may send (env USERD_SURVEY_RESPONSE_LIMIT)")
	c.keys.flags(fs)
	fs.DurationVar(&c.auth.SessionLifetime, "session-lifetime", 30*24*time.Hour, "absolute lifetime of a session (env USERD_SESSION_LIFETIME)")
	fs.DurationVar(&c.auth.SessionIdle, "session-idle-timeout", 7*24*time.Hour, "a session unused this long ends (env USERD_SESSION_IDLE_TIMEOUT)")
	fs.IntVar(&c.auth.CachedCallers, "auth-cache", auth.DefaultCachedCallers, "signed-in callers kept in memory between requests, about 1 KiB each; every change to their session, user or roles drops them in every process; -1 keeps none (env USERD_AUTH_CACHE)")
	fs.IntVar(&c.cachedItems, "item-cache", engagement.DefaultCachedItems, "items whose counters, featured window and hidden state are kept in memory between requests, about 200 bytes each; every change drops them in every process; -1 keeps none (env USERD_ITEM_CACHE)")
	fs.BoolVar(&c.openidProvider, "openid-provider", true, "serve userd's OpenID Provider (discovery, /oauth2/…, the log-in page) to the clients of `userd oauth-clients` (env USERD_OPENID_PROVIDER)")
	fs.BoolVar(&c.publicAuthID, "public-auth-user-id", true, "show users' auth_user_id (their subject at an external identity provider) in public profiles and follow lists, so that its clients can match them (env USERD_PUBLIC_AUTH_USER_ID)")
	fs.IntVar(&c.cachedPages, "page-cache", web.DefaultCachedPages, "pages of lists (notifications' first pages, followers, following) kept in memory between requests, and ten times as many unread counts; every change drops them in every process; -1 keeps none (env USERD_PAGE_CACHE)")
	fs.DurationVar(&c.auth.AccessTTL, "access-token-ttl", 15*time.Minute, "lifetime of an access token (JWT) (env USERD_ACCESS_TOKEN_TTL)")
	fs.DurationVar(&c.auth.RefreshGrace, "refresh-grace", 10*time.Second, "a refresh token retried within this window gets the same successor (env USERD_REFRESH_GRACE)")
	fs.DurationVar(&c.auth.VerifyTTL, "verify-email-ttl", 24*time.Hour, "lifetime of an email verification link (env USERD_VERIFY_EMAIL_TTL)")
	fs.DurationVar(&c.auth.ResetTTL, "reset-password-ttl", time.Hour, "lifetime of a password reset link (env USERD_RESET_PASSWORD_TTL)")
	fs.StringVar(&c.external.JWKSURL, "external-jwks-url", "", "accept bearer JWTs of an outside identity provider whose keys are at this URL; their sub is the user's auth_user_id (env USERD_EXTERNAL_JWKS_URL)")
	fs.StringVar(&c.external.Issuer, "external-issuer", "", "the iss those tokens must carry (env USERD_EXTERNAL_ISSUER)")
	fs.StringVar(&c.external.Audience, "external-audience", "", "the aud those tokens must carry, when set (env USERD_EXTERNAL_AUDIENCE)")
	fs.StringVar(&c.external.ReferralClaim, "external-referral-claim", "", "the claim of those tokens that holds the slug of the referral a new user came through, recorded by their first request (env USERD_EXTERNAL_REFERRAL_CLAIM)")
	fs.StringVar(&c.rpID, "webauthn-rp-id", "", "the passkeys' relying party id, a domain such as example.com (default the host of --public-url) (env USERD_WEBAUTHN_RP_ID)")
	fs.StringVar(&c.rpOrigins, "webauthn-origins", "", "ORIGIN,… of the pages that use passkeys (default the origin of --public-url) (env USERD_WEBAUTHN_ORIGINS)")
	fs.StringVar(&c.webhookURL, "webhook-url", "", "URL that receives every webhook event of the catalogue, and the only one that receives synchronization.due and synchronization.token_expiring; https unless on loopback; endpoints are also managed at /v1/admin/webhook-endpoints (env USERD_WEBHOOK_URL)")
	fs.IntVar(&c.webhookWorkers, "webhook-workers", webhook.DefaultWorkers, "webhook deliveries that one process makes at once (each endpoint at most 2 at once across processes) (env USERD_WEBHOOK_WORKERS)")
	fs.DurationVar(&c.webhookDisableAfter, "webhook-disable-after", webhook.DefaultDisableAfter, "how long a webhook endpoint fails, with no success, before it is disabled and its creator told (env USERD_WEBHOOK_DISABLE_AFTER)")
	fs.StringVar(&c.webhookSecret, "webhook-secret", "", "whsec_… key that signs webhooks (Standard Webhooks); needed with --webhook-url (env USERD_WEBHOOK_SECRET)")
	fs.DurationVar(&c.auth.ReauthMaxAge, "reauthentication-max-age", 5*time.Minute, "how recent a log-in must be to reveal a stored secret, add or remove a second factor or a passkey, or delete the account (env USERD_REAUTHENTICATION_MAX_AGE)")
	fs.DurationVar(&c.auth.ReauthMaxAge, "reveal-max-auth-age", 5*time.Minute, "the former name of --reauthentication-max-age (env USERD_REVEAL_MAX_AUTH_AGE)")
	fs.DurationVar(&c.keyRotation, "signing-key-rotation", 7*24*time.Hour, "age at which a new key takes over signing access tokens (env USERD_SIGNING_KEY_ROTATION)")
	fs.Func("argon2-memory", "argon2id memory in KiB for new password hashes (default 7168: with 5 passes, equivalent by OWASP's table to 19456 with 2) (env USERD_ARGON2_MEMORY)", uintFlag(&c.argon.Memory, 8, 4<<20))
	fs.Func("argon2-time", "argon2id passes (default 5) (env USERD_ARGON2_TIME)", uintFlag(&c.argon.Time, 1, 64))
	fs.IntVar(&c.memoryLimit, "memory-limit", -1, "soft limit in MiB of the memory the process's Go runtime holds; -1 derives it four times a second: twice the argon2id memory of every core (7 MiB each by default) plus twice the rest of the live heap (all of it when no password was hashed for 5 s), at least 16 MiB; 0 for none (GOMEMLIMIT wins) (env USERD_MEMORY_LIMIT)")
	fs.StringVar(&c.debugAddr, "debug-addr", "", "loopback address (127.0.0.1:6060) that serves Go's profiles at /debug/pprof/, for go tool pprof; off when empty (env USERD_DEBUG_ADDR)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "HOST:PORT that serves /metrics (Prometheus) instead of the API's address, which then answers 404 there; keep it private (env USERD_METRICS_ADDR)")
	fs.IntVar(&c.gcPercent, "gc-percent", 100, "how far the heap may grow past what is live before the collector runs, in percent; lower holds less memory for more collector work (GOGC wins) (env USERD_GC_PERCENT)")
	fs.DurationVar(&c.shutdown, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on SIGINT/SIGTERM (env USERD_SHUTDOWN_TIMEOUT)")
	fs.Func("signup-roles", "ROLE,… that a sign-up may choose as the user's one role (its body's role); END_USER when it chooses none; none by default (env USERD_SIGNUP_ROLES)",
		func(v string) error { c.auth.SignupRoles = roleList(v); return nil })
	fs.Var(&c.exclusiveRoles, "exclusive-roles", "ROLE,ROLE,… of which a user holds at most one: giving one takes the others; repeatable for separate sets (env USERD_EXCLUSIVE_ROLES, sets separated by ';')")
	return fs, c
}

// roleList splits ROLE,… into names, without blanks.
func roleList(v string) []string {
	var out []string
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// exclusive reads --exclusive-roles: sets of at least two roles each.
func (c *serveConfig) exclusive() (rbac.Exclusive, error) {
	var out rbac.Exclusive
	for _, v := range c.exclusiveRoles {
		set := roleList(v)
		slices.Sort(set)
		if set = slices.Compact(set); len(set) < 2 {
			return nil, fmt.Errorf("--exclusive-roles %q: name at least two roles, such as OWNER,AGENT,BROKER", v)
		}
		out = append(out, set)
	}
	return out, nil
}

// serveProfiles serves Go's runtime profiles (net/http/pprof) on a loopback
// address until stop. It leaves out /debug/pprof/cmdline: the command line
// may hold secrets.
func serveProfiles(addr string) (stop func() error, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !userd.Loopback(host) {
		return nil, fmt.Errorf("--debug-addr %q: want a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := web.HTTPServer(mux, web.Timeouts{})
	go srv.Serve(ln)
	return srv.Close, nil
}

// serveMetrics serves h at /metrics on addr until stop, which lets a
// scrape in progress finish (it reads the database, which closes after).
func serveMetrics(addr string, h http.Handler) (stop func() error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := web.HTTPServer(mux, web.Timeouts{})
	go srv.Serve(ln)
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}, nil
}

func uintFlag(dst *uint32, lo, hi uint64) func(string) error {
	return func(v string) error {
		var n uint64
		if _, err := fmt.Sscan(v, &n); err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		*dst = uint32(n)
		return nil
	}
}

func parseCIDRs(list string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			if strings.Contains(s, ":") {
				s += "/128"
			} else {
				s += "/32"
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}

// passkeys configures WebAuthn for the public URL: its host is the relying
// party unless --webauthn-rp-id says otherwise. An IP address cannot be a
// relying party id, so on one (the default 127.0.0.1) passkeys stay off
// until a domain is configured.
func (c *serveConfig) passkeys(db *sqldb.DB, log *slog.Logger, guard passkey.Guard, limiter *ratelimit.Limiter) (*passkey.Service, error) {
	u, _ := url.Parse(c.publicURL)
	rpID := c.rpID
	if rpID == "" {
		rpID = u.Hostname()
	}
	if net.ParseIP(rpID) != nil {
		log.Info("passkeys are off: a relying party id must be a domain; set --public-url or --webauthn-rp-id", "host", rpID)
		return passkey.New(db, "", nil, guard, limiter)
	}
	origins, err := parseOrigins(c.rpOrigins)
	if err != nil {
		return nil, fmt.Errorf("--webauthn-origins: %w", err)
	}
	if len(origins) == 0 {
		origins = []string{u.Scheme + "://" + u.Host}
	}
	return passkey.New(db, rpID, origins, guard, limiter)
}

// parseOrigins reads --allowed-redirects: ORIGIN,… as scheme://host[:port].
func parseOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("--allowed-redirects: %q is not an origin such as https://app.example.com", o)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out, nil
}

func serve(ctx context.Context, args []string, stdout io.Writer) error {
	fs, c := serveFlags()
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.logFormat)
	}
	log := newLogger(os.Stderr, c.logFormat)
	// Libraries that log through the default logger (the OpenID Provider's
	// protocol errors) log as userd does.
	slog.SetDefault(log)
	hasher := password.New(c.argon, 0)
	tuneMemory(ctx, c.memoryLimit, c.gcPercent, uint64(c.argon.Memory)<<10, hasher.Begun)
	proxies, err := parseCIDRs(c.trustedProxies)
	if err != nil {
		return err
	}
	if c.publicURL != "" {
		if u, err := url.Parse(c.publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--public-url must be an http or https URL")
		}
	}

	var providers []federation.Provider
	for _, v := range c.oidcProviders {
		p, err := federation.ParseProvider(v)
		if err != nil {
			return err
		}
		providers = append(providers, p)
	}
	origins, err := parseOrigins(c.allowRedirects)
	if err != nil {
		return err
	}
	exclusive, err := c.exclusive()
	if err != nil {
		return err
	}
	var external auth.ExternalVerifier
	if c.external.JWKSURL != "" {
		if external, err = federation.NewExternal(ctx, c.external); err != nil {
			return err
		}
	}
	if c.webhookWorkers < 1 || c.webhookDisableAfter < time.Hour {
		return fmt.Errorf("--webhook-workers is at least 1 and --webhook-disable-after at least 1h")
	}
	var hookKey []byte
	if c.webhookURL != "" {
		if err := webhook.CheckURL(c.webhookURL); err != nil {
			return fmt.Errorf("--webhook-url: %w", err)
		}
		if hookKey, err = webhook.ParseSecret(c.webhookSecret); err != nil {
			return fmt.Errorf("--webhook-secret: %w", err)
		}
	}
	var sender mail.Sender = mail.Log{Logger: log}
	if c.smtpURL != "" {
		if sender, err = mail.NewSMTP(c.smtpURL, c.mailFrom); err != nil {
			return err
		}
	}
	mailer := mail.Count(sender) // counted for /metrics

	db, err := c.db.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	// What runs beside the HTTP server (the job runner, the hubs, the
	// caches' invalidations) ends before the database closes: background
	// goes on until the requests in flight are done, and the job in hand
	// has the shutdown's time to finish.
	var behind sync.WaitGroup
	defer behind.Wait()
	ctx, stopJobs := context.WithCancel(ctx) // also on an early return
	defer stopJobs()
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	applied, err := db.MigrateUp(ctx)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "versions", applied)
	}
	keyring, master, err := c.keys.keyring(c.db.dataDir, log)
	if err != nil {
		return err
	}

	if c.debugAddr != "" {
		stop, err := serveProfiles(c.debugAddr)
		if err != nil {
			return err
		}
		defer stop()
		log.Info("profiles at http://" + c.debugAddr + "/debug/pprof/")
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if c.publicURL == "" {
		c.publicURL = "http://" + ln.Addr().String()
	}
	keyStore := keys.New(db, keyring, keys.Config{RotateEvery: c.keyRotation, TokenTTL: c.auth.AccessTTL})
	if _, _, err := keyStore.Signer(ctx); err != nil {
		ln.Close()
		return err
	}
	c.auth.PublicURL = c.publicURL
	c.auth.RefreshSecret = derive(master, "userd refresh successor")
	limiter := ratelimit.New(db, bool(c.rateLimits))
	// Mail leaves through a runner of its own, with a short lease (see
	// mailq.Lease), so that no other job delays it.
	mails := mailq.New(db, mailq.Deps{Keyring: keyring, Sender: mailer, Log: log})
	mailRunner := jobs.NewRunner(db, log)
	mailRunner.SetLease(mailq.Lease)
	mails.Register(mailRunner)
	authSvc := auth.New(auth.Deps{External: external, Keyring: keyring, DB: db, Hasher: hasher, Keys: keyStore,
		Limiter: limiter, Mail: mails, Log: log, Unlink: federation.UnlinkAll}, c.auth)
	if err := authSvc.CheckSignupRoles(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("--signup-roles: %w", err)
	}
	adm := admin.New(db, hasher, authSvc)
	if err := adm.SetExclusiveRoles(ctx, exclusive); err != nil {
		ln.Close()
		return fmt.Errorf("--exclusive-roles: %w", err)
	}
	passkeys, err := c.passkeys(db, log, authSvc, limiter)
	if err != nil {
		ln.Close()
		return err
	}
	hub, changeHub := notify.NewHub(), notify.NewHub()
	behind.Go(func() { hub.Run(background, db) })
	behind.Go(func() { changeHub.RunOn(background, db, collection.Channel) })
	runner := jobs.NewRunner(db, log)
	configured := webhook.New(db, c.webhookURL, hookKey)
	synchronization.Register(runner, db, keyring, configured)
	outbox.SetConfigured(c.webhookURL != "")
	hooks := webhook.NewService(db, webhook.Deps{Keyring: keyring, Configured: configured, DisableAfter: c.webhookDisableAfter})
	// Webhooks leave through runners of their own (--webhook-workers, one
	// delivery at a time each, with a short lease), woken as a transaction
	// that emitted events commits, so that a slow endpoint delays no other
	// job and, past its concurrency limit, no other endpoint.
	hookRunners := make([]*jobs.Runner, c.webhookWorkers)
	for i := range hookRunners {
		hookRunners[i] = jobs.NewRunner(db, log)
		hookRunners[i].SetLease(webhook.Lease)
		hooks.Register(hookRunners[i])
	}
	outbox.SetWake(func() {
		for _, r := range hookRunners {
			r.Wake()
		}
	})
	moderation.Register(runner, db)
	janitor.Register(runner, db, log)
	if err := errors.Join(janitor.Schedule(ctx, db), janitor.ScheduleRankings(ctx, db)); err != nil {
		ln.Close()
		return err
	}
	behind.Go(func() { runner.Run(ctx, c.shutdown) })
	for _, r := range hookRunners {
		behind.Go(func() { r.Run(ctx, c.shutdown) })
	}
	// Mail runs on until the requests in flight are done, so that their
	// mail leaves with them.
	behind.Go(func() { mailRunner.Run(background, c.shutdown) })
	orgs := organization.NewService(db, organization.Deps{MaxPerUser: c.maxOrgs, PublicURL: c.publicURL, Mail: mails.Queuer(mailq.OrgInvitation), Limiter: limiter,
		Invitations: c.invitationLimit})
	collections := collection.NewService(db, collection.Deps{MaxRecordBytes: c.maxRecordBytes})
	letters := newsletter.NewService(db, newsletter.Deps{Keyring: keyring, PublicURL: c.publicURL, Mail: mails.Queuer(mailq.NewsletterConfirm), Limiter: limiter,
		Limits: c.newsletter, ConfirmTTL: c.newsletterTTL})
	f := lifecycle.Features{Accounts: account.NewService(db), Layouts: layout.NewService(db), Referrals: referral.NewService(db), Social: social.NewService(db),
		Notifications: notify.NewService(db), Synchronizations: synchronization.NewService(db, keyring), Vault: vault.NewService(db, keyring, authSvc.RequireRecent),
		Engagement:    engagement.NewService(db, engagement.Deps{Keyring: keyring, Limiter: limiter, Limits: c.engagement, CachedItems: c.cachedItems}),
		Organizations: orgs,
		Collections:   collections,
		Newsletter:    letters,
		Surveys: survey.NewService(db, survey.Deps{Key: derive(master, "userd survey respondent"), Limiter: limiter,
			ResponseLimit: c.surveyLimit}),
		Billing: billing.NewService(db, billing.Deps{Keyring: keyring, Grace: c.pastDueGrace, StripeSecret: c.stripeSecret, OrgAccess: orgs.BillingAccess,
			Limiter: limiter, Deliveries: c.webhookLimit, Exclusive: exclusive}),
		Moderation: moderation.NewService(db, moderation.Deps{Limiter: limiter, ReportLimit: c.reportLimit, HoldThreshold: c.holdThreshold})}
	var provider *openid.Service
	if c.openidProvider {
		var key [32]byte
		copy(key[:], derive(master, "userd openid codes"))
		provider, err = openid.NewService(db, openid.Config{Issuer: c.publicURL, AccessTTL: c.auth.AccessTTL, RefreshTTL: c.auth.SessionLifetime,
			RefreshGrace: c.auth.RefreshGrace, RefreshSecret: derive(master, "userd oauth refresh successor"), CryptoKey: key},
			openid.Deps{Keys: keyStore, Limiter: limiter, Orgs: orgs.OpenIDClaims})
		if err != nil {
			ln.Close()
			return fmt.Errorf("--public-url: %w", err)
		}
	}
	f.OpenID = provider
	var api *web.Server
	meter := metrics.New(metrics.Sources{DB: db, Hasher: hasher, Auth: authSvc, Mail: mailer, Webhooks: configured,
		Streams: map[string]*notify.Hub{"notifications": hub, "changes": changeHub}, Caches: func() map[string]memo.Stats { return api.CacheStats() }, Log: log})
	var onAPI http.Handler // /metrics on the API's address, unless --metrics-addr moves it
	if c.metricsAddr == "" {
		onAPI = meter.Handler()
	}
	api = web.New(web.Config{Version: version, PublicURL: c.publicURL, TrustedProxies: proxies, CachedPages: c.cachedPages,
		HideAuthUserID: !c.publicAuthID, Flags: shownFlags(fs), MasterKey: c.keys.describe(c.db.dataDir, keyring), Logger: log,
		Requests: meter, Metrics: onAPI},
		web.Services{DB: db, Auth: authSvc, Accounts: f.Accounts, Admin: adm, Keys: keyStore, Hub: hub,
			Federation: federation.New(db, keyring, c.publicURL, origins, providers), Passkeys: passkeys, Layouts: f.Layouts, Referrals: f.Referrals,
			Vault: f.Vault, Synchronizations: f.Synchronizations, Notifications: f.Notifications, Social: f.Social, Engagement: f.Engagement, Sponsors: sponsor.NewService(db),
			Moderation: f.Moderation, Organizations: f.Organizations,
			Billing:     f.Billing,
			Collections: f.Collections,
			CRM:         crm.NewService(db, crm.Deps{Keyring: keyring}),
			Newsletter:  f.Newsletter,
			Surveys:     f.Surveys,
			Webhooks:    hooks,
			Mail:        mails,
			OpenID:      provider,
			ChangeHub:   changeHub,
			Lifecycle:   lifecycle.NewService(db, lifecycle.Deps{Recent: authSvc.RequireRecent, Auth: authSvc, Features: f})})
	behind.Go(func() { memo.Run(background, db, api.Caches()...) })
	if c.metricsAddr != "" {
		stop, err := serveMetrics(c.metricsAddr, meter.Handler())
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
		log.Info("metrics at http://" + c.metricsAddr + "/metrics")
	}

	srv := web.HTTPServer(api, web.Timeouts{})
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	srv.RegisterOnShutdown(api.Shutdown)
	if before, after, err := shedStartup(); err != nil {
		log.Warn("start-up memory kept", "err", err)
	} else if before > 0 {
		log.Info("start-up memory handed back", "resident_mb_before", before>>20, "resident_mb_after", after>>20)
	}
	log.Info("userd listening", "url", "http://"+ln.Addr().String(), "engine", db.Engine(), "version", version)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests and the job in hand", "timeout", c.shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	stopBackground()
	behind.Wait()
	log.Info("stopped")
	return nil
}
