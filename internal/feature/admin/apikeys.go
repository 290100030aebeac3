package admin

import (
	"context"
	"slices"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/apikey"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// The permissions over API keys.
const (
	APIKeysRead  = "api_keys:read"  // list them
	APIKeysWrite = "api_keys:write" // create and revoke them
)

// mayKey returns rbac.ErrInsufficientPrivilege unless w may make, revoke
// or change an API key that carries g: they hold APIKeysWrite and cover g
// (no key stronger than its maker, a key included).
func (w Who) mayKey(g userd.Grants) error {
	if mine := w.grants(); !mine.Has(APIKeysWrite) || !rbac.Covers(mine, g) {
		return rbac.ErrInsufficientPrivilege
	}
	return nil
}

// CreateAPIKey makes an API key and returns it with its secret, shown this
// once. Who makes it holds APIKeysWrite and every permission the key will
// carry (an API key cannot mint a key stronger than itself); a key made by
// a user names them as its maker. It returns a KindInvalid error,
// rbac.ErrInsufficientPrivilege.
func (s *Service) CreateAPIKey(ctx context.Context, who Who, n apikey.New) (apikey.Key, string, error) {
	if err := who.mayKey(userd.Grants{Permissions: n.Permissions}); err != nil {
		return apikey.Key{}, "", err
	}
	n.CreatedBy, n.CreatedByKey = who.Actor.UserID, who.Actor.APIKeyID
	var k apikey.Key
	var secret string
	err := s.tx(ctx, func(tx *sqldb.Tx) (_ audit.Event, err error) {
		if k, secret, err = apikey.Create(ctx, tx, n); err != nil {
			return audit.Event{}, err
		}
		return who.event(audit.AdminAPIKeyCreated, "api_key", k.ID, map[string]any{"name": k.Name, "permissions": k.Permissions, "expires_at": k.ExpiresAt}), nil
	})
	return k, secret, err
}

// APIKeys lists API keys, newest first, revoked ones included, for who
// holds APIKeysRead. It returns rbac.ErrInsufficientPrivilege.
func (s *Service) APIKeys(ctx context.Context, who Who, beforeID string, limit int) (out []apikey.Key, err error) {
	if !who.grants().Has(APIKeysRead) {
		return nil, rbac.ErrInsufficientPrivilege
	}
	err = s.view(ctx, func(tx *sqldb.Tx) (err error) {
		out, err = apikey.List(ctx, tx, beforeID, limit)
		return err
	})
	return out, err
}

// RevokeAPIKey ends an API key at once, in every process, and every key it
// made (see apikey.Revoke); revoking a revoked key changes nothing and is
// not an error. Who revokes holds
// APIKeysWrite and covers the key's permissions. It returns
// apikey.ErrNotFound, rbac.ErrInsufficientPrivilege.
func (s *Service) RevokeAPIKey(ctx context.Context, who Who, id string) error {
	return s.tx(ctx, func(tx *sqldb.Tx) (audit.Event, error) {
		k, err := apikey.Get(ctx, tx, id)
		if err != nil {
			return audit.Event{}, err
		}
		if err := who.mayKey(k.Grants()); err != nil {
			return audit.Event{}, err
		}
		_, revoked, err := apikey.Revoke(ctx, tx, id)
		if err != nil {
			return audit.Event{}, err
		}
		return who.event(audit.AdminAPIKeyRevoked, "api_key", id, map[string]any{"name": k.Name, "changed": slices.Contains(revoked, id), "revoked": revoked}), nil
	})
}
