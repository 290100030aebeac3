// Package federation signs users in through OAuth 2.0 and OpenID Connect
// providers. It owns accounts (a user's identities at providers, seed 001)
// and oauth_states (log-ins in flight): authorization code with PKCE, state
// and nonce; the ID token verified against the provider's keys, issuer,
// audience and nonce.
package federation

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/feature/referral"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// Provider configures one provider: --oidc-provider NAME,ISSUER_URL,CLIENT_ID,CLIENT_SECRET.
type Provider struct {
	Name, Issuer, ClientID, ClientSecret string
}

// presets are the issuers of the providers that need only a name.
var presets = map[string]string{"google": "https://accounts.google.com"}

// ParseProvider reads an --oidc-provider value. google and github need no
// issuer; for github an issuer URL names a GitHub Enterprise Server. Other
// names need an OpenID Connect issuer.
func ParseProvider(v string) (Provider, error) {
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return Provider{}, fmt.Errorf("--oidc-provider wants NAME,ISSUER_URL,CLIENT_ID,CLIENT_SECRET, got %d fields", len(parts))
	}
	p := Provider{Name: strings.ToLower(strings.TrimSpace(parts[0])), Issuer: strings.TrimSpace(parts[1]),
		ClientID: strings.TrimSpace(parts[2]), ClientSecret: strings.TrimSpace(parts[3])}
	if p.Issuer == "" {
		p.Issuer = presets[p.Name]
	}
	if p.Name == "github" && p.Issuer == "" {
		p.Issuer = "https://github.com"
	}
	if p.Name == "" || p.ClientID == "" || p.Issuer == "" {
		return Provider{}, fmt.Errorf("--oidc-provider %q: a name, an issuer (google needs none) and a client id are needed", p.Name)
	}
	if u, err := url.Parse(p.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return Provider{}, fmt.Errorf("--oidc-provider %s: the issuer must be an http(s) URL", p.Name)
	}
	return p, nil
}

// Errors that Service's methods return.
var (
	ErrUnknownProvider = userd.Errorf(userd.KindNotFound, "unknown_provider", "No such log-in provider is configured.")
	ErrInvalidState    = userd.Errorf(userd.KindMalformed, "invalid_state", "This log-in link is not valid, was used already or has expired. Start again.")
	ErrProviderRefused = userd.Errorf(userd.KindUnauthenticated, "provider_refused", "The provider did not sign you in.")
	ErrBadIDToken      = userd.Errorf(userd.KindUnauthenticated, "invalid_id_token", "The provider's identity token is not valid.")
	ErrRedirect        = userd.Invalid([]userd.FieldError{{Field: "redirect_to", Code: "redirect_not_allowed", Message: "This address is not among the allowed redirects."}})
	ErrEmailUnverified = userd.Errorf(userd.KindConflict, "email_taken", "An account has this email; the provider does not say it is verified, so it cannot be linked. Sign in with your password instead.")
)

// stateTTL is how long a log-in may take at the provider.
const stateTTL = 10 * time.Minute

// Service runs the flows.
type Service struct {
	db        *sqldb.DB
	ring      *seal.Keyring
	publicURL string
	allowed   []string // origins that redirect_to may name
	providers map[string]Provider

	mu    sync.Mutex
	ready map[string]*live
}

type live struct {
	oidc   *oidc.Provider // nil for GitHub, which is OAuth 2.0 without OpenID Connect
	api    string         // GitHub's REST API
	conf   oauth2.Config
	client *http.Client
}

// New returns a Service for the configured providers.
func New(db *sqldb.DB, ring *seal.Keyring, publicURL string, allowedOrigins []string, providers []Provider) *Service {
	s := &Service{db: db, ring: ring, publicURL: strings.TrimSuffix(publicURL, "/"), allowed: allowedOrigins,
		providers: map[string]Provider{}, ready: map[string]*live{}}
	for _, p := range providers {
		s.providers[p.Name] = p
	}
	return s
}

// provider discovers a provider on first use (and again after a failure).
func (s *Service) provider(ctx context.Context, name string) (*live, error) {
	p, ok := s.providers[name]
	if !ok {
		return nil, ErrUnknownProvider
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.ready[name]; ok {
		return l, nil
	}
	redirect := s.publicURL + "/v1/auth/oauth/" + name + "/callback"
	if name == "github" {
		base, api := strings.TrimSuffix(p.Issuer, "/"), "https://api.github.com"
		if base != "https://github.com" {
			api = base + "/api/v3" // GitHub Enterprise Server
		}
		l := &live{api: api, client: &http.Client{Timeout: 15 * time.Second}, conf: oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			Endpoint:    oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token"},
			RedirectURL: redirect, Scopes: []string{"read:user", "user:email"}}}
		s.ready[name] = l
		return l, nil
	}
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", name, err)
	}
	l := &live{oidc: op, conf: oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}
	s.ready[name] = l
	return l, nil
}

// Names returns the configured providers' names, sorted.
func (s *Service) Names() []string {
	out := make([]string, 0, len(s.providers))
	for n := range s.providers {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// checkRedirect accepts an absolute http(s) URL on an allowed origin, or
// on userd's own (its OpenID Provider's log-in page).
func (s *Service) checkRedirect(to string) error {
	if to == "" {
		return nil
	}
	u, err := url.Parse(to)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ErrRedirect
	}
	if origin := u.Scheme + "://" + u.Host; !slices.Contains(s.allowed, origin) && origin != s.publicURL {
		return ErrRedirect
	}
	return nil
}

func stateAD(hash []byte) []byte { return seal.AD("oauth_states", "verifier", string(hash)) }

// BindingPrefix starts the value that ties a log-in in flight to the
// browser that started it (a cookie's value).
const BindingPrefix = "udb_"

// Start begins a log-in: it stores a single-use state with a nonce and a PKCE
// verifier, bound to the browser by binding (the value of its binding
// cookie; a new one is made when it has none), and returns the provider's
// URL to send the browser to and the binding to set as the cookie. It
// returns ErrUnknownProvider, a KindInvalid error for redirectTo, and
// referral.ErrUnknownSlug for a referral (the slug of the referral the user
// came through; "" for none) that names none: the callback records it if
// the log-in makes a new user.
func (s *Service) Start(ctx context.Context, name, redirectTo, ref, binding string) (string, string, error) {
	if err := s.checkRedirect(redirectTo); err != nil {
		return "", "", err
	}
	l, err := s.provider(ctx, name)
	if err != nil {
		return "", "", err
	}
	if ref != "" {
		// System: a referral's slug is public; its row is its owner's.
		err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error { return referral.Check(ctx, tx, ref) })
		if err != nil {
			return "", "", err
		}
	}
	browser, ok := token.Parse(BindingPrefix, binding)
	if !ok {
		binding, browser = token.New(BindingPrefix)
	}
	state, hash := token.New("st_")
	nonce, verifier := rand.Text(), oauth2.GenerateVerifier()
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO oauth_states (state_hash, provider, nonce, verifier, redirect_to, browser_hash, expires_at, created_at, referral_slug)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, hash, name, nonce, s.ring.Seal([]byte(verifier), stateAD(hash)),
			sqldb.Nullable(redirectTo), browser, tx.Now.Add(stateTTL), tx.Now, sqldb.Nullable(ref))
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("start log-in: %w", err)
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if l.oidc != nil {
		opts = append(opts, oidc.Nonce(nonce))
	}
	return l.conf.AuthCodeURL(state, opts...), binding, nil
}

// BindingTTL is how long a binding cookie needs to live: a log-in's life.
const BindingTTL = stateTTL

// github reads the user behind a GitHub token: /user, and the primary
// verified address of /user/emails.
func (l *live) github(ctx context.Context, tok *oauth2.Token) (Identity, error) {
	get := func(path string, v any) error {
		req, err := http.NewRequestWithContext(ctx, "GET", l.api+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Accept", "application/vnd.github+json")
		res, err := l.client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("github %s: %s", path, res.Status)
		}
		return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
	}
	var u struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := get("/user", &u); err != nil || u.ID == 0 {
		return Identity{}, fmt.Errorf("%w: %v", ErrProviderRefused, err)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := get("/user/emails", &emails); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrProviderRefused, err)
	}
	id := Identity{Subject: strconv.FormatInt(u.ID, 10), AvatarURL: u.AvatarURL}
	id.FirstName, id.LastName, _ = strings.Cut(u.Name, " ")
	for _, e := range emails {
		if e.Primary && e.Verified {
			id.Email, id.EmailVerified = account.NormalizeEmail(e.Email), true
		}
	}
	return id, nil
}

// Identity is who a provider says the user is.
type Identity struct {
	Provider, Subject, Email string
	EmailVerified            bool
	FirstName, LastName      string
	AvatarURL                string
	// Referral is the slug of the referral the log-in started with ("" for
	// none), recorded when it makes a new user.
	Referral string
}

// Callback finishes a log-in: it uses the state once, only in the browser
// that started it (binding is its cookie's value), trades the code (with
// the PKCE verifier) for tokens, verifies the ID token and its nonce, and
// finds or makes the user. It returns the user's id and where to send the
// browser; ErrInvalidState for a bad, replayed or expired state or one
// presented without its browser's binding, ErrProviderRefused when the
// provider answered with an error, ErrBadIDToken for a token that fails
// verification, and ErrEmailUnverified.
func (s *Service) Callback(ctx context.Context, name, state, binding, code, providerError string, ip, userAgent string) (string, string, error) {
	l, err := s.provider(ctx, name)
	if err != nil {
		return "", "", err
	}
	hash, ok := token.Parse("st_", state)
	browser, bound := token.Parse(BindingPrefix, binding)
	if !ok || !bound {
		return "", "", ErrInvalidState
	}
	var nonce, redirectTo string
	var sealed []byte
	var redirect, ref sql.NullString
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM oauth_states WHERE state_hash = $1 AND provider = $2 AND expires_at > $3 AND browser_hash = $4
			RETURNING nonce, verifier, redirect_to, referral_slug`, hash, name, tx.Now, browser).Scan(&nonce, &sealed, &redirect, &ref)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvalidState
		}
		return err
	})
	if err != nil {
		return "", "", err
	}
	redirectTo = redirect.String
	if providerError != "" || code == "" {
		return "", redirectTo, ErrProviderRefused
	}
	verifier, err := s.ring.Open(sealed, stateAD(hash))
	if err != nil {
		return "", "", fmt.Errorf("open verifier: %w", err)
	}
	tok, err := l.conf.Exchange(ctx, code, oauth2.VerifierOption(string(verifier)))
	if err != nil {
		return "", redirectTo, fmt.Errorf("%w: %v", ErrProviderRefused, err)
	}
	if l.oidc == nil {
		id, err := l.github(ctx, tok)
		if err != nil {
			return "", redirectTo, err
		}
		id.Provider, id.Referral = name, ref.String
		userID, err := s.link(ctx, id, tok, ip, userAgent)
		return userID, redirectTo, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := l.oidc.Verifier(&oidc.Config{ClientID: l.conf.ClientID}).Verify(ctx, raw)
	if err != nil || idt.Nonce != nonce {
		return "", redirectTo, ErrBadIDToken
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		GivenName     string `json:"given_name"`
		FamilyName    string `json:"family_name"`
		Picture       string `json:"picture"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", redirectTo, ErrBadIDToken
	}
	id := Identity{Provider: name, Subject: idt.Subject, Email: account.NormalizeEmail(claims.Email),
		EmailVerified: claims.EmailVerified == true || claims.EmailVerified == "true",
		FirstName:     claims.GivenName, LastName: claims.FamilyName, AvatarURL: claims.Picture, Referral: ref.String}
	userID, err := s.link(ctx, id, tok, ip, userAgent)
	return userID, redirectTo, err
}

func accountAD(provider, subject, userID, column string) []byte {
	return seal.AD("accounts", column, provider+":"+subject, userID)
}

// link finds the user of an identity, links it to the user with the same
// email (see userFor) or makes a new user, and stores the provider's
// tokens.
func (s *Service) link(ctx context.Context, id Identity, tok *oauth2.Token, ip, userAgent string) (string, error) {
	var userID string
	err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		err := tx.QueryRow(ctx, `SELECT user_id FROM accounts WHERE provider = $1 AND provider_account_id = $2`, id.Provider, id.Subject).Scan(&userID)
		action, meta := "", map[string]any{"provider": id.Provider}
		switch {
		case err == nil:
		case !errors.Is(err, sql.ErrNoRows):
			return err
		default:
			if userID, action, err = s.userFor(ctx, tx, id, meta, ip, userAgent); err != nil {
				return err
			}
		}
		if err := s.storeAccount(ctx, tx, id, tok, userID); err != nil {
			return err
		}
		if action == "" {
			return nil
		}
		return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: action, TargetType: "account",
			TargetID: id.Provider + ":" + id.Subject, IP: ip, UserAgent: userAgent, Metadata: meta})
	})
	return userID, err
}

// storeAccount records the identity's link to the user with the provider's
// tokens, sealed.
func (s *Service) storeAccount(ctx context.Context, tx *sqldb.Tx, id Identity, tok *oauth2.Token, userID string) error {
	var refresh any
	if tok.RefreshToken != "" {
		refresh = s.ring.Seal([]byte(tok.RefreshToken), accountAD(id.Provider, id.Subject, userID, "refresh_token"))
	}
	var expires any
	if !tok.Expiry.IsZero() {
		expires = tok.Expiry.UTC()
	}
	_, err := tx.Exec(ctx, `INSERT INTO accounts (provider, provider_account_id, user_id, type, email, access_token, refresh_token, expires_at, created_at, updated_at)
		VALUES ($1, $2, $3, 'oidc', $4, $5, $6, $7, $8, $8)
		ON CONFLICT (provider, provider_account_id) DO UPDATE SET email = excluded.email, access_token = excluded.access_token,
			refresh_token = COALESCE(excluded.refresh_token, accounts.refresh_token), expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		id.Provider, id.Subject, userID, sqldb.Nullable(id.Email),
		s.ring.Seal([]byte(tok.AccessToken), accountAD(id.Provider, id.Subject, userID, "access_token")), refresh, expires, tx.Now)
	if err != nil {
		return fmt.Errorf("store account: %w", err)
	}
	return nil
}

// userFor returns the user a new identity belongs to, and the audit action
// that says how:
//   - no user has its email: a new user (AccountCreated);
//   - a user whose email is verified has it, and the provider asserts it
//     verified: that user (AccountLinked);
//   - a user whose email is not verified has it, and the provider asserts it
//     verified: whoever made that account never proved the address, so it
//     passes to the provider's user, who does (AccountReclaimed; see
//     auth.Reclaim): nothing of the first person's still opens it;
//   - otherwise ErrEmailUnverified.
func (s *Service) userFor(ctx context.Context, tx *sqldb.Tx, id Identity, meta map[string]any, ip, userAgent string) (string, string, error) {
	if e := (account.Identity{Email: id.Email}); id.Email != "" && len(e.Check()) > 0 {
		id.Email = "" // a look-alike or malformed address is not kept, whoever vouches for it
	}
	if id.Email != "" {
		u, _, err := account.FindForLogin(ctx, tx, id.Email)
		switch {
		case err == nil && id.EmailVerified && u.EmailVerifiedAt != nil:
			return u.ID, audit.AccountLinked, nil
		case err == nil && id.EmailVerified:
			removed, err := auth.Reclaim(ctx, tx, u.ID, UnlinkAll)
			maps.Copy(meta, removed)
			return u.ID, audit.AccountReclaimed, err
		case err == nil:
			return "", "", ErrEmailUnverified
		case !errors.Is(err, account.ErrNotFound):
			return "", "", err
		}
	}
	n := account.New{Identity: account.Identity{Email: id.Email}, Profile: account.Profile{FirstName: id.FirstName, LastName: id.LastName, AvatarURL: id.AvatarURL}}
	if fe := n.Profile.Check(); len(fe) > 0 {
		n.Profile = account.Profile{} // keep the log-in; drop what does not fit
	}
	if n.Email == "" {
		n.AuthUserID = id.Provider + ":" + id.Subject // a user needs one identifier
	}
	u, err := account.Insert(ctx, tx, n)
	if err != nil {
		return "", "", err
	}
	if id.EmailVerified && u.Email != nil {
		if err := account.MarkEmailVerified(ctx, tx, u.ID); err != nil {
			return "", "", err
		}
	}
	if err := rbac.AssignDefault(ctx, tx, u.ID); err != nil {
		return "", "", err
	}
	// A referral whose slug changed since the log-in started is lost, not
	// the log-in.
	if err := referral.Record(ctx, tx, id.Referral, u.ID); err != nil && !errors.Is(err, referral.ErrUnknownSlug) {
		return "", "", err
	}
	if err := audit.Record(ctx, tx, audit.Event{UserID: u.ID, Action: audit.Signup, TargetType: "user", TargetID: u.ID,
		IP: ip, UserAgent: userAgent, Metadata: map[string]any{"provider": id.Provider}}); err != nil {
		return "", "", err
	}
	return u.ID, audit.AccountCreated, nil
}

// UnlinkAll removes every link of a user to an identity at a provider and
// returns how many there were: an auth.Unlinker, for an account that
// passes to whoever proved its email (see auth.Reclaim).
func UnlinkAll(ctx context.Context, tx *sqldb.Tx, userID string) (int64, error) {
	res, err := tx.Exec(ctx, `DELETE FROM accounts WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("unlink provider accounts: %w", err)
	}
	return res.RowsAffected()
}

// Expire deletes log-in states past their expiry.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM oauth_states WHERE expires_at < $1`, now)
}
