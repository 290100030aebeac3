package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// MaxRoleRecipients is how many holders a role may have for NotifyRole to
// send to it: beyond, a notification to everyone is a job for the
// application, not for one request.
const MaxRoleRecipients = 10 * MaxRecipients

// Recipients returns the ids of the users that refs name, in their order
// and each once: each ref a userd id, an email, or the legacy id a user was
// imported with. It returns a KindInvalid error on the field recipients
// naming each ref that names nobody, and one for more than MaxRecipients
// refs.
func (s *Service) Recipients(ctx context.Context, refs []string) ([]string, error) {
	if len(refs) > MaxRecipients {
		return nil, userd.Invalid([]userd.FieldError{{Field: "recipients", Code: "too_many", Message: fmt.Sprintf("Send to at most %d users at once.", MaxRecipients)}})
	}
	var ids []string
	var fe []userd.FieldError
	err := s.view(ctx, func(tx *sqldb.Tx) error {
		seen := map[string]bool{}
		for _, ref := range refs {
			u, err := recipient(ctx, tx, ref)
			if errors.Is(err, account.ErrNotFound) {
				fe = append(fe, userd.FieldError{Field: "recipients", Code: "unknown_user", Message: fmt.Sprintf("No user is %q.", ref)})
				continue
			}
			if err != nil {
				return err
			}
			if !seen[u.ID] {
				seen[u.ID] = true
				ids = append(ids, u.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	if err := userd.Invalid(fe); err != nil {
		return nil, err
	}
	return ids, nil
}

// recipient finds the user that ref names: by id, by email (a ref with an
// @), else by legacy id. It returns account.ErrNotFound.
func recipient(ctx context.Context, tx *sqldb.Tx, ref string) (account.User, error) {
	if id, ok := userd.ParseID(ref); ok {
		return account.Get(ctx, tx, id)
	}
	if strings.Contains(ref, "@") {
		return account.ByEmail(ctx, tx, ref)
	}
	return account.ByLegacyID(ctx, tx, ref)
}

// RoleHolderCounts returns how many users hold each role, by its name (see
// rbac.HolderCounts).
func (s *Service) RoleHolderCounts(ctx context.Context) (map[string]int, error) {
	var out map[string]int
	err := s.view(ctx, func(tx *sqldb.Tx) (err error) {
		out, err = rbac.HolderCounts(ctx, tx)
		return err
	})
	return out, err
}

// ErrTooManyHolders refuses NotifyRole for a role of more than
// MaxRoleRecipients holders.
var ErrTooManyHolders = userd.Errorf(userd.KindConflict, "too_many_holders",
	fmt.Sprintf("The role has more than %d holders: send to them from the application instead.", MaxRoleRecipients))

// NotifyRole sends a notification to every holder of the named role, as
// Notify does, MaxRecipients at a time (each batch its own transaction and
// audit entry), and returns how many got it: when a batch fails, those
// before it got it. It returns rbac.ErrRoleNotFound, ErrTooManyHolders
// (and then sends nothing), and what Notify returns.
func (s *Service) NotifyRole(ctx context.Context, who Who, role string, n notify.New) (int, error) {
	if err := userd.Invalid(n.Check()); err != nil {
		return 0, err
	}
	counts, err := s.RoleHolderCounts(ctx)
	if err != nil {
		return 0, err
	}
	if counts[role] > MaxRoleRecipients {
		return 0, ErrTooManyHolders
	}
	sent, before := 0, ""
	for {
		var ids []string
		err := s.view(ctx, func(tx *sqldb.Tx) (err error) {
			ids, err = rbac.Holders(ctx, tx, role, before, MaxRecipients)
			return err
		})
		if err != nil || len(ids) == 0 {
			return sent, err
		}
		made, err := s.Notify(ctx, who, ids, n)
		if err != nil {
			return sent, err
		}
		sent += len(made)
		if len(ids) < MaxRecipients {
			return sent, nil
		}
		before = ids[len(ids)-1]
	}
}
