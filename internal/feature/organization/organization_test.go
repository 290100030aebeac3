package organization_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func ctx() context.Context    { return context.Background() }
func none() userd.Client      { return userd.Client{} }
func is(err, want error) bool { return errors.Is(err, want) }
func business(name string) organization.New {
	return organization.New{Kind: organization.Business, Name: name}
}

// noon is when every test's clock starts.
var noon = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// outbox keeps the mail a Service sends.
type outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

// queue keeps m once tx commits, as the mail queue sends it.
func (o *outbox) queue(_ context.Context, tx *sqldb.Tx, m mail.Message) error {
	tx.AfterCommit(func() { o.mu.Lock(); o.sent = append(o.sent, m); o.mu.Unlock() })
	return nil
}

var tokenOf = regexp.MustCompile(`https://userd\.test/accept-invitation\?token=(udi_[A-Za-z0-9_-]+)\n`)

// last returns the token of the latest mail, checking its link.
func (o *outbox) last(t *testing.T, to string) string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.sent) == 0 {
		t.Fatal("no mail sent")
	}
	m := o.sent[len(o.sent)-1]
	got := tokenOf.FindStringSubmatch(m.Text)
	if m.To != to || got == nil {
		t.Fatalf("mail to %s: %q", m.To, m.Text)
	}
	return got[1]
}

func newService(db *sqldb.DB, max int) (*organization.Service, *outbox) {
	box := &outbox{}
	return organization.NewService(db, organization.Deps{MaxPerUser: max, PublicURL: "https://userd.test/", Mail: box.queue,
		Limiter: ratelimit.New(db, true)}), box
}

// verified makes a user whose email is verified.
func verified(t *testing.T, db *sqldb.DB, email string) userd.Actor {
	t.Helper()
	a := dbtest.User(t, db, email)
	if _, err := db.SQL().Exec(`UPDATE users SET email_verified_at = $1 WHERE id = $2`, noon, a.UserID); err != nil {
		t.Fatal(err)
	}
	return a
}

// join makes u a member of org with role, as its owner invites and u
// accepts.
func join(t *testing.T, s *organization.Service, box *outbox, owner, u userd.Actor, email, org, role string) {
	t.Helper()
	if _, err := s.Invite(ctx(), owner, none(), org, email, role); err != nil {
		t.Fatalf("invite %s: %v", email, err)
	}
	if _, err := s.Accept(ctx(), u, none(), box.last(t, email)); err != nil {
		t.Fatalf("accept %s: %v", email, err)
	}
}

func create(t *testing.T, s *organization.Service, a userd.Actor, n organization.New) organization.Org {
	t.Helper()
	o, err := s.Create(ctx(), a, none(), n)
	if err != nil {
		t.Fatalf("create %+v: %v", n, err)
	}
	return o
}

// TestCreateAndRules: the creator owns the organisation; slugs are derived,
// validated and unique; a team belongs to a business its creator
// administers; each role may do what Rules says and no more; a non-member
// gets ErrNotFound for everything; deleting a business takes its teams,
// each audited.
func TestCreateAndRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 0)
		ann, bob, cat := verified(t, db, "ann@example.com"), verified(t, db, "bob@example.com"), verified(t, db, "cat@example.com")
		acme := create(t, s, ann, organization.New{Kind: organization.Business, Name: "Acme, Inc.", Metadata: map[string]any{"tier": "gold"}})
		if acme.Slug != "acme-inc" || acme.Role != organization.RoleOwner || acme.CreatedBy != ann.UserID || acme.Metadata["tier"] != "gold" || acme.ParentID != "" {
			t.Fatalf("created %+v", acme)
		}
		for _, tc := range []struct {
			name string
			n    organization.New
			want string // the code of the error
		}{
			{"slug taken", business("Acme Inc"), "slug_taken"},
			{"bad slug", organization.New{Kind: organization.Business, Name: "X", Slug: "-x-"}, "validation_failed"},
			{"no name", organization.New{Kind: organization.Team, Slug: "nameless"}, "validation_failed"},
			{"bad kind", organization.New{Kind: "club", Name: "Club"}, "validation_failed"},
			{"business with a parent", organization.New{Kind: organization.Business, Name: "Sub", ParentID: acme.ID}, "validation_failed"},
			{"parent of a stranger", organization.New{Kind: organization.Team, Name: "Sub", ParentID: acme.ID}, "organization_not_found"},
		} {
			who := ann
			if tc.name == "parent of a stranger" {
				who = bob
			}
			_, err := s.Create(ctx(), who, none(), tc.n)
			var e *userd.Error
			if !errors.As(err, &e) || e.Code != tc.want {
				t.Errorf("%s: %v; want %s", tc.name, err, tc.want)
			}
		}
		team := create(t, s, ann, organization.New{Kind: organization.Team, Name: "Road Runners", ParentID: acme.ID})
		if team.ParentID != acme.ID || team.Slug != "road-runners" {
			t.Fatalf("team %+v", team)
		}
		if _, err := s.Create(ctx(), ann, none(), organization.New{Kind: organization.Team, Name: "Sub team", ParentID: team.ID}); err == nil {
			t.Fatal("a team of a team was created")
		}
		join(t, s, box, ann, bob, "bob@example.com", acme.ID, organization.RoleAdmin)
		join(t, s, box, ann, cat, "cat@example.com", acme.ID, organization.RoleMember)

		name := "Acme"
		if _, err := s.Update(ctx(), cat, none(), acme.ID, organization.Profile{Name: &name}); !is(err, organization.ErrForbidden) {
			t.Errorf("a member renames: %v", err)
		}
		if _, err := s.Create(ctx(), cat, none(), organization.New{Kind: organization.Team, Name: "Cats", ParentID: acme.ID}); !is(err, organization.ErrForbidden) {
			t.Errorf("a member makes a team of the business: %v", err)
		}
		if o, err := s.Update(ctx(), bob, none(), acme.ID, organization.Profile{Name: &name}); err != nil || o.Name != "Acme" || o.Slug != "acme-inc" || o.Role != organization.RoleAdmin {
			t.Errorf("an admin renames: %+v, %v", o, err)
		}
		if err := s.Delete(ctx(), bob, none(), acme.ID); !is(err, organization.ErrForbidden) {
			t.Errorf("an admin deletes: %v", err)
		}
		if _, err := s.SetRole(ctx(), bob, none(), acme.ID, ann.UserID, organization.RoleMember); !is(err, organization.ErrForbidden) {
			t.Errorf("an admin demotes the owner: %v", err)
		}
		if _, err := s.SetRole(ctx(), bob, none(), acme.ID, cat.UserID, organization.RoleOwner); !is(err, organization.ErrForbidden) {
			t.Errorf("an admin makes an owner: %v", err)
		}
		if _, err := s.Invite(ctx(), bob, none(), acme.ID, "dan@example.com", organization.RoleOwner); !is(err, organization.ErrForbidden) {
			t.Errorf("an admin invites an owner: %v", err)
		}
		if _, err := s.Invitations(ctx(), cat, acme.ID, "", 10); !is(err, organization.ErrForbidden) {
			t.Errorf("a member lists invitations: %v", err)
		}
		if m, err := s.SetRole(ctx(), bob, none(), acme.ID, cat.UserID, organization.RoleAdmin); err != nil || m.Role != organization.RoleAdmin {
			t.Errorf("an admin makes an admin: %+v, %v", m, err)
		}
		ms, err := s.Members(ctx(), cat, acme.ID, "", 10)
		if err != nil || len(ms) != 3 {
			t.Fatalf("members = %+v, %v", ms, err)
		}

		stranger := verified(t, db, "eve@example.com")
		checks := map[string]error{
			"get": func() error { _, err := s.Get(ctx(), stranger, acme.ID); return err }(),
			"update": func() error {
				_, err := s.Update(ctx(), stranger, none(), acme.ID, organization.Profile{Name: &name})
				return err
			}(),
			"delete":  s.Delete(ctx(), stranger, none(), acme.ID),
			"members": func() error { _, err := s.Members(ctx(), stranger, acme.ID, "", 10); return err }(),
			"set role": func() error {
				_, err := s.SetRole(ctx(), stranger, none(), acme.ID, cat.UserID, organization.RoleMember)
				return err
			}(),
			"remove": s.Remove(ctx(), stranger, none(), acme.ID, cat.UserID),
			"invite": func() error {
				_, err := s.Invite(ctx(), stranger, none(), acme.ID, "x@example.com", organization.RoleMember)
				return err
			}(),
			"invitations": func() error { _, err := s.Invitations(ctx(), stranger, acme.ID, "", 10); return err }(),
			"revoke":      s.Revoke(ctx(), stranger, none(), acme.ID, acme.ID),
			"transfer":    func() error { _, err := s.Transfer(ctx(), stranger, none(), acme.ID, cat.UserID); return err }(),
			"bad id":      func() error { _, err := s.Get(ctx(), ann, "nope"); return err }(),
		}
		for name, err := range checks {
			if !is(err, organization.ErrNotFound) {
				t.Errorf("a stranger's %s: %v; want ErrNotFound", name, err)
			}
		}

		if err := s.Delete(ctx(), ann, none(), acme.ID); err != nil {
			t.Fatal(err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM organizations`); n != 0 {
			t.Fatalf("%d organisations after deleting the business; want 0 (its team goes with it)", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM organization_members`) + dbtest.Count(t, db, `SELECT count(*) FROM organization_invitations`); n != 0 {
			t.Fatalf("%d members and invitations left", n)
		}
		var actions []string
		rows, err := db.SQL().Query(`SELECT action FROM activity_logs WHERE action LIKE 'organization.%' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a string
			rows.Scan(&a)
			actions = append(actions, a)
		}
		rows.Close()
		want := []string{"organization.created", "organization.created", "organization.invitation_sent", "organization.invitation_accepted", "organization.member_added",
			"organization.invitation_sent", "organization.invitation_accepted", "organization.member_added", "organization.updated", "organization.role_changed", "organization.deleted", "organization.deleted"}
		if !slices.Equal(actions, want) {
			t.Fatalf("audit = %v\nwant %v", actions, want)
		}
	})
}

// TestLastOwnerRace: two owners demote and remove themselves at once, in
// both orders of arrival: exactly one change commits, the other is
// ErrLastOwner, and one owner is left.
func TestLastOwnerRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 0)
		ann, bob := verified(t, db, "ann@example.com"), verified(t, db, "bob@example.com")
		for round := range 4 {
			o := create(t, s, ann, business("Round "+string(rune('a'+round))))
			join(t, s, box, ann, bob, "bob@example.com", o.ID, organization.RoleOwner)
			errs := dbtest.AtOnce(2, func(i int) error {
				if i == 0 {
					_, err := s.SetRole(ctx(), ann, none(), o.ID, ann.UserID, organization.RoleMember)
					return err
				}
				return s.Remove(ctx(), bob, none(), o.ID, bob.UserID)
			})
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !is(err, organization.ErrLastOwner):
					t.Fatalf("round %d: %v", round, err)
				}
			}
			owners := dbtest.Count(t, db, `SELECT count(*) FROM organization_members WHERE organization_id = $1 AND role = 'owner'`, o.ID)
			if ok != 1 || owners != 1 {
				t.Fatalf("round %d: %d changes committed, %d owners; want 1, 1 (%v)", round, ok, owners, errs)
			}
		}
	})
}

// TestInvitations: a token works once, also when accepted twice at once;
// it expires after InvitationTTL; another email, or an unverified one,
// gets ErrEmailMismatch and leaves the invitation usable; a revoked one is
// gone.
func TestInvitations(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clk := dbtest.NewClock(db, noon)
		s, box := newService(db, 0)
		ann, bob, eve := verified(t, db, "ann@example.com"), verified(t, db, "bob@example.com"), verified(t, db, "eve@example.com")
		unverified := dbtest.User(t, db, "cat@example.com")
		o := create(t, s, ann, business("Acme"))

		inv, err := s.Invite(ctx(), ann, none(), o.ID, "Bob@Example.com", organization.RoleAdmin)
		if err != nil || inv.Email != "Bob@Example.com" || inv.Role != organization.RoleAdmin || inv.InvitedBy != ann.UserID ||
			!inv.ExpiresAt.Equal(noon.Add(organization.InvitationTTL)) || inv.AcceptedAt != nil {
			t.Fatalf("invite = %+v, %v", inv, err)
		}
		tok := box.last(t, "Bob@Example.com")
		if _, err := s.Accept(ctx(), eve, none(), tok); !is(err, organization.ErrEmailMismatch) {
			t.Fatalf("another email accepts: %v", err)
		}
		errs := dbtest.AtOnce(2, func(int) error { _, err := s.Accept(ctx(), bob, none(), tok); return err })
		if !(errs[0] == nil && is(errs[1], organization.ErrInvalidInvitation) || errs[1] == nil && is(errs[0], organization.ErrInvalidInvitation)) {
			t.Fatalf("two acceptances at once = %v; want one nil, one ErrInvalidInvitation", errs)
		}
		if got, err := s.Get(ctx(), bob, o.ID); err != nil || got.Role != organization.RoleAdmin {
			t.Fatalf("bob's membership = %+v, %v", got, err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM organization_invitations WHERE accepted_at IS NOT NULL`); n != 1 {
			t.Fatalf("%d accepted invitations; want 1", n)
		}

		if _, err := s.Invite(ctx(), ann, none(), o.ID, "cat@example.com", organization.RoleMember); err != nil {
			t.Fatal(err)
		}
		catTok := box.last(t, "cat@example.com")
		if _, err := s.Accept(ctx(), unverified, none(), catTok); !is(err, organization.ErrEmailMismatch) {
			t.Fatalf("an unverified email accepts: %v", err)
		}
		clk.Add(organization.InvitationTTL)
		if _, err := s.Accept(ctx(), unverified, none(), catTok); !is(err, organization.ErrInvalidInvitation) {
			t.Fatalf("an expired invitation: %v", err)
		}
		for _, bad := range []string{"", "udi_nope", catTok + "x"} {
			if _, err := s.Accept(ctx(), bob, none(), bad); !is(err, organization.ErrInvalidInvitation) {
				t.Errorf("token %q: %v", bad, err)
			}
		}

		if _, err := s.Invite(ctx(), ann, none(), o.ID, "eve@example.com", organization.RoleMember); err != nil {
			t.Fatal(err)
		}
		eveTok := box.last(t, "eve@example.com")
		list, err := s.Invitations(ctx(), bob, o.ID, "", 10)
		if err != nil || len(list) != 3 || list[0].Email != "eve@example.com" {
			t.Fatalf("invitations = %+v, %v", list, err)
		}
		if err := s.Revoke(ctx(), bob, none(), o.ID, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(ctx(), bob, none(), o.ID, list[0].ID); !is(err, organization.ErrInvitationUnknown) {
			t.Fatalf("revoke again: %v", err)
		}
		if _, err := s.Accept(ctx(), eve, none(), eveTok); !is(err, organization.ErrInvalidInvitation) {
			t.Fatalf("a revoked invitation: %v", err)
		}
		if _, err := s.Invite(ctx(), ann, none(), o.ID, "not an email", organization.RoleMember); err == nil {
			t.Fatal("a bad email was invited")
		}
	})
}

// TestLimit: a user belongs to at most MaxPerUser organisations, by
// creation or by invitation.
func TestLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 2)
		ann, bob := verified(t, db, "ann@example.com"), verified(t, db, "bob@example.com")
		create(t, s, ann, business("One"))
		two := create(t, s, ann, business("Two"))
		if _, err := s.Create(ctx(), ann, none(), business("Three")); !is(err, organization.ErrLimit) {
			t.Fatalf("a third organisation: %v", err)
		}
		b1 := create(t, s, bob, business("Bee One"))
		if _, err := s.Invite(ctx(), bob, none(), b1.ID, "ann@example.com", organization.RoleMember); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Accept(ctx(), ann, none(), box.last(t, "ann@example.com")); !is(err, organization.ErrLimit) {
			t.Fatalf("joining a third: %v", err)
		}
		if err := s.Remove(ctx(), ann, none(), two.ID, ann.UserID); !is(err, organization.ErrLastOwner) {
			t.Fatalf("the only owner leaves: %v", err)
		}
		if err := s.Delete(ctx(), ann, none(), two.ID); err != nil {
			t.Fatal(err)
		}
		// The refused acceptance left the invitation usable.
		if got, err := s.Accept(ctx(), ann, none(), box.last(t, "ann@example.com")); err != nil || got.ID != b1.ID || got.Role != organization.RoleMember {
			t.Fatalf("joining after a deletion = %+v, %v", got, err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM organization_members WHERE user_id = $1`, ann.UserID); n != 2 {
			t.Fatalf("ann belongs to %d; want 2", n)
		}
	})
}

// TestDeleteUser: deleting a user deletes the organisations where they were
// the only member (a team with members of its own stays, without its
// parent, and passes to its member) and passes those they alone owned to the longest-standing admin,
// else member, audited in the new owner's trail; an organisation with
// another owner keeps its owners.
func TestDeleteUser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clk := dbtest.NewClock(db, noon)
		s, box := newService(db, 0)
		gone, old, admin1, admin2, other := verified(t, db, "gone@example.com"), verified(t, db, "old@example.com"),
			verified(t, db, "admin1@example.com"), verified(t, db, "admin2@example.com"), verified(t, db, "other@example.com")
		alone := create(t, s, gone, business("Alone"))
		team := create(t, s, gone, organization.New{Kind: organization.Team, Name: "Team", ParentID: alone.ID})
		join(t, s, box, gone, other, "other@example.com", team.ID, organization.RoleMember)
		admins := create(t, s, gone, business("Admins"))
		members := create(t, s, gone, business("Members"))
		shared := create(t, s, gone, business("Shared"))
		for _, j := range []struct {
			who   userd.Actor
			email string
			org   string
			role  string
		}{
			{old, "old@example.com", admins.ID, organization.RoleMember},
			{admin2, "admin2@example.com", admins.ID, organization.RoleAdmin},
			{admin1, "admin1@example.com", admins.ID, organization.RoleAdmin},
			{other, "other@example.com", members.ID, organization.RoleMember},
			{old, "old@example.com", members.ID, organization.RoleMember},
			{other, "other@example.com", shared.ID, organization.RoleOwner},
		} {
			clk.Add(time.Minute)
			join(t, s, box, gone, j.who, j.email, j.org, j.role)
		}
		err := db.Tx(sqldb.System(ctx()), func(tx *sqldb.Tx) error { return lifecycle.DeleteUser(ctx(), tx, gone.UserID) })
		if err != nil {
			t.Fatal(err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM organizations WHERE id = $1`, alone.ID); n != 0 {
			t.Fatal("the organisation of one member is still there")
		}
		if got, err := s.Get(ctx(), other, team.ID); err != nil || got.ParentID != "" || got.Role != organization.RoleOwner {
			t.Fatalf("the team with a member of its own = %+v, %v", got, err)
		}
		owners := func(org string) []string {
			var out []string
			rows, err := db.SQL().Query(`SELECT user_id FROM organization_members WHERE organization_id = $1 AND role = 'owner' ORDER BY user_id`, org)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				rows.Scan(&id)
				out = append(out, id)
			}
			return out
		}
		for org, want := range map[string][]string{admins.ID: {admin2.UserID}, members.ID: {other.UserID}, shared.ID: {other.UserID}} {
			if got := owners(org); !slices.Equal(got, want) {
				t.Errorf("owners of %s = %v; want %v", org, got, want)
			}
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'organization.ownership_transferred'`); n != 3 {
			t.Fatalf("%d ownership transfers audited; want 3 (the team, admins, members)", n)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM organizations WHERE created_by IS NOT NULL`); n != 0 {
			t.Fatalf("%d organisations still name their deleted creator", n)
		}
	})
}

// TestTransfer: an owner hands ownership to a member and becomes an admin.
func TestTransfer(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 0)
		ann, bob := verified(t, db, "ann@example.com"), verified(t, db, "bob@example.com")
		o := create(t, s, ann, business("Acme"))
		join(t, s, box, ann, bob, "bob@example.com", o.ID, organization.RoleMember)
		if _, err := s.Transfer(ctx(), bob, none(), o.ID, bob.UserID); !is(err, organization.ErrForbidden) {
			t.Fatalf("a member takes ownership: %v", err)
		}
		if _, err := s.Transfer(ctx(), ann, none(), o.ID, ann.UserID); !is(err, organization.ErrMemberNotFound) {
			t.Fatalf("a transfer to oneself: %v", err)
		}
		m, err := s.Transfer(ctx(), ann, none(), o.ID, bob.UserID)
		if err != nil || m.Role != organization.RoleOwner || m.UserID != bob.UserID {
			t.Fatalf("transfer = %+v, %v", m, err)
		}
		if got, _ := s.Get(ctx(), ann, o.ID); got.Role != organization.RoleAdmin {
			t.Fatalf("the former owner is %q; want admin", got.Role)
		}
	})
}

// deleteUser deletes a user as lifecycle.Service.DeleteSelf does.
func deleteUser(db *sqldb.DB, a userd.Actor) error {
	return db.Tx(sqldb.System(ctx()), func(tx *sqldb.Tx) error { return lifecycle.DeleteUser(ctx(), tx, a.UserID) })
}

// orphans counts the organisations without a member or without an owner.
func orphans(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	return dbtest.Count(t, db, `SELECT count(*) FROM organizations o
		WHERE NOT EXISTS (SELECT 1 FROM organization_members m WHERE m.organization_id = o.id AND m.role = 'owner')`)
}

// TestForgetRace: an owner's deletion meets, at once, their only other
// member leaving, that member's own deletion, or a transfer of ownership
// to a member who deletes their account: every deletion commits and no
// organisation is left without members or without an owner.
func TestForgetRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 0)
		for round := range 3 {
			for _, race := range []string{"leave", "delete both", "transfer"} {
				name := race + " " + string(rune('a'+round))
				ann, bob := verified(t, db, "ann."+strings.ReplaceAll(name, " ", ".")+"@example.com"), verified(t, db, "bob."+strings.ReplaceAll(name, " ", ".")+"@example.com")
				o := create(t, s, ann, business(name))
				bobEmail := "bob." + strings.ReplaceAll(name, " ", ".") + "@example.com"
				join(t, s, box, ann, bob, bobEmail, o.ID, organization.RoleAdmin)
				errs := dbtest.AtOnce(2, func(i int) error {
					switch {
					case i == 0 && race == "transfer":
						_, err := s.Transfer(ctx(), ann, none(), o.ID, bob.UserID)
						return err
					case i == 0:
						return deleteUser(db, ann)
					case race == "leave":
						return s.Remove(ctx(), bob, none(), o.ID, bob.UserID)
					default:
						return deleteUser(db, bob)
					}
				})
				for i, err := range errs {
					// Bob leaves after he became the owner (ErrLastOwner) or
					// after the organisation went (ErrNotFound); the transfer
					// comes after his deletion (ErrMemberNotFound).
					if err != nil && (i == 0 && race != "transfer" || !is(err, organization.ErrLastOwner) && !is(err, organization.ErrNotFound) && !is(err, organization.ErrMemberNotFound)) {
						t.Fatalf("%s: call %d: %v", name, i, err)
					}
				}
				if n := orphans(t, db); n != 0 {
					t.Fatalf("%s: %d organisations without an owner (%v)", name, n, errs)
				}
			}
		}
	})
}

// TestInvitationOfFormerInviter: an invitation no longer works once its
// inviter may no longer give its role: an owner removed, an admin demoted,
// an inviter deleted. The invitation of an inviter who still may works.
func TestInvitationOfFormerInviter(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 0)
		ann, mal, bob, eve := verified(t, db, "ann@example.com"), verified(t, db, "mal@example.com"), verified(t, db, "bob@example.com"), verified(t, db, "eve@example.com")
		alt, cat, dan := verified(t, db, "alt@example.com"), verified(t, db, "cat@example.com"), verified(t, db, "dan@example.com")
		o := create(t, s, ann, business("Acme"))
		join(t, s, box, ann, mal, "mal@example.com", o.ID, organization.RoleOwner)
		join(t, s, box, ann, bob, "bob@example.com", o.ID, organization.RoleAdmin)
		join(t, s, box, ann, eve, "eve@example.com", o.ID, organization.RoleAdmin)
		invite := func(by userd.Actor, email, role string) string {
			t.Helper()
			if _, err := s.Invite(ctx(), by, none(), o.ID, email, role); err != nil {
				t.Fatalf("invite %s: %v", email, err)
			}
			return box.last(t, email)
		}
		altTok := invite(mal, "alt@example.com", organization.RoleOwner)
		catTok := invite(bob, "cat@example.com", organization.RoleMember)
		danTok := invite(eve, "dan@example.com", organization.RoleMember)
		if err := s.Remove(ctx(), ann, none(), o.ID, mal.UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetRole(ctx(), ann, none(), o.ID, bob.UserID, organization.RoleMember); err != nil {
			t.Fatal(err)
		}
		if err := deleteUser(db, eve); err != nil {
			t.Fatal(err)
		}
		for who, acc := range map[string]struct {
			a   userd.Actor
			tok string
		}{"the removed owner's": {alt, altTok}, "the demoted admin's": {cat, catTok}, "the deleted admin's": {dan, danTok}} {
			if _, err := s.Accept(ctx(), acc.a, none(), acc.tok); !is(err, organization.ErrInvalidInvitation) {
				t.Errorf("%s invitation: %v; want ErrInvalidInvitation", who, err)
			}
		}
		if _, err := s.SetRole(ctx(), ann, none(), o.ID, bob.UserID, organization.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Accept(ctx(), cat, none(), catTok); err != nil || got.Role != organization.RoleMember {
			t.Fatalf("the invitation of an admin again = %+v, %v", got, err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM organization_members WHERE organization_id = $1`, o.ID); n != 3 {
			t.Fatalf("%d members; want 3 (ann, bob and cat)", n)
		}
	})
}

// TestAcceptRace: an invitation accepted while it is revoked, or while its
// organisation is deleted: one of the two wins, the other sees what the
// first did, and a revocation never erases an accepted invitation.
func TestAcceptRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 0)
		ann := verified(t, db, "ann@example.com")
		for round := range 4 {
			for _, race := range []string{"revoke", "delete"} {
				name := race + " " + string(rune('a'+round))
				email := "bob." + strings.ReplaceAll(name, " ", ".") + "@example.com"
				bob := verified(t, db, email)
				o := create(t, s, ann, business(name))
				inv, err := s.Invite(ctx(), ann, none(), o.ID, email, organization.RoleMember)
				if err != nil {
					t.Fatal(err)
				}
				tok := box.last(t, email)
				errs := dbtest.AtOnce(2, func(i int) error {
					switch {
					case i == 0:
						_, err := s.Accept(ctx(), bob, none(), tok)
						return err
					case race == "revoke":
						return s.Revoke(ctx(), ann, none(), o.ID, inv.ID)
					default:
						return s.Delete(ctx(), ann, none(), o.ID)
					}
				})
				accepted := dbtest.Count(t, db, `SELECT count(*) FROM organization_invitations WHERE id = $1 AND accepted_at IS NOT NULL`, inv.ID)
				member := dbtest.Count(t, db, `SELECT count(*) FROM organization_members WHERE user_id = $1`, bob.UserID)
				switch {
				case errs[0] == nil && race == "revoke" && is(errs[1], organization.ErrInvitationUnknown) && accepted == 1 && member == 1:
				case errs[0] == nil && race == "delete" && errs[1] == nil && member == 0:
				case is(errs[0], organization.ErrInvalidInvitation) && errs[1] == nil && accepted == 0 && member == 0:
				default:
					t.Fatalf("%s: accept %v, %s %v; %d accepted, %d memberships", name, errs[0], race, errs[1], accepted, member)
				}
			}
		}
	})
}

// TestStrangerSkipsLock: while a change holds an organisation's row, a
// non-member's change of it answers ErrNotFound at once: it never waits on
// the lock (nor, on SQLite, on the one writer).
func TestStrangerSkipsLock(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newService(db, 0)
		ann, eve := verified(t, db, "ann@example.com"), verified(t, db, "eve@example.com")
		o := create(t, s, ann, business("Acme"))
		held, release, holder := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			holder <- db.Tx(sqldb.System(ctx()), func(tx *sqldb.Tx) error {
				_, err := tx.LockRow(ctx(), "organizations", "id", o.ID)
				close(held)
				<-release
				return err
			})
		}()
		<-held
		waits := db.SQL().Stats().WaitCount
		done := make(chan error, 1)
		go func() { done <- s.Remove(ctx(), eve, none(), o.ID, ann.UserID) }()
		var err error
	wait:
		for {
			select {
			case err = <-done:
				break wait
			default:
			}
			// The stranger waits for the one writer (SQLite) or on a lock
			// (PostgreSQL).
			if db.SQL().Stats().WaitCount > waits || db.Engine() == "postgres" &&
				dbtest.Count(t, db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0 {
				close(release)
				t.Fatalf("a stranger's change waits on the organisation's lock (then: %v)", <-done)
			}
		}
		close(release)
		if !is(err, organization.ErrNotFound) {
			t.Fatalf("a stranger's change: %v; want ErrNotFound", err)
		}
		if err := <-holder; err != nil {
			t.Fatal(err)
		}
	})
}

// TestAuditTrail: a revocation is recorded in the revoker's trail, a
// transfer's demotion in the former owner's, and each deleted organisation
// once: a business's team with it, and those deleted with their last
// member in no one's trail.
func TestAuditTrail(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 0)
		ann, bob, cat := verified(t, db, "ann@example.com"), verified(t, db, "bob@example.com"), verified(t, db, "cat@example.com")
		o := create(t, s, ann, business("Acme"))
		join(t, s, box, ann, bob, "bob@example.com", o.ID, organization.RoleMember)
		inv, err := s.Invite(ctx(), ann, none(), o.ID, "eve@example.com", organization.RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(ctx(), ann, none(), o.ID, inv.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Transfer(ctx(), ann, none(), o.ID, bob.UserID); err != nil {
			t.Fatal(err)
		}
		bees := create(t, s, bob, business("Bees"))
		team := create(t, s, bob, organization.New{Kind: organization.Team, Name: "Drones", ParentID: bees.ID})
		if err := s.Delete(ctx(), bob, none(), bees.ID); err != nil {
			t.Fatal(err)
		}
		lone := create(t, s, cat, business("Lone"))
		loneTeam := create(t, s, cat, organization.New{Kind: organization.Team, Name: "Lone team", ParentID: lone.ID})
		if err := deleteUser(db, cat); err != nil {
			t.Fatal(err)
		}
		for _, want := range []struct {
			user, action, target string
			n                    int
		}{
			{ann.UserID, "organization.invitation_revoked", o.ID, 1},
			{ann.UserID, "organization.role_changed", o.ID, 1},
			{bob.UserID, "organization.deleted", bees.ID, 1},
			{bob.UserID, "organization.deleted", team.ID, 1},
			{"", "organization.deleted", lone.ID, 1},
			{"", "organization.deleted", loneTeam.ID, 1},
		} {
			if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE coalesce(CAST(user_id AS TEXT), '') = $1 AND action = $2 AND CAST(target_id AS TEXT) = $3`,
				want.user, want.action, want.target); n != want.n {
				t.Errorf("%d %s of %s in the trail of %q; want %d", n, want.action, want.target, want.user, want.n)
			}
		}
	})
}

// TestInvitationLimits: a user sends at most DefaultInvitationLimit invitations a
// window (429), an organisation has at most MaxPendingInvitations pending
// (409 until one is revoked), and the mail's subject names the site, not
// the organisation.
func TestInvitationLimits(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		clk := dbtest.NewClock(db, noon)
		s, box := newService(db, 0)
		ann := verified(t, db, "ann@example.com")
		o := create(t, s, ann, business("Click here: https://evil.example"))
		invite := func(i int) (organization.Invitation, error) {
			return s.Invite(ctx(), ann, none(), o.ID, "x"+strconv.Itoa(i)+"@example.com", organization.RoleMember)
		}
		sent := 0
		for sent < organization.MaxPendingInvitations {
			for range organization.DefaultInvitationLimit.Max {
				if _, err := invite(sent); err != nil {
					t.Fatalf("invitation %d: %v", sent, err)
				}
				sent++
			}
			var e *ratelimit.Error
			if _, err := invite(sent); sent < organization.MaxPendingInvitations && !errors.As(err, &e) {
				t.Fatalf("invitation %d, over the limit: %v", sent, err)
			}
			clk.Add(organization.DefaultInvitationLimit.Window)
		}
		last, err := invite(sent)
		if !is(err, organization.ErrTooManyInvitations) {
			t.Fatalf("invitation %d, over the pending cap: %v", sent, err)
		}
		list, err := s.Invitations(ctx(), ann, o.ID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(ctx(), ann, none(), o.ID, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if last, err = invite(sent); err != nil {
			t.Fatalf("an invitation after a revocation: %v", err)
		}
		box.mu.Lock()
		m := box.sent[len(box.sent)-1]
		box.mu.Unlock()
		if m.Subject != "You are invited to join an organisation on userd.test" || !strings.Contains(m.Text, o.Name) || m.To != last.Email {
			t.Fatalf("mail %q to %s:\n%s", m.Subject, m.To, m.Text)
		}
	})
}

// TestEmailMatchIsASCII: an invitation's address matches a verified one
// letter case aside in ASCII only: Unicode's folding (ſ for s, the Kelvin sign for k)
// does not make another address the invited one.
func TestEmailMatchIsASCII(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 0)
		ann, sam, kim := verified(t, db, "ann@example.com"), verified(t, db, "sam@example.com"), verified(t, db, "kim@example.com")
		o := create(t, s, ann, business("Acme"))
		for _, tc := range []struct {
			invited string
			who     userd.Actor
		}{{"ſam@example.com", sam}, {"\u212aim@example.com", kim}} {
			if _, err := s.Invite(ctx(), ann, none(), o.ID, tc.invited, organization.RoleMember); err != nil {
				t.Fatalf("invite %s: %v", tc.invited, err)
			}
			if _, err := s.Accept(ctx(), tc.who, none(), box.last(t, tc.invited)); !is(err, organization.ErrEmailMismatch) {
				t.Errorf("invited %s: %v; want ErrEmailMismatch", tc.invited, err)
			}
		}
		q := `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = $1`
		if db.Engine() == "postgres" {
			q = `SELECT count(*) FROM pg_indexes WHERE indexname = $1`
		}
		if n := dbtest.Count(t, db, q, "idx_organization_invitations_expires_at"); n != 1 {
			t.Errorf("%d indexes on the invitations' expires_at; want 1 (the hourly clean-up reads it)", n)
		}
	})
}
