package openid

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// RefreshPrefix starts every refresh token the provider issues.
const RefreshPrefix = "udo_"

// grant is a row of oauth_grants: what one exchanged code gave a client,
// and the op package's RefreshTokenRequest when read through a refresh
// token.
type grant struct {
	ID, ClientID, UserID string
	Scopes               []string
	AuthTime             time.Time
	AMR                  []string
	Expires              time.Time
	// the refresh token it was read through
	tokenID string
	usedAt  sql.NullTime
}

// GetAMR returns how the user signed in.
func (g *grant) GetAMR() []string { return g.AMR }

// GetAudience returns the client.
func (g *grant) GetAudience() []string { return []string{g.ClientID} }

// GetAuthTime returns when the user signed in.
func (g *grant) GetAuthTime() time.Time { return g.AuthTime }

// GetClientID returns the client the grant is bound to.
func (g *grant) GetClientID() string { return g.ClientID }

// GetScopes returns the scopes granted.
func (g *grant) GetScopes() []string { return g.Scopes }

// GetSubject returns the user's id.
func (g *grant) GetSubject() string { return g.UserID }

// SetCurrentScopes narrows the scopes of this refresh (a client may ask
// for fewer).
func (g *grant) SetCurrentScopes(scopes []string) { g.Scopes = scopes }

// openGrant makes the grant of an exchanged code, unless the code was
// replayed meanwhile (which revokes what it gave); audited.
func (s *Service) openGrant(ctx context.Context, tx *sqldb.Tx, r *Request) (*grant, error) {
	var replayed sql.NullTime
	if err := tx.QueryRow(ctx, `SELECT replayed_at FROM oauth_authorizations WHERE id = $1`, r.ID).Scan(&replayed); err != nil {
		return nil, fmt.Errorf("read authorization request: %w", err)
	}
	if replayed.Valid {
		return nil, oidc.ErrInvalidGrant().WithParent(errCodeReplayed)
	}
	g := &grant{ID: userd.NewID(tx.Now), ClientID: r.ClientID, UserID: r.UserID, Scopes: r.p.Scopes, AuthTime: r.AuthTime, AMR: r.AMR,
		Expires: tx.Now.Add(s.cfg.RefreshTTL)}
	_, err := tx.Exec(ctx, `INSERT INTO oauth_grants (id, client_id, user_id, authorization_id, scopes, auth_time, amr, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, g.ID, g.ClientID, g.UserID, r.ID, sqldb.JSONStrings(g.Scopes), g.AuthTime, sqldb.JSONStrings(g.AMR), tx.Now, g.Expires)
	if err != nil {
		return nil, fmt.Errorf("insert oauth grant: %w", err)
	}
	return g, audit.Record(ctx, tx, audit.Event{UserID: g.UserID, Action: audit.OAuthTokenIssued, TargetType: "oauth_client", TargetID: g.ClientID,
		Metadata: map[string]any{"scopes": g.Scopes, "grant": g.ID}})
}

// accessToken records an access token of g and returns its id (the JWT's
// jti) and expiry.
func (s *Service) accessToken(ctx context.Context, tx *sqldb.Tx, g *grant) (string, time.Time, error) {
	id, exp := userd.NewID(tx.Now), tx.Now.Add(s.cfg.AccessTTL)
	_, err := tx.Exec(ctx, `INSERT INTO oauth_tokens (id, grant_id, kind, created_at, expires_at) VALUES ($1, $2, 'access', $3, $4)`, id, g.ID, tx.Now, exp)
	if err != nil {
		return "", exp, fmt.Errorf("insert access token: %w", err)
	}
	return id, exp, nil
}

// successor derives the refresh token that replaces tok: a retry of tok
// within the grace window gets the same one (see auth's refresh).
func (s *Service) successor(tok string) string {
	m := hmac.New(sha256.New, s.cfg.RefreshSecret)
	m.Write([]byte("userd oauth refresh successor\x00" + tok))
	return RefreshPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// refreshToken records a refresh token of g.
func (s *Service) refreshToken(ctx context.Context, tx *sqldb.Tx, g *grant, tok, parentID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO oauth_tokens (id, grant_id, kind, token_hash, parent_id, created_at, expires_at) VALUES ($1, $2, 'refresh', $3, $4, $5, $6)`,
		userd.NewID(tx.Now), g.ID, token.Hash(tok), sqldb.Nullable(parentID), tx.Now, g.Expires)
	if err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// issue creates the tokens of a token request: for a code (r is a
// *Request) a new grant, for a refresh (a *grant) the spent token's
// successor. withRefresh asks for a refresh token too.
func (s *Service) issue(ctx context.Context, req op.TokenRequest, current string, withRefresh bool) (id, refresh string, exp time.Time, err error) {
	reused := false
	// System: the provider's rows, reached through a code or a token.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var g *grant
		switch r := req.(type) {
		case *Request:
			if g, err = s.openGrant(ctx, tx, r); err != nil {
				return err
			}
			if withRefresh {
				refresh, _ = token.New(RefreshPrefix)
				if err := s.refreshToken(ctx, tx, g, refresh, ""); err != nil {
					return err
				}
			}
		case *grant:
			g = r
			refresh, err = s.rotate(ctx, tx, g, current)
			if errors.Is(err, errReused) {
				reused = true
				return nil // the grant's revocation commits
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("token request of type %T", req)
		}
		id, exp, err = s.accessToken(ctx, tx, g)
		return err
	})
	if err == nil && reused {
		return "", "", exp, errReused
	}
	return id, refresh, exp, err
}

// rotate spends the refresh token current of g and returns its successor.
// A token spent less than RefreshGrace ago whose successor is unspent gets
// that successor again; any other reuse revokes the grant with all its
// tokens and is audited.
func (s *Service) rotate(ctx context.Context, tx *sqldb.Tx, g *grant, current string) (string, error) {
	next := s.successor(current)
	res, err := tx.Exec(ctx, `UPDATE oauth_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL`, tx.Now, g.tokenID)
	if err != nil {
		return "", fmt.Errorf("spend refresh token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return next, s.refreshToken(ctx, tx, g, next, g.tokenID)
	}
	var usedAt time.Time
	var child []byte
	err = tx.QueryRow(ctx, `SELECT t.used_at, c.token_hash FROM oauth_tokens t JOIN oauth_tokens c ON c.parent_id = t.id AND c.used_at IS NULL WHERE t.id = $1`, g.tokenID).
		Scan(&usedAt, &child)
	if err == nil && tx.Now.Sub(usedAt) <= s.cfg.RefreshGrace && subtle.ConstantTimeCompare(child, token.Hash(next)) == 1 {
		return next, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read refresh token's successor: %w", err)
	}
	if err := s.revokeReused(ctx, tx, g); err != nil {
		return "", err
	}
	return "", errReused
}

// errReused is the parent error of a reused refresh token: its grant is
// revoked (in a transaction that commits).
var errReused = errors.New("refresh token reused")

func (s *Service) revokeReused(ctx context.Context, tx *sqldb.Tx, g *grant) error {
	if _, err := tx.Exec(ctx, `DELETE FROM oauth_grants WHERE id = $1`, g.ID); err != nil {
		return fmt.Errorf("revoke oauth grant: %w", err)
	}
	return audit.Record(ctx, tx, audit.Event{UserID: g.UserID, Action: audit.OAuthRefreshReuse, TargetType: "oauth_client", TargetID: g.ClientID,
		Metadata: map[string]any{"grant": g.ID}})
}

// grantByRefresh reads the grant of a refresh token that is still alive,
// with the token's id. A token spent longer than RefreshGrace ago is a
// reuse: the grant is revoked then and there (audited) and the token
// refused.
func (s *Service) grantByRefresh(ctx context.Context, tok string) (g *grant, err error) {
	hash, ok := token.Parse(RefreshPrefix, tok)
	if !ok {
		return nil, op.ErrInvalidRefreshToken
	}
	reused := false
	// System: the token is all the caller has.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		g = &grant{}
		var scopes, amr []byte
		err := tx.QueryRow(ctx, `SELECT g.id, g.client_id, g.user_id, g.scopes, g.auth_time, g.amr, g.expires_at, t.id, t.used_at
			FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN users u ON u.id = g.user_id
			WHERE t.token_hash = $1 AND t.kind = 'refresh' AND g.expires_at > $2 AND u.status = 'active'`, hash, tx.Now).
			Scan(&g.ID, &g.ClientID, &g.UserID, &scopes, &g.AuthTime, &amr, &g.Expires, &g.tokenID, &g.usedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return op.ErrInvalidRefreshToken
		}
		if err != nil {
			return fmt.Errorf("find refresh token: %w", err)
		}
		if err := errors.Join(json.Unmarshal(scopes, &g.Scopes), json.Unmarshal(amr, &g.AMR)); err != nil {
			return fmt.Errorf("oauth grant %s: %w", g.ID, err)
		}
		g.AuthTime = g.AuthTime.UTC()
		if g.usedAt.Valid && tx.Now.Sub(g.usedAt.Time) > s.cfg.RefreshGrace {
			reused = true
			return s.revokeReused(ctx, tx, g)
		}
		return nil
	})
	if err == nil && reused {
		err = op.ErrInvalidRefreshToken
	}
	return g, err
}

// revoke revokes a token for its client (RFC 7009): by its id (userID
// set; the op package found it through GetRefreshTokenInfo or the access
// token's jti), or a refresh token by its value. An access token goes
// alone; a refresh token takes its whole grant with it. An unknown token,
// or another client's, changes nothing and is no error.
func (s *Service) revoke(ctx context.Context, tokenOrID, userID, clientID string) error {
	// System: the provider's rows, reached through a token.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var kind, tokenID, grantID, owner string
		var err error
		if userID != "" {
			if _, ok := userd.ParseID(tokenOrID); !ok {
				return nil
			}
			err = tx.QueryRow(ctx, `SELECT t.kind, t.id, t.grant_id, g.user_id FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
				WHERE t.id = $1 AND g.client_id = $2 AND g.user_id = $3`, tokenOrID, clientID, userID).Scan(&kind, &tokenID, &grantID, &owner)
		} else {
			hash, ok := token.Parse(RefreshPrefix, tokenOrID)
			if !ok {
				return nil
			}
			err = tx.QueryRow(ctx, `SELECT t.kind, t.id, t.grant_id, g.user_id FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
				WHERE t.token_hash = $1 AND g.client_id = $2`, hash, clientID).Scan(&kind, &tokenID, &grantID, &owner)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find oauth token: %w", err)
		}
		if kind == "access" {
			_, err = tx.Exec(ctx, `DELETE FROM oauth_tokens WHERE id = $1`, tokenID)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM oauth_grants WHERE id = $1`, grantID)
		}
		if err != nil {
			return fmt.Errorf("revoke oauth token: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{UserID: owner, Action: audit.OAuthTokenRevoked, TargetType: "oauth_client", TargetID: clientID,
			Metadata: map[string]any{"kind": kind}})
	})
}

// endGrants revokes every grant a client holds for a user (RP-initiated
// log-out); audited when there was one.
func (s *Service) endGrants(ctx context.Context, userID, clientID string) error {
	// System: the provider's rows; the statement names the user.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		n, err := sqldb.DeleteWhere(ctx, tx, `DELETE FROM oauth_grants WHERE user_id = $1 AND client_id = $2`, userID, clientID)
		if err != nil {
			return fmt.Errorf("end oauth grants: %w", err)
		}
		if n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.OAuthTokenRevoked, TargetType: "oauth_client", TargetID: clientID,
			Metadata: map[string]any{"reason": "end_session"}})
	})
}

// liveToken reports whether an access token (by jti) is still alive: not
// revoked, its grant alive, its user active.
func (s *Service) liveToken(ctx context.Context, id, userID string) (g grant, err error) {
	if _, ok := userd.ParseID(id); !ok {
		return g, errors.New("not a token id")
	}
	// System: the token is all the caller has.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var scopes []byte
		err := tx.QueryRow(ctx, `SELECT g.id, g.client_id, g.user_id, g.scopes FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN users u ON u.id = g.user_id
			WHERE t.id = $1 AND t.kind = 'access' AND t.expires_at > $2 AND g.user_id = $3 AND u.status = 'active'`, id, tx.Now, userID).
			Scan(&g.ID, &g.ClientID, &g.UserID, &scopes)
		if err != nil {
			return fmt.Errorf("find access token: %w", err)
		}
		return json.Unmarshal(scopes, &g.Scopes)
	})
	return g, err
}
