package newsletter

import (
	"context"
	"errors"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// ExportBatch is how many subscribers Export reads at a time, so that a
// long list never sits in memory.
const ExportBatch = 500

// List returns up to limit subscriptions, newest first, after the one with
// id before ("" for the first page), with the given status (any when ""),
// each with its unsubscribe URL. It returns ErrReadForbidden and a
// validation error for an unknown status.
func (s *Service) List(ctx context.Context, a userd.Actor, status, before string, limit int) (subs []Subscription, err error) {
	if !a.Grants.Has(ReadPermission) {
		return nil, ErrReadForbidden
	}
	if err := validStatus(status); err != nil {
		return nil, err
	}
	where, args := `id < $1`, []any{sqldb.Before(before), limit}
	if status != "" {
		where, args = `status = $3 AND id < $1`, append(args, status)
	}
	// System: a subscription belongs to no user.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		subs, err = sqldb.All(ctx, tx, scan, `SELECT `+columns+` FROM newsletter_subscriptions WHERE `+where+` ORDER BY id DESC LIMIT $2`, args...)
		if err != nil {
			return fmt.Errorf("list newsletter subscriptions: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.withURLs(subs)
}

// withURLs returns subs, each with its unsubscribe URL.
func (s *Service) withURLs(subs []Subscription) ([]Subscription, error) {
	for i := range subs {
		var err error
		if subs[i], err = s.withURL(subs[i]); err != nil {
			return nil, err
		}
	}
	return subs, nil
}

// Export gives put every confirmed subscription, each with its unsubscribe
// URL, oldest first, in batches of at most ExportBatch, each read in a
// transaction of its own; audit.NewsletterExported is recorded (the actor
// as actor, in no user's trail) before the first. It stops at put's first
// error and returns it. It returns ErrReadForbidden.
func (s *Service) Export(ctx context.Context, a userd.Actor, c userd.Client, put func([]Subscription) error) error {
	if !a.Grants.Has(ReadPermission) {
		return ErrReadForbidden
	}
	// System: the trail's entry belongs to no user.
	err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		return audit.Record(ctx, tx, audit.Event{ActorUserID: a.UserID, APIKeyID: a.APIKeyID, Action: audit.NewsletterExported,
			TargetType: "newsletter_subscription", IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"status": Confirmed}})
	})
	if err != nil {
		return fmt.Errorf("export newsletter subscriptions: %w", err)
	}
	after := account.FirstID // before every id
	for {
		var batch []Subscription
		// System: a subscription belongs to no user.
		err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
			batch, err = sqldb.All(ctx, tx, scan, `SELECT `+columns+` FROM newsletter_subscriptions WHERE status = $1 AND id > $2 ORDER BY id LIMIT $3`,
				Confirmed, after, ExportBatch)
			return err
		})
		if err != nil {
			return fmt.Errorf("export newsletter subscriptions: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		if batch, err = s.withURLs(batch); err != nil {
			return err
		}
		if err := put(batch); err != nil {
			return err
		}
		if len(batch) < ExportBatch {
			return nil
		}
		after = batch[len(batch)-1].ID
	}
}

// Delete erases a subscription, whatever its status, and records
// audit.NewsletterSubscriberDeleted (the actor as actor, in no user's
// trail; the entry names the row's id, not its email). Its tokens stop
// working. It returns ErrWriteForbidden and ErrNotFound.
func (s *Service) Delete(ctx context.Context, a userd.Actor, c userd.Client, id string) error {
	if !a.Grants.Has(WritePermission) {
		return ErrWriteForbidden
	}
	id, ok := userd.ParseID(id)
	if !ok {
		return ErrNotFound
	}
	// System: a subscription belongs to no user.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := tx.ExecOne(ctx, ErrNotFound, `DELETE FROM newsletter_subscriptions WHERE id = $1`, id); err != nil {
			return err
		}
		return record(ctx, tx, a, c, audit.NewsletterSubscriberDeleted, id)
	})
}

// Find returns the subscription of email (in its stored form), without its
// unsubscribe URL, for a user's export of their own verified address; nil
// when there is none.
func (s *Service) Find(ctx context.Context, email string) (*Subscription, error) {
	var sub Subscription
	// System: a subscription belongs to no user; the caller checked that
	// the address is the user's own.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		sub, err = sqldb.One(ctx, tx, ErrNotFound, "find newsletter subscription", scan,
			`SELECT `+columns+` FROM newsletter_subscriptions WHERE email = $1`, email)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &sub, nil
}

// Forget deletes, in the caller's transaction (which must cross users), the
// subscription of the user's email when it is verified: lifecycle calls it
// as it deletes the user. An unverified email proves nothing: deleting an
// account made with someone else's address leaves their subscription.
func Forget(ctx context.Context, tx *sqldb.Tx, userID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM newsletter_subscriptions
		WHERE email = (SELECT email FROM users WHERE id = $1 AND email_verified_at IS NOT NULL)`, userID)
	if err != nil {
		return fmt.Errorf("forget newsletter subscription: %w", err)
	}
	return nil
}
