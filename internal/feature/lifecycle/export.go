package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// ExportBatch is how many rows an export reads at a time, so that a large
// account never sits in memory.
const ExportBatch = 500

// Head is the first part of a user's export: the user and what they have
// one of.
type Head struct {
	At                    time.Time // when the export was read, by the database's clock
	User                  account.User
	Layout                layout.Layout
	Referral              referral.Referral // the zero Referral when they have none
	Followers, Followings int64
	ClientProfile         *engagement.Profile // nil when they have none
	// Newsletter is the newsletter subscription of the user's email, when
	// it is verified; nil when there is none.
	Newsletter *newsletter.Subscription
}

// Sink receives an export as it is read: the head, then each section's
// name followed by its rows in batches (none for an empty section), in the
// order of the document. It encodes; Export decides what is exported.
type Sink interface {
	Head(Head) error
	Section(name string) error
	Sessions([]auth.Session) error
	Notifications([]notify.Notification) error
	Follows([]social.Edge) error
	Referred([]referral.Referred) error
	Synchronizations([]synchronization.Sync) error
	CredentialAccounts([]vault.Account) error
	Comments([]engagement.Comment) error
	Votes([]engagement.MyVote) error
	Favorites([]engagement.Fav) error
	Organizations([]organization.Org) error
	Subscriptions([]billing.Subscription) error
	PaymentAccounts([]billing.Account) error
	Reports([]moderation.Report) error
	ModerationHistory([]moderation.Entry) error
	CollectionRecords([]collection.Record) error
	SurveyResponses([]survey.Response) error
	Consents([]openid.Consent) error
	Activity([]audit.Entry) error
}

// Export reads everything userd holds about the actor into sink, section by
// section and each section in batches of ExportBatch rows, all in one
// read-only transaction (see sqldb.DB.Snapshot). Secrets and
// tokens are not read: a vault account comes without its credentials'
// values, a synchronization without its token, a session without its
// tokens.
func (s *Service) Export(ctx context.Context, a userd.Actor, sink Sink) error {
	// The user's own rows, whoever asks; every section read in one
	// snapshot, so that the document is one state of the account however
	// long writing it takes.
	return s.db.Snapshot(sqldb.AsUser(ctx, a.UserID), func(ctx context.Context) error { return s.export(ctx, a, sink) })
}

// export is Export within its snapshot.
func (s *Service) export(ctx context.Context, a userd.Actor, sink Sink) error {
	h, err := s.head(ctx, a)
	if err != nil {
		return err
	}
	if err := sink.Head(h); err != nil {
		return err
	}
	me := a.UserID
	d := s.deps
	sections := []func() error{
		func() error {
			return each(sink, "sessions", func(c string) ([]auth.Session, error) { return d.Auth.Sessions(ctx, a, c, ExportBatch) },
				func(x auth.Session) string { return x.ID }, sink.Sessions)
		},
		func() error {
			return each(sink, "notifications", func(c string) ([]notify.Notification, error) {
				return d.Notifications.List(ctx, a, false, c, ExportBatch)
			},
				func(x notify.Notification) string { return x.ID }, sink.Notifications)
		},
		func() error {
			return each(sink, "following", func(c string) ([]social.Edge, error) { return d.Social.Page(ctx, social.Following, me, c, ExportBatch) },
				func(x social.Edge) string { return x.FollowID }, sink.Follows)
		},
		func() error {
			return each(sink, "followers", func(c string) ([]social.Edge, error) { return d.Social.Page(ctx, social.Followers, me, c, ExportBatch) },
				func(x social.Edge) string { return x.FollowID }, sink.Follows)
		},
		func() error {
			return each(sink, "referred_users", func(c string) ([]referral.Referred, error) { return d.Referrals.Referred(ctx, a, c, ExportBatch) },
				func(x referral.Referred) string { return x.ID }, sink.Referred)
		},
		func() error {
			return each(sink, "synchronizations", func(c string) ([]synchronization.Sync, error) { return d.Synchronizations.List(ctx, a, c, ExportBatch) },
				func(x synchronization.Sync) string { return x.ID }, sink.Synchronizations)
		},
		func() error {
			return each(sink, "credential_accounts", func(c string) ([]vault.Account, error) { return d.Vault.Accounts(ctx, a, c, ExportBatch) },
				func(x vault.Account) string { return x.ID }, sink.CredentialAccounts)
		},
		func() error {
			return each(sink, "comments", func(c string) ([]engagement.Comment, error) { return d.Engagement.MyComments(ctx, a, c, ExportBatch) },
				func(x engagement.Comment) string { return x.ID }, sink.Comments)
		},
		func() error {
			return each(sink, "votes", func(c string) ([]engagement.MyVote, error) { return d.Engagement.Votes(ctx, a, c, ExportBatch) },
				func(x engagement.MyVote) string { return x.ID }, sink.Votes)
		},
		func() error {
			return each(sink, "favorites", func(c string) ([]engagement.Fav, error) { return d.Engagement.Favorites(ctx, a, c, ExportBatch) },
				func(x engagement.Fav) string { return x.ID }, sink.Favorites)
		},
		func() error {
			return each(sink, "organizations", func(c string) ([]organization.Org, error) { return d.Organizations.Mine(ctx, a, c, ExportBatch) },
				func(x organization.Org) string { return x.ID }, sink.Organizations)
		},
		func() error {
			// A user has few subscriptions and payment accounts.
			return whole(sink, "subscriptions", func() ([]billing.Subscription, error) { return d.Billing.MineAll(ctx, a) }, sink.Subscriptions)
		},
		func() error {
			return whole(sink, "payment_accounts", func() ([]billing.Account, error) { return d.Billing.Accounts(ctx, a) }, sink.PaymentAccounts)
		},
		func() error {
			return each(sink, "collection_records", func(c string) ([]collection.Record, error) { return d.Collections.Mine(ctx, a, c, ExportBatch) },
				func(x collection.Record) string { return x.Collection + "/" + x.ID }, sink.CollectionRecords)
		},
		func() error {
			return each(sink, "survey_responses", func(c string) ([]survey.Response, error) { return d.Surveys.Mine(ctx, a, c, ExportBatch) },
				func(x survey.Response) string { return x.ID }, sink.SurveyResponses)
		},
		func() error {
			return each(sink, "reports", func(c string) ([]moderation.Report, error) { return d.Moderation.Mine(ctx, a, c, ExportBatch) },
				func(x moderation.Report) string { return x.ID }, sink.Reports)
		},
		func() error {
			return each(sink, "moderation_history", func(c string) ([]moderation.Entry, error) {
				return d.Moderation.History(ctx, me, true, c, ExportBatch)
			}, func(x moderation.Entry) string { return x.ID }, sink.ModerationHistory)
		},
		func() error {
			// A user consents to few applications.
			return whole(sink, "oauth_consents", func() ([]openid.Consent, error) {
				if d.OpenID == nil {
					return nil, nil
				}
				return d.OpenID.Consents(ctx, a)
			}, sink.Consents)
		},
		func() error {
			return each(sink, "activity", func(c string) ([]audit.Entry, error) { return audit.ListOwn(ctx, s.db, a, c, ExportBatch) },
				func(x audit.Entry) string { return x.ID }, sink.Activity)
		},
	}
	for _, section := range sections {
		if err := section(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return nil
}

// head reads the export's head.
func (s *Service) head(ctx context.Context, a userd.Actor) (h Head, err error) {
	h.At = s.db.Now()
	if h.User, err = s.deps.Accounts.Self(ctx, a); err != nil {
		return h, fmt.Errorf("export user: %w", err)
	}
	if h.Layout, err = s.deps.Layouts.Mine(ctx, a); err != nil {
		return h, fmt.Errorf("export layout: %w", err)
	}
	if h.Referral, _, err = s.deps.Referrals.Find(ctx, a); err != nil {
		return h, fmt.Errorf("export referral: %w", err)
	}
	// Anyone's view: the counts, without asking whether they follow themself.
	p, err := s.deps.Social.Profile(ctx, userd.Actor{}, a.UserID)
	if err != nil {
		return h, fmt.Errorf("export follow counts: %w", err)
	}
	h.Followers, h.Followings = p.Followers, p.Followings
	cp, err := s.deps.Engagement.Profile(ctx, a)
	switch {
	case err == nil:
		h.ClientProfile = &cp
	case !errors.Is(err, engagement.ErrProfileNotFound):
		return h, fmt.Errorf("export client profile: %w", err)
	}
	if u := h.User; u.Email != nil && u.EmailVerifiedAt != nil && s.deps.Newsletter != nil {
		if h.Newsletter, err = s.deps.Newsletter.Find(ctx, *u.Email); err != nil {
			return h, fmt.Errorf("export newsletter subscription: %w", err)
		}
	}
	return h, nil
}

// each opens a section of sink and puts its rows in batches: read returns
// the rows after a cursor ("" for the first), and a batch shorter than
// ExportBatch is the last; id makes the next cursor from a batch's last row.
func each[T any](sink Sink, name string, read func(cursor string) ([]T, error), id func(T) string, put func([]T) error) error {
	if err := sink.Section(name); err != nil {
		return err
	}
	cursor := ""
	for {
		rows, err := read(cursor)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(rows) > 0 {
			if err := put(rows); err != nil {
				return err
			}
		}
		if len(rows) < ExportBatch {
			return nil
		}
		cursor = id(rows[len(rows)-1])
	}
}

// whole opens a section of sink whose rows are few enough to read at once:
// the first read is the whole section.
func whole[T any](sink Sink, name string, read func() ([]T, error), put func([]T) error) error {
	return each(sink, name, func(cursor string) ([]T, error) {
		if cursor != "" {
			return nil, nil
		}
		return read()
	}, func(T) string { return "all" }, put)
}
