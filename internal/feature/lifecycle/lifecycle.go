// Package lifecycle ends a user: the one way every caller (the user, an
// administrator, the CLI) deletes one, so that every rule of deletion holds
// whoever asks; and it reads a user's export, everything userd holds about
// them (export.go).
package lifecycle

import (
	"context"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/layout"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/newsletter"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/feature/referral"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/feature/survey"
	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/feature/vault"
	"github.com/userd/userd/internal/platform/sqldb"
)

// DeleteUser removes a user in the caller's transaction, which must be
// allowed to cross users: it locks the user's row (no follow of them can
// commit meanwhile), takes them out of the follow graph and their votes and
// favorites out of the items' counters so that every counter stays exact,
// deletes the organisations where they were the only member and passes on
// those where they were the only owner (organization.Forget), deletes the
// providers' events about their customers (billing.Forget) and the
// newsletter subscription of their verified email (newsletter.Forget), and
// deletes the row; the database cascades to and nulls what seed 001's
// Cascade Delete Summary says. It returns account.ErrNotFound.
func DeleteUser(ctx context.Context, tx *sqldb.Tx, id string) error {
	ok, err := tx.LockRow(ctx, "users", "id", id)
	if err != nil {
		return err
	}
	if !ok {
		return account.ErrNotFound
	}
	if err := social.Forget(ctx, tx, id); err != nil {
		return err
	}
	if err := engagement.Forget(ctx, tx, id); err != nil {
		return err
	}
	if err := organization.Forget(ctx, tx, id); err != nil {
		return err
	}
	if err := billing.Forget(ctx, tx, id); err != nil {
		return err
	}
	if err := newsletter.Forget(ctx, tx, id); err != nil {
		return err
	}
	return account.Delete(ctx, tx, id)
}

// Service ends users who ask for it, and gives them everything userd holds
// about them.
type Service struct {
	db   *sqldb.DB
	deps Deps
}

// Deps are what a Service asks of other features.
type Deps struct {
	// Recent is the rule a deletion must pass (auth.Service.RequireRecent),
	// which returns the error to answer with.
	Recent func(userd.Actor) error
	// Auth lists the sessions of an export.
	Auth *auth.Service
	Features
}

// Features are the services whose rows an export reads.
type Features struct {
	Accounts         *account.Service
	Layouts          *layout.Service
	Referrals        *referral.Service
	Social           *social.Service
	Notifications    *notify.Service
	Synchronizations *synchronization.Service
	Vault            *vault.Service
	Engagement       *engagement.Service
	Organizations    *organization.Service
	Billing          *billing.Service
	Moderation       *moderation.Service
	Collections      *collection.Service
	// Newsletter finds the subscription of the user's verified email; nil
	// leaves it out of the export.
	Newsletter *newsletter.Service
	Surveys    *survey.Service
	// OpenID lists the consents the user gave applications; nil (the
	// provider off) leaves them out of the export.
	OpenID *openid.Service
}

// NewService returns a Service over db and the features of d.
func NewService(db *sqldb.DB, d Deps) *Service {
	return &Service{db: db, deps: d}
}

// DeleteSelf deletes the actor and everything they own (see DeleteUser),
// for an actor who signed in recently. Their own trail goes with them (seed
// 001); an entry that belongs to no user records that they went. It
// returns the recent rule's error and account.ErrNotFound.
func (s *Service) DeleteSelf(ctx context.Context, a userd.Actor, c userd.Client) error {
	if err := s.deps.Recent(a); err != nil {
		return err
	}
	// System: deleting a user changes other users' follow counters.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := DeleteUser(ctx, tx, a.UserID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: audit.UserDeleted, TargetType: "user", TargetID: a.UserID, IP: c.IP, UserAgent: c.UserAgent})
	})
}
