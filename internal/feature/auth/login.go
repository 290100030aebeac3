package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Login checks an identifier (email, username or phone number) and password
// and opens a session. An unknown identifier costs the same hash work and
// the same writes as a wrong password, and both return
// ErrInvalidCredentials. Each attempt is counted before its password is
// checked (see ratelimit.Limiter.Hit), so concurrent guesses cannot outrun
// the limits: past them (attempts from one address, attempts on one
// account) it returns a rate-limit error, even for the right password. A
// user whose hash is not argon2id at the configured parameters is
// re-hashed.
func (s *Service) Login(ctx context.Context, identifier, pw string, c Client) (Login, error) {
	l, err := s.login(ctx, identifier, pw, c)
	s.countLogin(err)
	return l, err
}

func (s *Service) login(ctx context.Context, identifier, pw string, c Client) (Login, error) {
	ident := strings.ToLower(strings.TrimSpace(identifier))
	tooLong := len(ident) > maxIdentifierBytes || len(pw) > maxPasswordBytes
	a, err := s.admit(ctx, ident, tooLong, c)
	if err != nil {
		return Login{}, err
	}
	if tooLong {
		// No account has such an identifier or password: the same answer
		// and hash work, and nothing written of what the client sent.
		s.Hasher.VerifyDummy(ctx, pw)
		return Login{}, ErrInvalidCredentials
	}
	u := a.user
	match, rehash, err := s.verify(ctx, u, a.hash, pw)
	if err != nil {
		return Login{}, err
	}
	if !match {
		return Login{}, s.loginFailed(ctx, u.ID, ident, c)
	}
	if err := statusErr(u.Status); err != nil {
		return Login{}, err
	}
	if a.second {
		s.resetLimit(ctx, a.failKey)
		return Login{}, s.challenge(ctx, u, c)
	}
	newHash := ""
	if rehash {
		if newHash, err = s.Hasher.Hash(ctx, pw); err != nil {
			return Login{}, fmt.Errorf("login: %w", err)
		}
	}
	sg, err := s.signer(ctx)
	if err != nil {
		return Login{}, err
	}
	var out Login
	err = s.DB.Tx(sqldb.AsUser(ctx, u.ID), func(tx *sqldb.Tx) error {
		if newHash != "" {
			if err := account.SetPasswordHash(ctx, tx, u.ID, newHash); err != nil {
				return err
			}
		}
		if out, err = s.open(ctx, tx, sg, u, c); err != nil {
			return err
		}
		// The success ends a run of failures, in the same commit.
		if err := s.Limiter.ResetIn(ctx, tx, a.failKey); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: u.ID, Action: audit.Login, TargetType: "session", TargetID: out.Session.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"rehashed": newHash != ""}})
	})
	if err != nil {
		return Login{}, fmt.Errorf("login: %w", err)
	}
	return out, nil
}

// admission is what a log-in learns before its password is checked: the
// user the identifier names (the zero user when none, or when the attempt
// is refused unread), their hash, whether they have a second factor, and
// the key their failures count under.
type admission struct {
	user    account.User
	hash    string
	second  bool
	failKey string
}

// admit counts the attempt against the client's address and, unless that
// refuses it, reads the user the identifier names and counts the attempt
// against their account, in one transaction that commits the counts,
// refused or not, before any password is hashed: of N concurrent attempts
// exactly the limits' first pass. With tooLong (an identifier or password
// too long to belong to anyone) it reads nothing.
func (s *Service) admit(ctx context.Context, ident string, tooLong bool, c Client) (admission, error) {
	var a admission
	var refusal error
	read := func(tx *sqldb.Tx) error {
		var err error
		refusal, err = s.Limiter.CountIn(ctx, tx, "login:ip:"+c.IP, s.cfg.Limits.LoginPerIP)
		if err != nil || refusal != nil || tooLong {
			return err
		}
		u, hash, err := account.FindForLogin(ctx, tx, ident)
		if errors.Is(err, account.ErrNotFound) {
			u, hash, err = account.User{}, "", nil
		}
		if err != nil {
			return err
		}
		a.user, a.hash, a.failKey = u, hash, accountKey("login", u.ID, ident)
		if refusal, err = s.Limiter.CountIn(ctx, tx, a.failKey, s.cfg.Limits.LoginFailures); err != nil || refusal != nil {
			return err
		}
		// Read for an identifier that names nobody too (an id no user
		// has): the same work whether or not it does.
		a.second, err = mfa.Enabled(ctx, tx, cmp.Or(u.ID, account.FirstID))
		return err
	}
	// System: an identifier is all the request knows. Without limits
	// nothing is written, and a read takes no writer's turn.
	var err error
	if s.Limiter.Counting() {
		err = s.DB.Tx(sqldb.System(ctx), read)
	} else {
		err = s.DB.View(sqldb.System(ctx), read)
	}
	switch {
	case err != nil:
		return admission{}, fmt.Errorf("login: %w", err)
	case refusal != nil && a.failKey != "":
		return admission{}, s.limited(ctx, refusal, a.user.ID, "login", c)
	case refusal != nil:
		return admission{}, refusal
	}
	return a, nil
}

// accountKey is the rate-limit key of an attempt of a kind on an account:
// by the user when the identifier names one, so that their email, username
// and phone number share one count, and by the normalised identifier
// otherwise.
func accountKey(kind, userID, ident string) string {
	if userID != "" {
		return kind + ":user:" + userID
	}
	return kind + ":ident:" + ident
}

// limited records, once per window, that attempts on an account (userID;
// "" for an identifier that names nobody) reached the limit of a kind
// (audit.RateLimited), and returns err, the refusal.
func (s *Service) limited(ctx context.Context, err error, userID, kind string, c Client) error {
	var rl *ratelimit.Error
	if !errors.As(err, &rl) || !rl.First {
		return err
	}
	ev := audit.Event{UserID: userID, Action: audit.RateLimited, IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"limit": kind}}
	if userID != "" {
		ev.TargetType, ev.TargetID = "user", userID
	}
	// System: the account may not be the caller's.
	if aerr := s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return audit.Record(ctx, tx, ev) }); aerr != nil {
		s.Log.ErrorContext(ctx, "audit a rate limit", "err", aerr)
	}
	return err
}

// resetLimit forgets the count of key after a success that ends a run of
// failures; a failure to forget is logged, not answered.
func (s *Service) resetLimit(ctx context.Context, key string) {
	if err := s.Limiter.Reset(ctx, key); err != nil {
		s.Log.WarnContext(ctx, "reset rate limit", "err", err)
	}
}

// maxIdentifierBytes bounds what find looks up: no email, username or phone
// number is longer.
const maxIdentifierBytes = 320

// find returns the user an identifier names and their password hash; the
// zero user when there is none.
func (s *Service) find(ctx context.Context, ident string) (u account.User, hash string, err error) {
	if ident == "" || len(ident) > maxIdentifierBytes {
		return account.User{}, "", nil
	}
	// System: an identifier is all the request knows.
	err = s.DB.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		u, hash, err = account.FindForLogin(ctx, tx, ident)
		return err
	})
	if errors.Is(err, account.ErrNotFound) {
		return account.User{}, "", nil
	}
	if err != nil {
		return account.User{}, "", fmt.Errorf("login: %w", err)
	}
	return u, hash, nil
}

// verify checks a password against u's hash, spending a dummy hash when
// there is no user or no password.
func (s *Service) verify(ctx context.Context, u account.User, hash, pw string) (match, rehash bool, err error) {
	if hash == "" || len(pw) > maxPasswordBytes {
		s.Hasher.VerifyDummy(ctx, pw)
		return false, false, nil
	}
	match, rehash, err = s.Hasher.Verify(ctx, hash, pw)
	if errors.Is(err, password.ErrUnsupported) {
		s.Log.WarnContext(ctx, "stored password hash in an unsupported format", "user_id", u.ID)
		return false, false, nil
	}
	return match, rehash, err
}

// loginFailed audits a failed log-in (its attempt was counted before the
// check) and returns the error to answer with.
func (s *Service) loginFailed(ctx context.Context, userID, ident string, c Client) error {
	// System: the failure may belong to no user, or to one not signed in.
	err := s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		ev := audit.Event{UserID: userID, Action: audit.LoginFailed, IP: c.IP, UserAgent: c.UserAgent,
			Metadata: map[string]any{"identifier": truncate(ident, maxIdentifierBytes)}}
		if userID != "" {
			ev.TargetType, ev.TargetID = "user", userID
		}
		return audit.Record(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	return ErrInvalidCredentials
}
