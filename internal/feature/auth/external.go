package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/feature/referral"
	"github.com/userd/userd/internal/platform/sqldb"
)

// authenticateExternal turns an outside provider's token into an actor: its
// sub is the user's auth_user_id, and the first request makes the user
// (is_first_connection stays true until the application clears it), with
// the email claim when no other user has it and the referral its claim
// names. Concurrent first requests make one user.
func (s *Service) authenticateExternal(ctx context.Context, raw string) (Caller, error) {
	c, err := s.External.Verify(ctx, raw)
	if err != nil {
		return Caller{}, ErrUnauthenticated
	}
	u, err := s.externalUser(ctx, c)
	if err != nil {
		return Caller{}, err
	}
	if err := statusErr(u.Status); err != nil {
		return Caller{}, err
	}
	// A provider's tokens are renewed without a new log-in, so only
	// auth_time says when the user last proved who they are; without it,
	// the token's issue time stands in (see RequireRecent).
	a := userd.Actor{UserID: u.ID, AuthTime: c.AuthTime}
	if a.AuthTime.IsZero() {
		a.AuthTime = c.IssuedAt
	}
	err = s.DB.View(sqldb.AsUser(ctx, u.ID), func(tx *sqldb.Tx) (err error) {
		a.Grants, err = s.Grants(ctx, tx, u.ID)
		return err
	})
	return Caller{Actor: a, User: u}, err
}

func (s *Service) externalUser(ctx context.Context, c ExternalClaims) (account.User, error) {
	find := func() (u account.User, err error) {
		// System: the token names a subject, not yet a userd user.
		err = s.DB.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			u, err = account.ByAuthUserID(ctx, tx, c.Subject)
			return err
		})
		return u, err
	}
	u, err := find()
	if !errors.Is(err, account.ErrNotFound) {
		return u, err
	}
	err = s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		n := account.New{AuthUserID: c.Subject}
		if id := (account.Identity{Email: c.Email}); c.Email != "" && len(id.Check()) == 0 {
			taken, err := account.Exists(ctx, tx, id)
			if err != nil {
				return err
			}
			if !taken { // another user's email is not this one's to claim
				n.Email = id.Email
			}
		}
		made, err := account.Insert(ctx, tx, n)
		if err != nil {
			return err
		}
		if err := rbac.AssignDefault(ctx, tx, made.ID); err != nil {
			return err
		}
		// An unknown slug loses the referral, not the user's first request.
		if err := referral.Record(ctx, tx, c.Referral, made.ID); err != nil && !errors.Is(err, referral.ErrUnknownSlug) {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: made.ID, Action: audit.Signup, TargetType: "user", TargetID: made.ID,
			Metadata: map[string]any{"external_subject": c.Subject}})
	})
	// A conflict (on auth_user_id, or on the email a concurrent first
	// request of the same subject claimed first) means that request made
	// the user.
	if err != nil && userd.ErrorKind(err) != userd.KindConflict {
		return account.User{}, fmt.Errorf("external user: %w", err)
	}
	return find()
}
