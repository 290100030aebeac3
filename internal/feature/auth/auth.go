// Package auth signs users up and in. It owns sessions, refresh tokens and
// the mail tokens (verification_tokens, password_reset_tokens); it composes
// account's and audit's functions in one transaction per event, and turns a
// presented session token or access JWT into the Actor a request acts as.
package auth

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/keys"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/batch"
	"github.com/userd/userd/internal/platform/memo"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// Errors that Service's methods return.
var (
	ErrInvalidCredentials = userd.Errorf(userd.KindUnauthenticated, "invalid_credentials", "The identifier or the password is wrong.")
	ErrUnauthenticated    = userd.Errorf(userd.KindUnauthenticated, "unauthenticated", "Sign in to do this.")
	ErrInvalidRefresh     = userd.Errorf(userd.KindUnauthenticated, "invalid_refresh_token", "The refresh token is not valid. Sign in again.")
	ErrInvalidToken       = userd.Errorf(userd.KindUnauthenticated, "invalid_token", "The link is not valid or has expired.")
	ErrSuspended          = userd.Errorf(userd.KindForbidden, "account_suspended", "This account is suspended.")
	ErrBanned             = userd.Errorf(userd.KindForbidden, "account_banned", "This account is banned.")
	ErrSessionNotFound    = userd.Errorf(userd.KindNotFound, "session_not_found", "No such session.")
	ErrNoEmail            = userd.Errorf(userd.KindConflict, "no_email", "This account has no email address.")
	ErrAlreadyVerified    = userd.Errorf(userd.KindConflict, "email_already_verified", "This email address is already verified.")
	ErrReauthenticate     = userd.Errorf(userd.KindForbidden, "reauthentication_required", "Sign in again to do this: it needs a recent log-in.")
)

// Limits are the brute-force rules.
type Limits struct {
	LoginPerIP      ratelimit.Rule // log-in attempts from one address
	LoginFailures   ratelimit.Rule // failed log-ins for one identifier
	SignupPerIP     ratelimit.Rule
	ForgotPerIP     ratelimit.Rule
	ForgotPerEmail  ratelimit.Rule
	RefreshPerIP    ratelimit.Rule
	VerifySendsUser ratelimit.Rule // verification mails one user may ask for
	MFAFailures     ratelimit.Rule // second-factor attempts on one account, across challenges
	MFAPerIP        ratelimit.Rule // second-factor attempts from one address
}

// DefaultLimits are the rules in force unless configured otherwise.
var DefaultLimits = Limits{
	LoginPerIP:      ratelimit.Rule{Max: 100, Window: 15 * time.Minute},
	LoginFailures:   ratelimit.Rule{Max: 10, Window: 15 * time.Minute},
	SignupPerIP:     ratelimit.Rule{Max: 30, Window: time.Hour},
	ForgotPerIP:     ratelimit.Rule{Max: 20, Window: time.Hour},
	ForgotPerEmail:  ratelimit.Rule{Max: 5, Window: time.Hour},
	RefreshPerIP:    ratelimit.Rule{Max: 600, Window: time.Minute},
	VerifySendsUser: ratelimit.Rule{Max: 5, Window: time.Hour},
	MFAFailures:     ratelimit.Rule{Max: 10, Window: 15 * time.Minute},
	MFAPerIP:        ratelimit.Rule{Max: 50, Window: 15 * time.Minute},
}

// Config holds the settings of a Service.
type Config struct {
	SessionLifetime time.Duration // absolute life of a session
	SessionIdle     time.Duration // a session unused this long ends
	AccessTTL       time.Duration // life of an access JWT
	RefreshGrace    time.Duration // a retried refresh token gets the same successor within it
	VerifyTTL       time.Duration // life of an email verification link
	ResetTTL        time.Duration // life of a password reset link
	// ReauthMaxAge is how recent a log-in must be for a change that could
	// lock the owner out or reveal a secret (see RequireRecent).
	ReauthMaxAge time.Duration
	// PublicURL is where clients reach userd: the access tokens' issuer and
	// audience, and the base of links in mail.
	PublicURL string
	// RefreshSecret keys the derivation of a refresh token's successor.
	RefreshSecret []byte
	Limits        Limits
	// CachedCallers is how many signed-in callers Authenticate keeps in
	// memory: DefaultCachedCallers when 0, none when negative.
	CachedCallers int
	// SignupRoles are the roles that a sign-up may choose (Signup.Role),
	// by their names; none when empty (see CheckSignupRoles).
	SignupRoles []string
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.SessionLifetime, 30*24*time.Hour)
	def(&c.SessionIdle, 7*24*time.Hour)
	def(&c.AccessTTL, 15*time.Minute)
	def(&c.RefreshGrace, 10*time.Second)
	def(&c.VerifyTTL, 24*time.Hour)
	def(&c.ResetTTL, time.Hour)
	def(&c.ReauthMaxAge, 5*time.Minute)
	if c.PublicURL == "" {
		c.PublicURL = "http://127.0.0.1:8080"
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits
	}
	if c.CachedCallers == 0 {
		c.CachedCallers = DefaultCachedCallers
	}
}

// ExternalClaims are what an outside identity provider's token says.
// AuthTime is when the user last signed in at the provider (OpenID
// Connect's auth_time), zero when the token does not say.
type ExternalClaims struct {
	Subject  string
	Email    string
	IssuedAt time.Time
	AuthTime time.Time
	// Referral is the slug of the referral the user came through, from the
	// claim --external-referral-claim names; the first request records it.
	Referral string
}

// ExternalVerifier checks bearer JWTs of an outside identity provider.
type ExternalVerifier interface {
	Verify(ctx context.Context, raw string) (ExternalClaims, error)
}

// Deps are the parts a Service works with. External is nil unless userd
// accepts an outside provider's tokens.
type Deps struct {
	External ExternalVerifier
	Keyring  *seal.Keyring // opens second-factor secrets
	DB       *sqldb.DB
	Hasher   *password.Hasher
	Keys     *keys.Store
	Limiter  *ratelimit.Limiter
	// Mail queues the mail (verification, password reset, security
	// notices) in the transaction that decides to send it.
	Mail *mailq.Service
	Log  *slog.Logger
	// Unlink removes a user's provider links when a password reset
	// reclaims their account (see Reclaim); nil where none can exist.
	Unlink Unlinker
}

// Service signs users up, in and out.
type Service struct {
	Deps
	cfg      Config
	verified *lru.Cache[[sha256.Size]byte, token.Access] // see verifyAccess
	callers  *memo.Cache[cached]                         // see Authenticate
	catalog  *memo.Cache[*rbac.Catalog]                  // what the roles grant (see roles)
	lookups  *batch.Batcher[*lookup]                     // Authenticate's reads, shared (see readSessions)
	tally    tally                                       // see Counts
}

// New returns a Service.
func New(d Deps, cfg Config) *Service {
	cfg.defaults()
	if d.Log == nil {
		d.Log = slog.Default()
	}
	verified, err := lru.New[[sha256.Size]byte, token.Access](verifiedTokens)
	if err != nil {
		panic(err) // only for a size < 1
	}
	return &Service{Deps: d, cfg: cfg, verified: verified, callers: memo.New[cached](d.DB.Now, cfg.CachedCallers, recheckAfter),
		catalog: memo.New[*rbac.Catalog](d.DB.Now, min(cfg.CachedCallers, 1), recheckAfter),
		lookups: batch.New[*lookup](maxLookups, lookupsAtOnce)}
}

// Memos returns what Authenticate remembers, for memo.Run: without it,
// Authenticate remembers nothing.
func (s *Service) Memos() []memo.Fed { return []memo.Fed{s.callers, s.catalog} }

// Grants returns a user's roles and effective permissions, as rbac.Grants
// does, what the roles grant being in the process's memory (see roles).
// tx must not have changed the roles.
func (s *Service) Grants(ctx context.Context, tx *sqldb.Tx, userID string) (userd.Grants, error) {
	gs, err := rbac.Held(ctx, tx, userID)
	if err != nil {
		return userd.Grants{}, err
	}
	c, err := s.roles(ctx, tx, gs)
	if err != nil {
		return userd.Grants{}, err
	}
	return gs.Grants(c), nil
}

// roles returns a catalogue that names every role of scans, to say what
// they grant: the one that the process remembers, or one read in tx (see
// rbac.Catalog.Names). tx must not have changed the roles, as what it reads
// is remembered.
func (s *Service) roles(ctx context.Context, tx *sqldb.Tx, scans ...rbac.GrantScan) (*rbac.Catalog, error) {
	c, err := s.catalog.Load("roles", func() (*rbac.Catalog, []string, error) {
		c, err := rbac.ReadCatalog(ctx, tx)
		return c, nil, err
	})
	if err != nil || c.Names(scans...) {
		return c, err
	}
	return rbac.ReadCatalog(ctx, tx)
}

// MemoStats returns the counts of what Authenticate remembers (see
// memo.Stats).
func (s *Service) MemoStats() memo.Stats { return s.callers.Stats() }

// RequireRecent returns ErrReauthenticate unless the actor signed in to
// their session within the configured maximum age: the rule for changes that
// could lock the owner out (a second factor, a passkey, deleting the
// account) or reveal a secret.
func (s *Service) RequireRecent(a userd.Actor) error {
	if a.AuthTime.IsZero() || s.DB.Now().Sub(a.AuthTime) > s.cfg.ReauthMaxAge {
		return ErrReauthenticate
	}
	return nil
}

// AccessTTL returns the life of an access token.
func (s *Service) AccessTTL() time.Duration { return s.cfg.AccessTTL }

// Client describes where a request comes from (userd.Client, under the
// name auth's callers know).
type Client = userd.Client

// Session is a log-in session, without its token.
type Session struct {
	ID         string
	UserID     string
	UserAgent  string
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// Tokens are a session's credentials, in clear only here: the opaque
// session token (on sign-up and log-in), a short-lived access JWT and the
// refresh token that renews it.
type Tokens struct {
	SessionToken string
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
}

// Login is the result of a sign-up or a log-in.
type Login struct {
	User    account.User
	Session Session
	Tokens
}

// Signup is what a new user gives. ReferralSlug, when set, names the
// referral they came through.
type Signup struct {
	account.Identity
	account.Profile
	Password     string
	ReferralSlug string
	// Role is the one role the user chooses, one of Config.SignupRoles;
	// empty gives END_USER.
	Role string
}
