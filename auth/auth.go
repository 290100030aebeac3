// Package auth signs users up and in: it owns the sessions table, composes
// account's functions with session creation in one transaction, and turns a
// presented token into the Actor a request acts as.
package auth

import (
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/account"
	"github.com/userd/userd/password"
	"github.com/userd/userd/sqldb"
)

// Errors that Service's methods return.
var (
	ErrInvalidCredentials = userd.Errorf(userd.KindUnauthenticated, "invalid_credentials", "The identifier or the password is wrong.")
	ErrUnauthenticated    = userd.Errorf(userd.KindUnauthenticated, "unauthenticated", "Sign in to do this.")
	ErrSuspended          = userd.Errorf(userd.KindForbidden, "account_suspended", "This account is suspended.")
	ErrBanned             = userd.Errorf(userd.KindForbidden, "account_banned", "This account is banned.")
	ErrSessionNotFound    = userd.Errorf(userd.KindNotFound, "session_not_found", "No such session.")
)

// Config holds the settings of a Service.
type Config struct {
	// SessionTTL is how long a session lives after it is created.
	SessionTTL time.Duration
}

// Service signs users up, in and out.
type Service struct {
	db     *sqldb.DB
	hasher *password.Hasher
	cfg    Config
}

// New returns a Service over db that hashes with hasher.
func New(db *sqldb.DB, hasher *password.Hasher, cfg Config) *Service {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	return &Service{db: db, hasher: hasher, cfg: cfg}
}

// Client describes where a request comes from.
type Client struct {
	IP        string
	UserAgent string
}

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

// Login is the result of a sign-up or a log-in: the user, their new session
// and the session's token, which exists in clear only here.
type Login struct {
	User    account.User
	Session Session
	Token   string
}

// Signup is what a new user gives.
type Signup struct {
	account.Identity
	account.Profile
	Password string
}
