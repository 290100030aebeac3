package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/apikey"
	"github.com/userd/userd/internal/platform/sqldb"
)

// authenticateKey returns the caller that an API key stands for: no user,
// the key's permissions. What it read is remembered until the key's
// revocation (or a change of permissions) invalidates it, in every process;
// its last use is written at most once every lastSeenEvery.
func (s *Service) authenticateKey(ctx context.Context, hash []byte) (Caller, error) {
	ckey := "k:" + string(hash)
	now := s.DB.Now()
	if e, ok := s.callers.Get(ckey); ok && (e.expires.IsZero() || now.Before(e.expires)) {
		return e.Caller, nil
	}
	gen := s.callers.Generation()
	var k apikey.Key
	// System: keys belong to no user.
	err := s.DB.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		now = tx.Now
		k, err = apikey.Find(ctx, tx, hash)
		return err
	})
	if errors.Is(err, apikey.ErrUnusable) {
		return Caller{}, ErrUnauthenticated
	}
	if err != nil {
		return Caller{}, fmt.Errorf("authenticate api key: %w", err)
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastSeenEvery {
		err := s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return apikey.Touch(ctx, tx, k.ID, lastSeenEvery) })
		if err != nil {
			return Caller{}, err
		}
	}
	e := cached{Caller: Caller{Actor: userd.Actor{APIKeyID: k.ID, Grants: k.Grants()}}, lastSeen: now}
	if k.ExpiresAt != nil {
		e.expires = *k.ExpiresAt
	}
	s.callers.Put(ckey, e, now, gen, userd.APIKeyKey(k.ID))
	return e.Caller, nil
}
