package collection_test

import (
	"strconv"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// BenchmarkCreate creates records of an indexed collection on SQLite.
func BenchmarkCreate(b *testing.B) {
	db := dbtest.Open(b, "sqlite")
	s := collection.NewService(db, collection.Deps{})
	d := collection.Declaration{Owner: "user", Schema: obj(`{"n":{"type":"integer"},"note":{"type":"string","maxLength":200}}`, "n"), Indexes: [][]string{{"n"}}}
	if _, err := s.Declare(ctx(), operator, userd.Client{}, "notes", d); err != nil {
		b.Fatal(err)
	}
	ann := dbtest.User(b, db, "ann@example.com")
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Create(ctx(), ann, "", "notes", []byte(`{"n":`+strconv.Itoa(i)+`,"note":"bench"}`)); err != nil {
			b.Fatal(err)
		}
	}
}
