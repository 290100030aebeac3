package organization

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// BillingAccess says what the actor may read of the billing of the
// organisation id: every member its subscription's plan and state, and
// those whose role allows ReadBilling (owners and admins) its details too.
// It returns ErrNotFound for anyone who is not a member.
func (s *Service) BillingAccess(ctx context.Context, a userd.Actor, id string) (details bool, err error) {
	err = s.read(ctx, a, id, Read, func(_ *sqldb.Tx, _, role string) error {
		details = may(role, ReadBilling)
		return nil
	})
	return details, err
}
