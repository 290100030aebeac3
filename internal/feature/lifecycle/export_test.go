package lifecycle_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/layout"
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
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// newExporter returns a lifecycle.Service over db with every feature an
// export reads, and the auth.Service that signs users up.
func newExporter(t *testing.T, db *sqldb.DB) (*lifecycle.Service, *auth.Service) {
	t.Helper()
	ring, a := authtest.Keyring, authtest.New(t, db, authtest.Options{})
	f := lifecycle.Features{Accounts: account.NewService(db), Layouts: layout.NewService(db), Referrals: referral.NewService(db),
		Social: social.NewService(db), Notifications: notify.NewService(db), Synchronizations: synchronization.NewService(db, ring),
		Vault: vault.NewService(db, ring, a.RequireRecent), Engagement: engagement.NewService(db, engagement.Deps{}),
		Organizations: organization.NewService(db, organization.Deps{}),
		Billing:       billing.NewService(db, billing.Deps{Keyring: ring, Grace: billing.DefaultGrace}),
		Moderation:    moderation.NewService(db, moderation.Deps{}),
		Collections:   collection.NewService(db, collection.Deps{}),
		Surveys:       survey.NewService(db, survey.Deps{})}
	return lifecycle.NewService(db, lifecycle.Deps{Recent: a.RequireRecent, Auth: a, Features: f}), a
}

// recorder is a lifecycle.Sink that keeps what it is given.
type recorder struct {
	head     lifecycle.Head
	sections []string
	rows     map[string][]string // ids by section
	batches  map[string]int
}

func (r *recorder) Head(h lifecycle.Head) error { r.head = h; return nil }
func (r *recorder) Section(name string) error {
	r.sections = append(r.sections, name)
	return nil
}

func keep[T any](r *recorder, rows []T, id func(T) string) error {
	name := r.sections[len(r.sections)-1]
	r.batches[name]++
	for _, row := range rows {
		r.rows[name] = append(r.rows[name], id(row))
	}
	return nil
}

func (r *recorder) Sessions(v []auth.Session) error {
	return keep(r, v, func(x auth.Session) string { return x.ID })
}
func (r *recorder) Notifications(v []notify.Notification) error {
	return keep(r, v, func(x notify.Notification) string { return x.ID })
}
func (r *recorder) Follows(v []social.Edge) error {
	return keep(r, v, func(x social.Edge) string { return x.UserID })
}
func (r *recorder) Referred(v []referral.Referred) error {
	return keep(r, v, func(x referral.Referred) string { return x.UserID })
}
func (r *recorder) Synchronizations(v []synchronization.Sync) error {
	return keep(r, v, func(x synchronization.Sync) string { return x.ID })
}
func (r *recorder) CredentialAccounts(v []vault.Account) error {
	return keep(r, v, func(x vault.Account) string { return x.Name })
}
func (r *recorder) Comments(v []engagement.Comment) error {
	return keep(r, v, func(x engagement.Comment) string { return x.Body })
}
func (r *recorder) Votes(v []engagement.MyVote) error {
	return keep(r, v, func(x engagement.MyVote) string { return x.Item })
}
func (r *recorder) Favorites(v []engagement.Fav) error {
	return keep(r, v, func(x engagement.Fav) string { return x.Item })
}
func (r *recorder) Organizations(v []organization.Org) error {
	return keep(r, v, func(x organization.Org) string { return x.Slug + " " + x.Role })
}
func (r *recorder) Subscriptions(v []billing.Subscription) error {
	return keep(r, v, func(x billing.Subscription) string { return x.Plan + ":" + x.Status + ":" + x.History[0].Status })
}
func (r *recorder) PaymentAccounts(v []billing.Account) error {
	return keep(r, v, func(x billing.Account) string { return x.Provider + ":" + x.Customer })
}
func (r *recorder) Reports(v []moderation.Report) error {
	return keep(r, v, func(x moderation.Report) string { return x.ContentType + ":" + x.Reason })
}
func (r *recorder) ModerationHistory(v []moderation.Entry) error {
	return keep(r, v, func(x moderation.Entry) string { return x.Action + ":" + x.Reason })
}
func (r *recorder) CollectionRecords(v []collection.Record) error {
	return keep(r, v, func(x collection.Record) string {
		return x.Collection + ":" + strings.ReplaceAll(string(x.Data), " ", "")
	})
}
func (r *recorder) SurveyResponses(v []survey.Response) error {
	return keep(r, v, func(x survey.Response) string { return x.SurveySlug + ":" + x.Answers["q"].(string) })
}
func (r *recorder) Consents(v []openid.Consent) error {
	return keep(r, v, func(x openid.Consent) string { return x.ClientID })
}
func (r *recorder) Activity(v []audit.Entry) error {
	return keep(r, v, func(x audit.Entry) string { return x.Action })
}

// TestExport: an export reads every section, in the document's order, each
// one whole, without repeats and in batches of lifecycle.ExportBatch, and
// only the user's own rows.
func TestExport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		life, authSvc := newExporter(t, db)
		signup := func(email string) userd.Actor {
			l, err := authSvc.Signup(ctx, auth.Signup{Identity: account.Identity{Email: email}, Password: "correct horse battery"}, auth.Client{IP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			return userd.Actor{UserID: l.User.ID, SessionID: l.Session.ID}
		}
		ann, bob := signup("ann@example.com"), signup("bob@example.com")
		if _, err := authSvc.SignIn(ctx, ann.UserID, auth.Client{}, "password"); err != nil {
			t.Fatal(err)
		}
		const notes = lifecycle.ExportBatch + 3
		err := db.Tx(sqldb.AsUser(ctx, ann.UserID), func(tx *sqldb.Tx) error {
			ns := make([]notify.New, notes)
			for i := range ns {
				ns[i] = notify.New{Type: "info", Title: "note"}
			}
			return notify.InsertBatch(ctx, tx, ann.UserID, ns)
		})
		if err != nil {
			t.Fatal(err)
		}
		soc := social.NewService(db)
		for _, f := range [][2]userd.Actor{{bob, ann}, {ann, bob}} {
			if err := soc.SetFollow(ctx, f[0], f[1].UserID, true); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := vault.NewService(db, nil, authSvc.RequireRecent).CreateAccount(ctx, ann, "binance"); err != nil {
			t.Fatal(err)
		}
		eng := engagement.NewService(db, engagement.Deps{})
		for _, v := range []struct {
			who  userd.Actor
			item string
		}{{ann, "first"}, {ann, "second"}, {bob, "bobs"}} {
			if err := eng.Vote(ctx, v.who, userd.Client{}, v.item, 1); err != nil {
				t.Fatal(err)
			}
			if err := eng.SetFavorite(ctx, v.who, userd.Client{}, v.item, true); err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Comment(ctx, v.who, userd.Client{}, v.item, engagement.CommentInput{Body: "on " + v.item}); err != nil {
				t.Fatal(err)
			}
		}
		orgs := organization.NewService(db, organization.Deps{})
		for _, o := range []struct {
			who  userd.Actor
			name string
		}{{ann, "Ann Co"}, {bob, "Bob Co"}} {
			if _, err := orgs.Create(ctx, o.who, userd.Client{}, organization.New{Kind: organization.Business, Name: o.name}); err != nil {
				t.Fatal(err)
			}
		}

		bill := billing.NewService(db, billing.Deps{})
		billingAdmin := userd.Actor{Grants: userd.Grants{Admin: true}} // covers the users it grants to (rbac.CheckUser)
		for _, who := range []userd.Actor{ann, bob} {
			if _, err := bill.Grant(ctx, billingAdmin, userd.Client{}, billing.Grant{UserID: who.UserID, Plan: "comp", EndsAt: db.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SQL().Exec(`INSERT INTO payment_accounts (id, user_id, provider_id, customer_id, created_at) VALUES ($1, $2, $3, 'cus_ann', $4), ($5, $6, $3, 'cus_bob', $4)`,
			userd.NewID(db.Now()), ann.UserID, "00000000-0000-7000-8002-000000000001", db.Now(), userd.NewID(db.Now()), bob.UserID); err != nil {
			t.Fatal(err)
		}

		mod := moderation.NewService(db, moderation.Deps{})
		for _, rep := range []struct {
			by    userd.Actor
			about string
		}{{ann, bob.UserID}, {bob, ann.UserID}} {
			if _, err := mod.Report(ctx, rep.by, userd.Client{}, moderation.ReportInput{ContentType: "user", ContentID: rep.about, Reason: "spam"}); err != nil {
				t.Fatal(err)
			}
		}
		moderator := userd.Actor{Grants: userd.Grants{Admin: true}} // covers the users it acts on
		for _, who := range []userd.Actor{ann, bob} {
			if _, err := mod.Act(ctx, moderator, userd.Client{}, moderation.ActionInput{UserID: who.UserID, Action: "warn", Reason: "be kind"}); err != nil {
				t.Fatal(err)
			}
		}
		cols := collection.NewService(db, collection.Deps{})
		operator := userd.Actor{Grants: userd.Grants{Permissions: []string{collection.WritePermission}}}
		schema := map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "integer"}}}
		if _, err := cols.Apply(ctx, operator, userd.Client{}, map[string]collection.Declaration{"tags": {Owner: "user", Schema: schema}, "posts": {Owner: "user", Schema: schema}}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			who        userd.Actor
			name, data string
		}{{ann, "tags", `{"n":1}`}, {ann, "posts", `{"n":2}`}, {bob, "tags", `{"n":3}`}, {ann, "tags", `{"n":4}`}} {
			if _, err := cols.Create(ctx, c.who, "", c.name, []byte(c.data)); err != nil {
				t.Fatal(err)
			}
		}

		surveys := survey.NewService(db, survey.Deps{})
		surveyor := userd.Actor{Grants: userd.Grants{Permissions: []string{survey.WritePermission}}}
		for _, slug := range []string{"first", "second"} {
			n := survey.New{Slug: slug, Title: slug, Status: survey.Open, Questions: []survey.Question{{ID: "q", Type: survey.Text, Label: "Why?"}}}
			if _, err := surveys.Create(ctx, surveyor, userd.Client{}, n); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range []struct {
			who          userd.Actor
			slug, answer string
		}{{ann, "first", "a1"}, {bob, "first", "b1"}, {ann, "second", "a2"}} {
			if _, err := surveys.Respond(ctx, s.who, userd.Client{}, s.slug, nil, map[string]any{"q": s.answer}); err != nil {
				t.Fatal(err)
			}
		}

		r := &recorder{rows: map[string][]string{}, batches: map[string]int{}}
		if err := life.Export(ctx, ann, r); err != nil {
			t.Fatal(err)
		}
		want := []string{"sessions", "notifications", "following", "followers", "referred_users", "synchronizations", "credential_accounts", "comments", "votes", "favorites", "organizations",
			"subscriptions", "payment_accounts", "collection_records", "survey_responses", "reports", "moderation_history", "oauth_consents", "activity"}
		if !slices.Equal(r.sections, want) {
			t.Fatalf("sections = %v, want %v", r.sections, want)
		}
		if r.head.ClientProfile == nil || r.head.ClientProfile.UserID != ann.UserID {
			t.Errorf("head client profile = %+v", r.head.ClientProfile)
		}
		if r.head.User.ID != ann.UserID || r.head.Followers != 1 || r.head.Followings != 1 || r.head.At.IsZero() {
			t.Errorf("head = user %s, %d followers, %d followings, at %v", r.head.User.ID, r.head.Followers, r.head.Followings, r.head.At)
		}
		n := r.rows["notifications"]
		seen := map[string]bool{}
		for _, id := range n {
			seen[id] = true
		}
		if len(n) != notes+1 || len(seen) != notes+1 || r.batches["notifications"] != 2 { // and the warning's
			t.Errorf("notifications: %d rows, %d distinct, %d batches; want %d, %d, 2", len(n), len(seen), r.batches["notifications"], notes+1, notes+1)
		}
		checks := map[string][]string{
			"following": {bob.UserID}, "followers": {bob.UserID}, "credential_accounts": {"binance"},
			"referred_users": nil, "synchronizations": nil, "comments": {"on second", "on first"}, "votes": {"second", "first"}, "favorites": {"second", "first"},
			"organizations": {"ann-co owner"},
			"subscriptions": {"comp:active:active"}, "payment_accounts": {"stripe:cus_ann"},
			"reports": {"user:spam"}, "moderation_history": {"warn:be kind"},
			"collection_records": {`posts:{"n":2}`, `tags:{"n":1}`, `tags:{"n":4}`},
			"survey_responses":   {"second:a2", "first:a1"},
		}
		for name, rows := range checks {
			if !slices.Equal(r.rows[name], rows) {
				t.Errorf("%s = %v, want %v", name, r.rows[name], rows)
			}
		}
		if got := len(r.rows["sessions"]); got != 2 {
			t.Errorf("%d sessions, want ann's 2", got)
		}
		if !slices.Contains(r.rows["activity"], audit.Signup) || len(r.rows["activity"]) < 2 {
			t.Errorf("activity = %v, want ann's sign-up and log-in", r.rows["activity"])
		}
	})
}

// midway is a recorder that runs a write once it has the head: what the
// write adds must not reach the sections after it.
type midway struct {
	*recorder
	write func()
}

func (m midway) Head(h lifecycle.Head) error {
	m.write()
	return m.recorder.Head(h)
}

// TestExportOneSnapshot: a notification, a follow and a session added while
// an export is being written (after its head) are not in that export, and
// are in the next: the export is one state of the account.
func TestExportOneSnapshot(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		life, authSvc := newExporter(t, db)
		var ids []userd.Actor
		for _, email := range []string{"ann@example.com", "bob@example.com"} {
			l, err := authSvc.Signup(ctx, auth.Signup{Identity: account.Identity{Email: email}, Password: "correct horse battery"}, auth.Client{IP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, userd.Actor{UserID: l.User.ID, SessionID: l.Session.ID})
		}
		ann, bob := ids[0], ids[1]
		note := func() {
			err := db.Tx(sqldb.AsUser(ctx, ann.UserID), func(tx *sqldb.Tx) error {
				return notify.InsertBatch(ctx, tx, ann.UserID, []notify.New{{Type: "info", Title: "note"}})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		note()
		export := func(write func()) *recorder {
			r := &recorder{rows: map[string][]string{}, batches: map[string]int{}}
			if err := life.Export(ctx, ann, midway{r, write}); err != nil {
				t.Fatal(err)
			}
			return r
		}
		counts := func(r *recorder) [3]int {
			return [3]int{len(r.rows["notifications"]), len(r.rows["followers"]), len(r.rows["sessions"])}
		}
		during := export(func() {
			note()
			if err := social.NewService(db).SetFollow(ctx, bob, ann.UserID, true); err != nil {
				t.Fatal(err)
			}
			if _, err := authSvc.SignIn(ctx, ann.UserID, auth.Client{}, "password"); err != nil {
				t.Fatal(err)
			}
		})
		if got := counts(during); got != [3]int{1, 0, 1} {
			t.Errorf("notifications, followers, sessions of the export that saw writes midway = %v, want [1 0 1]", got)
		}
		if got := counts(export(func() {})); got != [3]int{2, 1, 2} {
			t.Errorf("the next export = %v, want [2 1 2]", got)
		}
	})
}
