package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/feature/referral"
	"github.com/userd/userd/internal/feature/social"
	"github.com/userd/userd/internal/feature/survey"
	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/feature/vault"
)

// exportBatch is how many rows an export reads at a time.
const exportBatch = 500

// export serves GET /v1/me/export: everything userd holds about the caller,
// as one JSON document written as it is read, in batches, so that a large
// account never sits in memory. Secrets and tokens are left out.
func (s *Server) export(ctx context.Context, _ *struct{}) (*huma.StreamResponse, error) {
	a := userd.ActorFrom(ctx)
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		_, w := humago.Unwrap(hctx)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="userd-export.json"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if err := s.writeExport(ctx, w, a); err != nil {
			s.log.ErrorContext(ctx, "export", "err", err)
		}
	}}, nil
}

// exportWriter writes an export as lifecycle.Export reads it: one JSON
// object whose lists are written a batch at a time.
type exportWriter struct {
	s    *Server
	w    io.Writer
	a    userd.Actor
	enc  *json.Encoder
	open bool // a section's list is open
	rows int  // rows of the open list so far
}

func (s *Server) writeExport(ctx context.Context, w io.Writer, a userd.Actor) error {
	x := &exportWriter{s: s, w: w, a: a, enc: json.NewEncoder(w)}
	if err := s.lifecycle.Export(ctx, a, x); err != nil {
		return err
	}
	end := "\n}\n"
	if x.open {
		end = "]" + end
	}
	_, err := io.WriteString(w, end)
	return err
}

// Head writes the object's fields that are not lists, and leaves it open.
func (x *exportWriter) Head(h lifecycle.Head) error {
	var profile *ClientProfile // null when they have none
	if h.ClientProfile != nil {
		profile = &clientProfileOf(*h.ClientProfile).Body
	}
	var subscription *NewsletterSubscriber // null when none
	if h.Newsletter != nil {
		sub := newsletterSubscriberOf(*h.Newsletter)
		subscription = &sub
	}
	b, err := json.Marshal(map[string]any{
		"exported_at": h.At, "user": userOf(h.User), "roles": x.a.Grants.Roles, "permissions": x.a.Grants.Permissions,
		"dashboard_layout": layoutOf(h.Layout).Body, "referral": map[string]any{"slug": h.Referral.Slug, "referred_count": h.Referral.ReferredCount},
		"followers_count": h.Followers, "followings_count": h.Followings, "client_profile": profile,
		"newsletter_subscription": subscription,
	})
	if err != nil {
		return err
	}
	_, err = x.w.Write(b[:len(b)-1])
	return err
}

// Section closes the open list and opens the next.
func (x *exportWriter) Section(name string) error {
	sep := ","
	if x.open {
		sep = "],"
	}
	x.open, x.rows = true, 0
	_, err := fmt.Fprintf(x.w, "%s\n%q:[", sep, name)
	return err
}

// put writes rows of the open list in their API shapes.
func put[T, J any](x *exportWriter, rows []T, shape func(T) J) error {
	for _, r := range rows {
		if x.rows > 0 {
			if _, err := io.WriteString(x.w, ","); err != nil {
				return err
			}
		}
		if err := x.enc.Encode(shape(r)); err != nil {
			return err
		}
		x.rows++
	}
	return nil
}

// Sessions writes sessions as GET /v1/me/sessions lists them.
func (x *exportWriter) Sessions(r []auth.Session) error {
	return put(x, r, func(se auth.Session) SessionInfo { return sessionInfo(se, x.a) })
}

// Notifications writes notifications as their list shows them.
func (x *exportWriter) Notifications(r []notify.Notification) error {
	return put(x, r, notificationOf)
}

// Follows writes follow edges as the follow lists show them.
func (x *exportWriter) Follows(r []social.Edge) error { return put(x, r, x.s.edgeOf) }

// Referred writes the users a referral brought.
func (x *exportWriter) Referred(r []referral.Referred) error {
	return put(x, r, x.s.referredOf)
}

// Synchronizations writes synchronizations without their tokens.
func (x *exportWriter) Synchronizations(r []synchronization.Sync) error {
	return put(x, r, x.s.syncOf)
}

// CredentialAccounts writes vault accounts without their secrets.
func (x *exportWriter) CredentialAccounts(r []vault.Account) error { return put(x, r, accountOf) }

// Comments writes the user's comments as GET /v1/items/{item}/comments
// lists them.
func (x *exportWriter) Comments(r []engagement.Comment) error { return put(x, r, commentOf) }

// exportVote is one of the user's votes in their export.
type exportVote struct {
	Item      string    `json:"item"`
	Value     int       `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Votes writes the user's votes.
func (x *exportWriter) Votes(r []engagement.MyVote) error {
	return put(x, r, func(v engagement.MyVote) exportVote { return exportVote{v.Item, v.Value, v.At} })
}

// Favorites writes the user's favorites as GET /v1/me/favorites lists them.
func (x *exportWriter) Favorites(r []engagement.Fav) error {
	return put(x, r, func(f engagement.Fav) FavoriteItem { return FavoriteItem{Item: f.Item, FavoritedAt: f.At} })
}

// Organizations writes the user's memberships as GET /v1/orgs lists them.
func (x *exportWriter) Organizations(r []organization.Org) error { return put(x, r, orgOf) }

// Subscriptions writes the user's subscriptions with their history, as
// GET /v1/me/subscriptions lists them.
func (x *exportWriter) Subscriptions(r []billing.Subscription) error {
	return put(x, r, subscriptionOf)
}

// PaymentAccount is a customer the user is at a payment provider.
type PaymentAccount struct {
	Provider   string    `json:"provider"`
	CustomerID string    `json:"customer_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// PaymentAccounts writes the user's payment accounts.
func (x *exportWriter) PaymentAccounts(r []billing.Account) error {
	return put(x, r, func(a billing.Account) PaymentAccount { return PaymentAccount{a.Provider, a.Customer, a.CreatedAt} })
}

// Reports writes the reports the user filed, as GET /v1/me/reports lists
// them.
func (x *exportWriter) Reports(r []moderation.Report) error {
	return put(x, r, func(r moderation.Report) ContentReport { return reportOf(r, false) })
}

// ModerationHistory writes the moderation of the user, as GET
// /v1/me/moderation-history lists it.
func (x *exportWriter) ModerationHistory(r []moderation.Entry) error { return put(x, r, entryOf) }

// ExportedRecord is a record of a collection in an export.
type ExportedRecord struct {
	Collection string `json:"collection"`
	CollectionRecord
}

// CollectionRecords writes the user's records of every collection.
func (x *exportWriter) CollectionRecords(r []collection.Record) error {
	return put(x, r, func(c collection.Record) ExportedRecord { return ExportedRecord{c.Collection, recordOf(c)} })
}

// SurveyResponses writes the user's survey responses, each with its
// survey's slug.
func (x *exportWriter) SurveyResponses(r []survey.Response) error { return put(x, r, surveyResponseOf) }

// Consents writes the consents the user gave applications, as GET
// /v1/me/consents lists them.
func (x *exportWriter) Consents(r []openid.Consent) error { return put(x, r, consentOf) }

// Activity writes the user's audit trail.
func (x *exportWriter) Activity(r []audit.Entry) error { return put(x, r, activityOf) }
