package admin

import (
	"context"
	"errors"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/feature/passkey"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// errNoAuth is what reading sessions returns from a Service made without
// an auth.Service (the command line's), which knows their idle window.
var errNoAuth = errors.New("admin: no auth.Service to read sessions")

// Sessions returns up to limit of a user's live sessions, newest first,
// after the session with id before ("" for the first page). It returns
// account.ErrNotFound.
func (s *Service) Sessions(ctx context.Context, userID, before string, limit int) (out []auth.Session, err error) {
	if s.auth == nil {
		return nil, errNoAuth
	}
	err = s.view(ctx, func(tx *sqldb.Tx) error {
		if _, err := account.Get(ctx, tx, userID); err != nil {
			return err
		}
		out, err = s.auth.SessionsTx(ctx, tx, userID, before, limit)
		return err
	})
	return out, err
}

// EndSessions ends one session of a user whose grants who covers (see
// rbac.CheckUser), or every one of them when sessionID is "", and returns
// how many it ended; their access tokens are refused at once. It records
// audit.AdminSessionsEnded. It returns account.ErrNotFound,
// rbac.ErrInsufficientPrivilege and auth.ErrSessionNotFound.
func (s *Service) EndSessions(ctx context.Context, who Who, userID, sessionID string) (n int64, err error) {
	err = s.tx(ctx, func(tx *sqldb.Tx) (audit.Event, error) {
		if err := rbac.CheckUser(ctx, tx, who.grants(), userID); err != nil {
			return audit.Event{}, err
		}
		if _, err := account.Get(ctx, tx, userID); err != nil {
			return audit.Event{}, err
		}
		if sessionID != "" {
			n = 1
			err := auth.RevokeOne(ctx, tx, userID, sessionID)
			return who.event(audit.AdminSessionsEnded, "user", userID, map[string]any{"session_id": sessionID}), err
		}
		n, err = auth.RevokeAll(ctx, tx, userID)
		return who.event(audit.AdminSessionsEnded, "user", userID, map[string]any{"count": n}), err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Factors are a user's second factor and passkeys, as an administrator
// sees them: never a secret.
type Factors struct {
	mfa.State
	Passkeys []passkey.Passkey
}

// Factors returns a user's second factor and passkeys. It returns
// account.ErrNotFound.
func (s *Service) Factors(ctx context.Context, userID string) (f Factors, err error) {
	err = s.view(ctx, func(tx *sqldb.Tx) error {
		if _, err := account.Get(ctx, tx, userID); err != nil {
			return err
		}
		if f.State, err = mfa.StateOf(ctx, tx, userID); err != nil {
			return err
		}
		f.Passkeys, err = passkey.List(ctx, tx, userID)
		return err
	})
	return f, err
}
