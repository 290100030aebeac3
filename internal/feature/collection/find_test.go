package collection_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// declareNumbers declares numbers, indexed by n.
func declareNumbers(t *testing.T, s *collection.Service) {
	t.Helper()
	if _, err := s.Declare(ctx(), operator, userd.Client{}, "numbers", collection.Declaration{Owner: "user",
		Schema: obj(`{"n":{"type":"number"},"t":{"type":"string"}}`), Indexes: [][]string{{"n"}}}); err != nil {
		t.Fatal(err)
	}
}

// TestExactNumbers: filters and cursors keep numbers exact above 2^53,
// where float64 would round 2^53 + 1 down to 2^53.
func TestExactNumbers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{})
		declareNumbers(t, s)
		ann := dbtest.User(t, db, "ann@example.com")
		const base = 9007199254740993 // 2^53 + 1
		ids := map[string]bool{}
		for i := range 25 {
			ids[create(t, s, ann, "numbers", `{"n":`+strconv.Itoa(base+i)+`}`)] = true
		}
		q := collection.Query{Sort: "n", Limit: 10}
		seen, pages, want := map[string]bool{}, 0, int64(base)
		for {
			p, err := s.Records(ctx(), ann, "", "numbers", q)
			if err != nil {
				t.Fatal(err)
			}
			if pages++; pages > 3 {
				t.Fatalf("more than 3 pages")
			}
			for _, r := range p.Records {
				if !ids[r.ID] || seen[r.ID] || strings.ReplaceAll(string(r.Data), " ", "") != `{"n":`+strconv.FormatInt(want, 10)+`}` {
					t.Fatalf("page %d: %s %s, want n %d", pages, r.ID, r.Data, want)
				}
				seen[r.ID] = true
				want++
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if len(seen) != 25 || pages != 3 {
			t.Fatalf("%d records in %d pages", len(seen), pages)
		}
		for _, c := range []struct {
			where string
			want  int
		}{
			{"n:eq:9007199254740993", 1},
			{"n:eq:9007199254740992", 0},
			{"n:gt:9007199254740993", 24},
			{"n:lte:9007199254740994", 2},
			{"n:gte:9007199254741017", 1},
			{"n:gte:9.007199254740993e15", 25},
			{"n:lt:9007199254740993.5", 1},
		} {
			p, err := s.Records(ctx(), ann, "", "numbers", collection.Query{Where: []string{c.where}, Limit: 100})
			if err != nil || len(p.Records) != c.want {
				t.Fatalf("%s: %d records, %v; want %d", c.where, len(p.Records), err, c.want)
			}
		}
		for _, v := range []string{"NaN", "Infinity", "0x10", "1e400", "1_000", "one"} {
			if _, err := s.Records(ctx(), ann, "", "numbers", collection.Query{Where: []string{"n:eq:" + v}}); code(err) != "validation_failed" ||
				userd.ErrorOf(err).Fields[0].Code != "invalid_value" {
				t.Fatalf("n:eq:%s = %v", v, err)
			}
		}
	})
}

// TestFilterBound: a list takes at most MaxFilters filters.
func TestFilterBound(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{})
		declareNumbers(t, s)
		ann := dbtest.User(t, db, "ann@example.com")
		for i := range 10 {
			create(t, s, ann, "numbers", `{"n":`+strconv.Itoa(i)+`}`)
		}
		var where []string
		for i := range collection.MaxFilters {
			where = append(where, "n:ne:"+strconv.Itoa(i))
		}
		if p, err := s.Records(ctx(), ann, "", "numbers", collection.Query{Where: where}); err != nil || len(p.Records) != 2 {
			t.Fatalf("%d filters: %d records, %v", len(where), len(p.Records), err)
		}
		_, err := s.Records(ctx(), ann, "", "numbers", collection.Query{Where: append(where, "n:ne:8")})
		if e := userd.ErrorOf(err); e == nil || e.Kind != userd.KindInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "where" ||
			e.Fields[0].Code != "too_many_filters" || e.Fields[0].Message != "A list takes at most 8 filters." {
			t.Fatalf("%d filters = %v", len(where)+1, err)
		}
	})
}
