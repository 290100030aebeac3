package collection_test

import (
	"errors"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// TestRecordsOf: an administrator reads one owner's records, a user's or
// an organisation's by the collection's owner, a page at a time and
// filtered like the owner's own list; each read is audited with the owner
// as target; without the permission, or for what is not an owner's id,
// nothing is read.
func TestRecordsOf(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{})
		for name, owner := range map[string]string{"tasks": collection.OwnerUser, "ledgers": collection.OwnerOrganization} {
			if _, err := s.Declare(ctx(), operator, userd.Client{}, name, collection.Declaration{Owner: owner,
				Schema: obj(`{"title":{"type":"string"},"n":{"type":"number"}}`), Indexes: [][]string{{"n"}}}); err != nil {
				t.Fatal(err)
			}
		}
		ann, bob := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com")
		org, err := organization.NewService(db, organization.Deps{}).Create(ctx(), bob, userd.Client{}, organization.New{Kind: "business", Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		var anns []string
		for _, body := range []string{`{"title":"one","n":1}`, `{"title":"two","n":2}`, `{"title":"three","n":3}`} {
			r, err := s.Create(ctx(), ann, "", "tasks", []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			anns = append(anns, r.ID)
		}
		if _, err := s.Create(ctx(), bob, "", "tasks", []byte(`{"title":"bob's"}`)); err != nil {
			t.Fatal(err)
		}
		ledger, err := s.Create(ctx(), bob, org.ID, "ledgers", []byte(`{"title":"books"}`))
		if err != nil {
			t.Fatal(err)
		}
		adm := userd.Actor{UserID: dbtest.User(t, db, "root@example.com").UserID, Grants: operator.Grants}

		p, err := s.RecordsOf(ctx(), adm, userd.Client{IP: "192.0.2.1"}, "tasks", ann.UserID, collection.Query{Limit: 2})
		if err != nil || len(p.Records) != 2 || p.Records[0].ID != anns[2] || p.Records[1].ID != anns[1] || p.Next == "" {
			t.Fatalf("first page = %+v, %v", p, err)
		}
		p, err = s.RecordsOf(ctx(), adm, userd.Client{}, "tasks", ann.UserID, collection.Query{Limit: 2, Cursor: p.Next})
		if err != nil || len(p.Records) != 1 || p.Records[0].ID != anns[0] || p.Next != "" {
			t.Fatalf("second page = %+v, %v", p, err)
		}
		p, err = s.RecordsOf(ctx(), adm, userd.Client{}, "tasks", ann.UserID, collection.Query{Where: []string{"n:gte:2"}, Sort: "n"})
		if err != nil || len(p.Records) != 2 || p.Records[0].ID != anns[1] {
			t.Fatalf("filtered = %+v, %v", p, err)
		}
		p, err = s.RecordsOf(ctx(), adm, userd.Client{}, "ledgers", org.ID, collection.Query{})
		if err != nil || len(p.Records) != 1 || p.Records[0].ID != ledger.ID {
			t.Fatalf("the organisation's = %+v, %v", p, err)
		}
		// A user's id names no organisation's records, and the other way round.
		if p, err := s.RecordsOf(ctx(), adm, userd.Client{}, "ledgers", bob.UserID, collection.Query{}); err != nil || len(p.Records) != 0 {
			t.Fatalf("ledgers of a user = %+v, %v", p, err)
		}
		reads := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'collection.records_read' AND actor_user_id = $1`, adm.UserID)
		annReads := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'collection.records_read' AND target_type = 'user'
			AND target_id = $1 AND user_id IS NULL`, ann.UserID)
		if reads != 5 || annReads != 3 {
			t.Fatalf("%d reads audited, %d of ann's; want 5 and 3", reads, annReads)
		}
		for name, c := range map[string]struct {
			a           userd.Actor
			coll, owner string
			want        error
		}{
			"no permission": {userd.Actor{UserID: adm.UserID}, "tasks", ann.UserID, collection.ErrForbidden},
			"no collection": {adm, "nothing", ann.UserID, collection.ErrNotFound},
			"no id":         {adm, "tasks", "ann@example.com", collection.ErrOwnerNotFound},
		} {
			if _, err := s.RecordsOf(ctx(), c.a, userd.Client{}, c.coll, c.owner, collection.Query{}); !errors.Is(err, c.want) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := s.RecordsOf(ctx(), adm, userd.Client{}, "tasks", ann.UserID, collection.Query{Sort: "title"}); userd.ErrorKind(err) != userd.KindInvalid {
			t.Errorf("a sort on a field without an index: %v", err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE action = 'collection.records_read'`); n != 5 {
			t.Errorf("%d reads audited after refusals", n)
		}
	})
}
