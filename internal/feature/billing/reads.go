package billing

import (
	"context"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Mine returns the actor's individual subscription: of their own
// subscriptions, the one that grants its plan's roles, else the latest
// changed. It returns ErrNoSubscription.
func (s *Service) Mine(ctx context.Context, a userd.Actor) (sub Subscription, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		sub, err = sqldb.One(ctx, tx, ErrNoSubscription, "read subscription", scanSub, `SELECT `+subColumns+` FROM subscriptions
			WHERE user_id = $1 ORDER BY entitled DESC, updated_at DESC, id DESC LIMIT 1`, a.UserID)
		return err
	})
	return sub, err
}

// MineAll returns every subscription of the actor, newest first, each with
// its history (oldest first).
func (s *Service) MineAll(ctx context.Context, a userd.Actor) (subs []Subscription, err error) {
	// System: subscription_history is closed to a user's transactions;
	// withHistory filters on the actor's user_id.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		subs, err = withHistory(ctx, tx, `user_id`, a.UserID)
		return err
	})
	return subs, err
}

// Organization returns an organisation's subscription, with its history:
// the one that grants its plan's roles, else the newest. The caller
// checks that the actor may read it (a member; billing details for owners
// and admins). It returns ErrNoSubscription.
func (s *Service) Organization(ctx context.Context, orgID string) (sub Subscription, err error) {
	if _, ok := userd.ParseID(orgID); !ok {
		return sub, ErrNoSubscription
	}
	// System: an organisation's rows are no user's.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		subs, err := withHistory(ctx, tx, `organization_id`, orgID)
		if err != nil {
			return err
		}
		if len(subs) == 0 {
			return ErrNoSubscription
		}
		sub = subs[0]
		for _, x := range subs {
			if x.Entitled && (!sub.Entitled || x.UpdatedAt.After(sub.UpdatedAt)) {
				sub = x
			}
		}
		return nil
	})
	return sub, err
}

// OrganizationFor returns an organisation's subscription (see
// Organization) as the actor, a member, may see it: the plan and its state;
// the provider's ids, the metadata and the history only for those that
// Deps.OrgAccess allows the details. It returns Deps.OrgAccess's error for
// anyone else, and ErrNoSubscription.
func (s *Service) OrganizationFor(ctx context.Context, a userd.Actor, orgID string) (Subscription, error) {
	details, err := s.deps.OrgAccess(ctx, a, orgID)
	if err != nil {
		return Subscription{}, err
	}
	sub, err := s.Organization(ctx, orgID)
	if err != nil || details {
		return sub, err
	}
	sub.SubscriptionID, sub.Customer, sub.Metadata, sub.EventAt, sub.History = "", "", nil, nil, nil
	return sub, nil
}

// Accounts returns the actor's payment accounts: the customers they are at
// the providers (no secrets: the providers' are not the user's).
func (s *Service) Accounts(ctx context.Context, a userd.Actor) (accounts []Account, err error) {
	// System: payment_providers is closed to a user's transactions; the
	// query filters on the actor's user_id.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		accounts, err = sqldb.All(ctx, tx, scanAccount, `SELECT `+accountColumns+` FROM payment_accounts a
			JOIN payment_providers p ON p.id = a.provider_id WHERE a.user_id = $1 ORDER BY a.id`, a.UserID)
		if err != nil {
			return fmt.Errorf("payment accounts: %w", err)
		}
		return nil
	})
	return accounts, err
}

// withHistory returns the subscriptions whose owner column (user_id or
// organization_id) is id, newest first, each with its history.
func withHistory(ctx context.Context, tx *sqldb.Tx, column, id string) ([]Subscription, error) {
	subs, err := sqldb.All(ctx, tx, scanSub, `SELECT `+subColumns+` FROM subscriptions WHERE `+column+` = $1 ORDER BY id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	for i, sub := range subs {
		subs[i].History, err = sqldb.All(ctx, tx, scanChange, `SELECT id, from_status, to_status, from_plan, to_plan, event_id, at
			FROM subscription_history WHERE subscription_id = $1 ORDER BY id`, sub.ID)
		if err != nil {
			return nil, fmt.Errorf("subscription history: %w", err)
		}
	}
	return subs, nil
}
