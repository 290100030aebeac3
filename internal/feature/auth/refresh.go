package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// RefreshPrefix starts every refresh token.
const RefreshPrefix = "udr_"

// successor derives the token that replaces a refresh token. It is a keyed
// hash of the token itself, so that a retry of the same token within the
// grace window can be given the same successor without storing it in clear,
// and only a holder of the token (and the server) can know it.
func (s *Service) successor(tok string) (string, []byte) {
	m := hmac.New(sha256.New, s.cfg.RefreshSecret)
	m.Write([]byte("userd refresh successor\x00" + tok))
	next := RefreshPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return next, token.Hash(next)
}

// newToken makes a refresh token: random for a session's first, derived
// for a successor.
type newToken func(prefix string) (string, []byte)

func (s *Service) insertRefresh(ctx context.Context, tx *sqldb.Tx, sessionID, userID, parentID string, mk newToken) (string, error) {
	tok, hash := mk(RefreshPrefix)
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (id, session_id, user_id, parent_id, token_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, userd.NewID(tx.Now), sessionID, userID, sqldb.Nullable(parentID), hash, tx.Now)
	if err != nil {
		return "", fmt.Errorf("insert refresh token: %w", err)
	}
	return tok, nil
}

// Refresh trades a refresh token for a new access token and the token's
// successor. Each token works once; a retry of the latest token within the
// grace window gets the same successor (racing tabs are not logged out);
// any other reuse revokes the session with all its tokens. It returns
// ErrInvalidRefresh for an unknown, spent or revoked token.
func (s *Service) Refresh(ctx context.Context, refresh string, c Client) (Tokens, error) {
	hash, ok := token.Parse(RefreshPrefix, refresh)
	if !ok {
		return Tokens{}, ErrInvalidRefresh
	}
	if err := s.Limiter.Hit(ctx, "refresh:ip:"+c.IP, s.cfg.Limits.RefreshPerIP); err != nil {
		return Tokens{}, err
	}
	sg, err := s.signer(ctx)
	if err != nil {
		return Tokens{}, err
	}
	var out Tokens
	reused := false
	// System: the token finds its session before the user is known.
	err = s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var id, sessionID, userID string
		var usedAt sql.NullTime
		// The token, its session, its user, their grants (with those of
		// the session's active organisation's plans) and their active
		// organisation (for the new access token), in one statement.
		var gs rbac.GrantScan
		var oc organization.ClaimScan
		err := tx.QueryRow(ctx, `SELECT r.id, r.session_id, r.user_id, r.used_at, `+rbac.GrantColumn("s.user_id", billing.MemberRoles("s"))+`, `+organization.ClaimColumns("s")+`
			FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id
			WHERE r.token_hash = $1 AND `+validSession+` AND u.status = 'active'`,
			hash, tx.Now, tx.Now.Add(-s.cfg.SessionIdle)).Scan(append(append([]any{&id, &sessionID, &userID, &usedAt}, gs.Dest()...), oc.Dest()...)...)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvalidRefresh
		}
		if err != nil {
			return fmt.Errorf("find refresh token: %w", err)
		}
		if !usedAt.Valid {
			res, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL`, tx.Now, id)
			if err != nil {
				return fmt.Errorf("spend refresh token: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				next, err := s.insertRefresh(ctx, tx, sessionID, userID, id, func(string) (string, []byte) { return s.successor(refresh) })
				if err != nil {
					return err
				}
				out, err = s.renewed(ctx, tx, sg, userID, sessionID, next, &gs, &oc)
				return err
			}
			// Another request spent it since we read it: read when.
			if err := tx.QueryRow(ctx, `SELECT used_at FROM refresh_tokens WHERE id = $1`, id).Scan(&usedAt); err != nil {
				return fmt.Errorf("reread refresh token: %w", err)
			}
		}
		if next, ok := s.graceRetry(ctx, tx, id, refresh, usedAt.Time); ok {
			out, err = s.renewed(ctx, tx, sg, userID, sessionID, next, &gs, &oc)
			return err
		}
		reused = true
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, sessionID); err != nil {
			return fmt.Errorf("revoke session: %w", err)
		}
		tx.Invalidate(userd.SessionKey(sessionID))
		return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.RefreshReuse, TargetType: "session", TargetID: sessionID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"spent_at": usedAt.Time.UTC().Format(time.RFC3339Nano)}})
	})
	if err != nil {
		return Tokens{}, err
	}
	if reused {
		return Tokens{}, ErrInvalidRefresh
	}
	return out, nil
}

// graceRetry returns the successor of a spent token when the token was spent
// less than the grace window ago and its successor is still unspent (the
// token is the latest of its session).
func (s *Service) graceRetry(ctx context.Context, tx *sqldb.Tx, id, refresh string, usedAt time.Time) (string, bool) {
	if tx.Now.Sub(usedAt) > s.cfg.RefreshGrace {
		return "", false
	}
	var childHash []byte
	err := tx.QueryRow(ctx, `SELECT token_hash FROM refresh_tokens WHERE parent_id = $1 AND used_at IS NULL`, id).Scan(&childHash)
	if err != nil {
		return "", false
	}
	next, hash := s.successor(refresh)
	if subtle.ConstantTimeCompare(hash, childHash) != 1 {
		return "", false
	}
	return next, true
}

// renewed touches the session and signs a new access token, with the grants
// that gs read (as the user's roles carry them: see accessToken) and the
// active organisation's claims that oc read, to go with the refresh token
// next.
func (s *Service) renewed(ctx context.Context, tx *sqldb.Tx, sg signer, userID, sessionID, next string, gs *rbac.GrantScan, oc *organization.ClaimScan) (Tokens, error) {
	if _, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, tx.Now, sessionID); err != nil {
		return Tokens{}, fmt.Errorf("touch session: %w", err)
	}
	roles, err := s.roles(ctx, tx, *gs)
	if err != nil {
		return Tokens{}, err
	}
	access, err := s.accessToken(sg, userID, sessionID, gs.Carried(roles), oc.Claims(), tx.Now)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, RefreshToken: next, ExpiresIn: s.cfg.AccessTTL}, nil
}
