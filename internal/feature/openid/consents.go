package openid

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Consent is what a user allowed a client.
type Consent struct {
	ClientID, ClientName string
	Scopes               []string
	CreatedAt, UpdatedAt time.Time
}

// consentScopes returns the scopes the user allowed the client before,
// none when they never did.
func consentScopes(ctx context.Context, tx *sqldb.Tx, userID, clientID string) ([]string, error) {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT scopes FROM oauth_consents WHERE user_id = $1 AND client_id = $2`, userID, clientID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read consent: %w", err)
	}
	var given []string
	if err := json.Unmarshal(raw, &given); err != nil {
		return nil, fmt.Errorf("consent scopes: %w", err)
	}
	return given, nil
}

// consented reports whether a request for scopes needs no consent: the
// client is first-party, or the user allowed it these scopes before
// (given).
func consented(cl Client, given, scopes []string) bool {
	return cl.FirstParty || !slices.ContainsFunc(scopes, func(sc string) bool { return !slices.Contains(given, sc) })
}

// giveConsent remembers that the user allowed the client these scopes, with
// those allowed before (given); audited.
func (s *Service) giveConsent(ctx context.Context, tx *sqldb.Tx, userID, clientID string, given, scopes []string, c userd.Client) error {
	all := slices.Clone(given)
	for _, sc := range scopes {
		if !slices.Contains(all, sc) {
			all = append(all, sc)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO oauth_consents (user_id, client_id, scopes, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`, userID, clientID, sqldb.JSONStrings(all), tx.Now)
	if err != nil {
		return fmt.Errorf("save consent: %w", err)
	}
	return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.OAuthConsentGiven, TargetType: "oauth_client", TargetID: clientID,
		IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"scopes": all}})
}

// Consents returns the consents the user gave, newest first.
func (s *Service) Consents(ctx context.Context, a userd.Actor) (out []Consent, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		out, err = sqldb.All(ctx, tx, func(row sqldb.Scanner) (Consent, error) {
			var k Consent
			var raw []byte
			if err := row.Scan(&k.ClientID, &k.ClientName, &raw, &k.CreatedAt, &k.UpdatedAt); err != nil {
				return k, err
			}
			k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
			return k, json.Unmarshal(raw, &k.Scopes)
		}, `SELECT k.client_id, c.name, k.scopes, k.created_at, k.updated_at FROM oauth_consents k JOIN oauth_clients c ON c.client_id = k.client_id
			WHERE k.user_id = $1 ORDER BY k.updated_at DESC, k.client_id`, a.UserID)
		return err
	})
	return out, err
}

// RevokeConsent forgets the user's consent to a client and revokes every
// grant the client holds for them (its tokens stop working at once);
// audited. It returns ErrConsentNotFound when there is none.
func (s *Service) RevokeConsent(ctx context.Context, a userd.Actor, c userd.Client, clientID string) error {
	// System: grants are the provider's rows; every statement names the user.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		err := tx.ExecOne(ctx, ErrConsentNotFound, `DELETE FROM oauth_consents WHERE user_id = $1 AND client_id = $2`, a.UserID, clientID)
		if err != nil {
			return fmt.Errorf("delete consent: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_grants WHERE user_id = $1 AND client_id = $2`, a.UserID, clientID); err != nil {
			return fmt.Errorf("revoke grants: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.OAuthConsentRevoked, TargetType: "oauth_client", TargetID: clientID,
			IP: c.IP, UserAgent: c.UserAgent})
	})
}
