package web_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	"github.com/userd/userd/internal/feature/passkey"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/feature/referral"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/feature/sponsor"
	"github.com/userd/userd/internal/feature/survey"
	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/feature/vault"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/metrics"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/memo"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
	"github.com/userd/userd/internal/web"
)

// TestMain runs the tests over the throwaway PostgreSQL cluster; what
// libraries log through the default logger (the OpenID Provider's
// protocol errors, which tests provoke on purpose) is discarded, as each
// test server's own log is.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	dbtest.Main(m)
}

// cheap keeps password hashing fast in tests; the algorithm is the same.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

// testKeyring seals what test servers store, unless a test gives another.
var testKeyring, _ = seal.NewKeyring(bytes.Repeat([]byte{7}, seal.KeySize))

// client is a test's HTTP client for one userd server on loopback.
type client struct {
	t    testing.TB
	url  string
	db   *sqldb.DB
	auth *auth.Service
	jobs *jobs.Runner // run due jobs with c.jobs.RunDue
	// hooks sends the webhooks of c.jobs' handlers.
	hooks *webhook.Sender
}

// options change the services a test server runs with.
type options struct {
	ctx      context.Context // ends the notification listener; the test's when nil
	auth     auth.Config
	limits   bool        // rate limits on
	mailer   mail.Sender // the log when nil
	keyring  *seal.Keyring
	webhook  string // the URL that receives webhooks
	hookKey  []byte
	oidc     []federation.Provider
	external auth.ExternalVerifier
	rpOrigin string       // passkeys' origin; on localhost
	allowed  []string     // redirect origins
	maxOrgs  int          // memberships per user; organization.DefaultMaxPerUser when 0
	hideAuth bool         // --public-auth-user-id=false
	log      io.Writer    // receives the server's log as JSON lines; discarded when nil
	proxies  []*net.IPNet // --trusted-proxies
	metrics  bool         // serve /metrics, as serve does without --metrics-addr
	hooks    *webhook.Sender
}

// start serves the API over db on a loopback port for the test's duration,
// with rate limits off.
func start(t testing.TB, db *sqldb.DB) *client {
	return startWith(t, db, options{})
}

func startWith(t testing.TB, db *sqldb.DB, o options) *client {
	t.Helper()
	c := &client{t: t, db: db}
	srv := httptest.NewUnstartedServer(nil)
	c.url = "http://" + srv.Listener.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	o.ctx = ctx
	if o.keyring == nil {
		o.keyring = testKeyring
	}
	c.hooks = webhook.New(db, o.webhook, o.hookKey)
	o.hooks = c.hooks
	h, svc := newHandler(t, db, c.url, o)
	srv.Config.Handler = h
	srv.Config.RegisterOnShutdown(h.Shutdown)
	srv.Start()
	t.Cleanup(func() { h.Shutdown(); srv.Close(); cancel() })
	c.auth = svc
	c.jobs = jobs.NewRunner(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	synchronization.Register(c.jobs, db, o.keyring, c.hooks)
	webhook.NewService(db, webhook.Deps{Keyring: o.keyring, Configured: c.hooks}).Register(c.jobs)
	moderation.Register(c.jobs, db)
	return c
}

// newHandler builds the API as serve does, with test settings; its mail
// queue's runner runs until the test ends.
func newHandler(t testing.TB, db *sqldb.DB, publicURL string, o options) (*web.Server, *auth.Service) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.log != nil {
		log = slog.New(slog.NewJSONHandler(o.log, nil))
	}
	if o.keyring == nil {
		o.keyring = testKeyring
	}
	ks := keys.New(db, o.keyring, keys.Config{RotateEvery: 24 * time.Hour, TokenTTL: 15 * time.Minute})
	o.auth.PublicURL = publicURL
	o.auth.RefreshSecret = []byte("test refresh secret")
	var mailer mail.Sender = mail.Log{Logger: log}
	if o.mailer != nil {
		mailer = o.mailer
	}
	counted := mail.Count(mailer)
	mails := authtest.Mail(t, db, o.keyring, counted)
	hasher := password.New(cheap, 0)
	svc := auth.New(auth.Deps{External: o.external, Keyring: o.keyring, DB: db, Hasher: hasher, Keys: ks, Limiter: ratelimit.New(db, o.limits), Mail: mails, Log: log, Unlink: federation.UnlinkAll}, o.auth)
	adm := admin.New(db, password.New(cheap, 0), svc)
	if o.rpOrigin == "auto" { // the page's own origin, on localhost
		o.rpOrigin = strings.Replace(publicURL, "127.0.0.1", "localhost", 1)
	}
	rpID := "" // no relying party: passkeys off
	if o.rpOrigin != "" {
		rpID = "localhost"
	}
	pk, err := passkey.New(db, rpID, []string{o.rpOrigin}, svc, ratelimit.New(db, o.limits))
	if err != nil {
		panic(err) // only for a bad origin, which tests do not give
	}
	hub, changeHub := notify.NewHub(), notify.NewHub()
	go hub.Run(o.ctx, db)
	go changeHub.RunOn(o.ctx, db, collection.Channel)
	orgs := organization.NewService(db, organization.Deps{MaxPerUser: o.maxOrgs, PublicURL: publicURL, Mail: mails.Queuer(mailq.OrgInvitation), Limiter: ratelimit.New(db, o.limits)})
	collections := collection.NewService(db, collection.Deps{})
	f := lifecycle.Features{Accounts: account.NewService(db), Layouts: layout.NewService(db), Referrals: referral.NewService(db), Social: social.NewService(db),
		Notifications: notify.NewService(db), Synchronizations: synchronization.NewService(db, o.keyring), Vault: vault.NewService(db, o.keyring, svc.RequireRecent),
		Engagement:    engagement.NewService(db, engagement.Deps{Keyring: o.keyring, CachedItems: engagement.DefaultCachedItems}),
		Organizations: orgs,
		Collections:   collections,
		Newsletter: newsletter.NewService(db, newsletter.Deps{Keyring: o.keyring, PublicURL: publicURL, Mail: mails.Queuer(mailq.NewsletterConfirm),
			Limiter: ratelimit.New(db, o.limits)}),
		Surveys: survey.NewService(db, survey.Deps{Key: []byte("test survey key"), Limiter: ratelimit.New(db, o.limits),
			ResponseLimit: survey.DefaultResponseLimit}),
		Billing: billing.NewService(db, billing.Deps{Keyring: o.keyring, Grace: billing.DefaultGrace, OrgAccess: orgs.BillingAccess,
			Limiter: ratelimit.New(db, o.limits), Deliveries: billing.DefaultDeliveries}),
		Moderation: moderation.NewService(db, moderation.Deps{Limiter: ratelimit.New(db, o.limits), ReportLimit: moderation.DefaultReportLimit,
			HoldThreshold: moderation.DefaultHoldThreshold})}
	var codeKey [32]byte
	copy(codeKey[:], "test openid code key.............")
	provider, err := openid.NewService(db, openid.Config{Issuer: publicURL, AccessTTL: 15 * time.Minute, RefreshTTL: 24 * time.Hour, RefreshGrace: cmp.Or(o.auth.RefreshGrace, 10*time.Second),
		RefreshSecret: []byte("test oauth refresh secret"), CryptoKey: codeKey}, openid.Deps{Keys: ks, Limiter: ratelimit.New(db, o.limits), Orgs: orgs.OpenIDClaims})
	if err != nil {
		panic(err) // only for a bad public URL, which tests do not give
	}
	f.OpenID = provider
	cfg := web.Config{Version: "test", PublicURL: publicURL, HideAuthUserID: o.hideAuth, Logger: log, TrustedProxies: o.proxies}
	var api *web.Server
	if o.metrics {
		m := metrics.New(metrics.Sources{DB: db, Hasher: hasher, Auth: svc, Mail: counted, Webhooks: o.hooks,
			Streams: map[string]*notify.Hub{"notifications": hub, "changes": changeHub}, Caches: func() map[string]memo.Stats { return api.CacheStats() }, Log: log})
		cfg.Requests, cfg.Metrics = m, m.Handler()
	}
	api = web.New(cfg, web.Services{DB: db, Auth: svc, Accounts: f.Accounts, Admin: adm, Keys: ks, Hub: hub,
		Federation: federation.New(db, o.keyring, publicURL, o.allowed, o.oidc), Passkeys: pk, Layouts: f.Layouts, Referrals: f.Referrals,
		Vault: f.Vault, Synchronizations: f.Synchronizations, Notifications: f.Notifications, Social: f.Social, Engagement: f.Engagement, Sponsors: sponsor.NewService(db),
		Moderation: f.Moderation, Organizations: f.Organizations,
		Billing:     f.Billing,
		Collections: f.Collections,
		CRM:         crm.NewService(db, crm.Deps{Keyring: o.keyring}),
		Newsletter:  f.Newsletter,
		Surveys:     f.Surveys,
		Webhooks:    webhook.NewService(db, webhook.Deps{Keyring: o.keyring, Configured: o.hooks}),
		Mail:        mails,
		OpenID:      provider,
		ChangeHub:   changeHub,
		Lifecycle:   lifecycle.NewService(db, lifecycle.Deps{Recent: svc.RequireRecent, Auth: svc, Features: f})})
	go memo.Run(o.ctx, db, api.Caches()...)
	return api, svc
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// code returns the problem code of an error answer.
func (r response) code() string {
	c, _ := r.Body["code"].(string)
	return c
}

// do sends a request with an optional JSON body (a string is sent as is) and
// bearer token.
func (c *client) do(method, path string, body any, token string, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			c.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return out
}

// signup creates a user and returns their id and session token.
func (c *client) signup(body map[string]any) (id, token string) {
	c.t.Helper()
	if _, ok := body["password"]; !ok {
		body["password"] = "correct horse battery"
	}
	r := c.do("POST", "/v1/auth/signup", body, "")
	if r.Status != http.StatusCreated {
		c.t.Fatalf("signup %v: %d %s", body, r.Status, r.Raw)
	}
	return r.Body["user"].(map[string]any)["id"].(string), r.Body["session"].(map[string]any)["token"].(string)
}

// engines runs body on both engines, each with its own server.
func engines(t *testing.T, body func(t *testing.T, c *client)) {
	enginesWith(t, options{}, body)
}

// enginesWith runs body on both engines, each with its own server built
// with o.
func enginesWith(t *testing.T, o options, body func(t *testing.T, c *client)) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) { body(t, startWith(t, db, o)) })
}

// scenario is one line of an API table: a request and the answer it must get.
type scenario struct {
	name       string
	method     string
	path       string
	body       any
	token      string
	wantStatus int
	wantCode   string
}

// runScenarios sends each scenario as a subtest and checks status, code and,
// for errors, the shape of the problem document.
func runScenarios(t *testing.T, c *client, tests []scenario) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(tt.method, tt.path, tt.body, tt.token)
			if r.Status != tt.wantStatus || r.code() != tt.wantCode {
				t.Fatalf("%s %s = %d %q; want %d %q\n%.300s", tt.method, tt.path, r.Status, r.code(), tt.wantStatus, tt.wantCode, r.Raw)
			}
			if r.Status >= 400 {
				if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("error Content-Type = %q", ct)
				}
				if r.Body["status"] != float64(r.Status) || r.Body["title"] == "" || r.Body["type"] == nil {
					t.Errorf("not a problem document: %s", r.Raw)
				}
			}
		})
	}
}
