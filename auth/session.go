package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/account"
	"github.com/userd/userd/sqldb"
	"github.com/userd/userd/token"
)

// lastSeenEvery is how stale a session's last_seen_at may grow before a
// request refreshes it: one write a minute per session, not one per request.
const lastSeenEvery = time.Minute

// open inserts a session for u and returns the log-in with its token.
func (s *Service) open(ctx context.Context, tx *sqldb.Tx, u account.User, c Client) (Login, error) {
	tok, hash := token.New(token.SessionPrefix)
	sess := Session{
		ID: userd.NewID(tx.Now), UserID: u.ID, UserAgent: truncate(c.UserAgent, 512), IP: c.IP,
		CreatedAt: tx.Now, LastSeenAt: tx.Now, ExpiresAt: tx.Now.Add(s.cfg.SessionTTL),
	}
	_, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, token_hash, user_agent, ip, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`,
		sess.ID, sess.UserID, hash, sess.UserAgent, sess.IP, sess.CreatedAt, sess.ExpiresAt)
	if err != nil {
		return Login{}, fmt.Errorf("insert session: %w", err)
	}
	return Login{User: u, Session: sess, Token: tok}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Authenticate returns the actor that a session token stands for. It returns
// ErrUnauthenticated for a malformed, unknown or expired token, and
// ErrSuspended or ErrBanned when the user may not act.
func (s *Service) Authenticate(ctx context.Context, tok string) (userd.Actor, error) {
	hash, ok := token.Parse(token.SessionPrefix, tok)
	if !ok {
		return userd.Actor{}, ErrUnauthenticated
	}
	var a userd.Actor
	var status account.Status
	var lastSeen time.Time
	var now time.Time
	err := s.db.View(ctx, func(tx *sqldb.Tx) error {
		now = tx.Now
		return tx.QueryRow(ctx, `SELECT s.id, s.user_id, s.last_seen_at, u.status
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.token_hash = $1 AND s.expires_at > $2`, hash, tx.Now).Scan(&a.SessionID, &a.UserID, &lastSeen, &status)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return userd.Actor{}, ErrUnauthenticated
	}
	if err != nil {
		return userd.Actor{}, fmt.Errorf("authenticate: %w", err)
	}
	if err := statusErr(status); err != nil {
		return userd.Actor{}, err
	}
	if now.Sub(lastSeen) >= lastSeenEvery {
		err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, tx.Now, a.SessionID)
			return err
		})
		if err != nil {
			return userd.Actor{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return a, nil
}

// statusErr returns the error that keeps a user of the given status out.
func statusErr(st account.Status) error {
	switch st {
	case account.StatusActive:
		return nil
	case account.StatusSuspended:
		return ErrSuspended
	}
	return ErrBanned
}

// Logout ends the actor's session at once.
func (s *Service) Logout(ctx context.Context, a userd.Actor) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2`, a.SessionID, a.UserID)
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrSessionNotFound
		}
		return nil
	})
}
