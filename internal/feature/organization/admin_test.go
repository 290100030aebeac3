package organization_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestAdminReads: every organisation, searched by name or slug (any case,
// LIKE's wildcards taken literally) or of one member with their role, in
// pages; one with its count of members and its pending invitations only;
// its members with their emails.
func TestAdminReads(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, box := newService(db, 0)
		ann, bob := verified(t, db, "ann@example.com"), verified(t, db, "bob@example.com")
		acme := create(t, s, ann, business("Acme Inc"))
		bolt := create(t, s, bob, organization.New{Kind: organization.Business, Name: "Bolt 100%", Slug: "bolt"})
		join(t, s, box, ann, bob, "bob@example.com", acme.ID, "admin")
		if _, err := s.Invite(ctx(), ann, none(), acme.ID, "cat@example.com", "member"); err != nil {
			t.Fatal(err)
		}
		show := func(list []organization.Summary) string {
			var out []string
			for _, o := range list {
				out = append(out, fmt.Sprintf("%s/%s/%d", o.Name, o.Role, o.Members))
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct{ q, user, before, want string }{
			{"", "", "", "Bolt 100%//1,Acme Inc//2"},
			{"ACME", "", "", "Acme Inc//2"},
			{"100%", "", "", "Bolt 100%//1"},
			{"_", "", "", ""},
			{"", bob.UserID, "", "Bolt 100%/owner/1,Acme Inc/admin/2"},
			{"", ann.UserID, "", "Acme Inc/owner/2"},
			{"bolt", ann.UserID, "", ""},
			{"", "nope", "", ""},
			{"", "", bolt.ID, "Acme Inc//2"},
		} {
			list, err := s.Search(ctx(), c.q, c.user, c.before, 10)
			if got := show(list); err != nil || got != c.want {
				t.Errorf("Search(%q, %q, %q) = %q, %v; want %q", c.q, c.user, c.before, got, err, c.want)
			}
		}
		d, err := s.Inspect(ctx(), acme.ID)
		if err != nil || d.Name != "Acme Inc" || d.Members != 2 || d.Role != "" || len(d.Pending) != 1 || d.Pending[0].Email != "cat@example.com" {
			t.Fatalf("Inspect = %+v, %v", d, err)
		}
		for _, id := range []string{"nope", "00000000-0000-7000-8000-000000000000"} {
			if _, err := s.Inspect(ctx(), id); !is(err, organization.ErrNotFound) {
				t.Errorf("Inspect(%s) = %v", id, err)
			}
			if _, err := s.People(ctx(), id, "", 10); !is(err, organization.ErrNotFound) {
				t.Errorf("People(%s) = %v", id, err)
			}
		}
		people, err := s.People(ctx(), acme.ID, "", 10)
		if err != nil || len(people) != 2 {
			t.Fatalf("People = %+v, %v", people, err)
		}
		for _, p := range people {
			want := map[string]string{ann.UserID: "ann@example.com owner", bob.UserID: "bob@example.com admin"}[p.UserID]
			if p.Email+" "+p.Role != want || p.OrganizationID != acme.ID {
				t.Errorf("person %+v; want %s", p, want)
			}
		}
		if page, err := s.People(ctx(), acme.ID, people[0].UserID, 10); err != nil || len(page) != 1 || page[0].UserID != people[1].UserID {
			t.Fatalf("the next page of people = %+v, %v", page, err)
		}
	})
}
