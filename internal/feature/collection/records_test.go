package collection_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// declareTasks declares tasks, whose parent is another task: deleting a
// task deletes its children (cascade).
func declareTasks(t *testing.T, s *collection.Service) {
	t.Helper()
	if _, err := s.Declare(ctx(), operator, userd.Client{}, "tasks", collection.Declaration{Owner: "user",
		Schema:    obj(`{"parent":{"type":"string"},"t":{"type":"string"}}`),
		Relations: map[string]collection.Relation{"parent": {Collection: "tasks", OnDelete: collection.Cascade}}}); err != nil {
		t.Fatal(err)
	}
}

// chain stores n tasks of a, each the parent of the next, straight into
// the table (the service would take a transaction each), and returns
// their ids from the head.
func chain(t *testing.T, db *sqldb.DB, a userd.Actor, n int) []string {
	t.Helper()
	now := time.Now().UTC()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = userd.NewID(now)
	}
	const batch = 500
	for from := 0; from < n; from += batch {
		var rows []string
		var args []any
		for i := from; i < min(from+batch, n); i++ {
			data := `{}`
			if i > 0 {
				data = `{"parent":"` + ids[i-1] + `"}`
			}
			k := len(args)
			rows = append(rows, fmt.Sprintf("($%d, 'tasks', $%d, $%d, 1, $%d, $%d)", k+1, k+2, k+3, k+4, k+4))
			args = append(args, ids[i], a.UserID, data, now)
		}
		if _, err := db.SQL().Exec(`INSERT INTO collection_records (id, collection, user_id, data, version, created_at, updated_at) VALUES `+
			strings.Join(rows, ", "), args...); err != nil {
			t.Fatal(err)
		}
	}
	if db.Engine() == "postgres" {
		// As autovacuum would: the planner then looks up each record's
		// children through the relation's index.
		if _, err := db.SQL().Exec(`ANALYZE collection_records`); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// changes counts the user's changes of a type.
func changes(t *testing.T, db *sqldb.DB, a userd.Actor, typ string) int {
	t.Helper()
	return dbtest.Count(t, db, `SELECT count(*) FROM collection_changes WHERE user_id = $1 AND type = $2`, a.UserID, typ)
}

func TestCascadeBound(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{})
		declareTasks(t, s)
		ann := dbtest.User(t, db, "ann@example.com")
		ids := chain(t, db, ann, collection.MaxCascade+1)
		// One record too many: refused, nothing changed.
		err := s.Delete(ctx(), ann, "", "tasks", ids[0], -1)
		if e := userd.ErrorOf(err); e == nil || e.Kind != userd.KindConflict || e.Code != "too_many_dependents" ||
			e.Message != "This deletion would remove or change more than 10000 records: delete their dependents first." {
			t.Fatalf("deleting a chain of %d = %v", len(ids), err)
		}
		if n, d := count(t, db, "tasks"), changes(t, db, ann, collection.RecordDeleted); n != collection.MaxCascade+1 || d != 0 {
			t.Fatalf("after the refusal: %d tasks, %d deletions", n, d)
		}
		// The tail has no dependents; then the chain is MaxCascade long, and
		// goes, walked without recursion.
		if err := s.Delete(ctx(), ann, "", "tasks", ids[len(ids)-1], -1); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx(), ann, "", "tasks", ids[0], -1); err != nil {
			t.Fatal(err)
		}
		if n, d := count(t, db, "tasks"), changes(t, db, ann, collection.RecordDeleted); n != 0 || d != collection.MaxCascade+1 {
			t.Fatalf("after the deletion: %d tasks, %d deletions", n, d)
		}
	})
}

func TestCascadeCycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{})
		declareTasks(t, s)
		ann, bob := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com")
		a := create(t, s, ann, "tasks", `{}`)
		b := create(t, s, ann, "tasks", `{"parent":"`+a+`"}`)
		c := create(t, s, ann, "tasks", `{"parent":"`+b+`"}`)
		create(t, s, ann, "tasks", `{"t":"alone"}`)
		create(t, s, bob, "tasks", `{}`)
		if _, err := s.Patch(ctx(), ann, "", "tasks", a, 1, []byte(`{"parent":"`+c+`"}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx(), ann, "", "tasks", b, -1); err != nil {
			t.Fatal(err)
		}
		if n, d := count(t, db, "tasks"), changes(t, db, ann, collection.RecordDeleted); n != 2 || d != 3 {
			t.Fatalf("after deleting a cycle: %d tasks, %d deletions", n, d)
		}
	})
}

// TestStoredSize: data is stored as given, <, > and & unescaped, and the
// bound is on what is stored.
func TestStoredSize(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{})
		declareTasks(t, s)
		ann := dbtest.User(t, db, "ann@example.com")
		in := `{"t":"` + strings.Repeat("<&>", (collection.DefaultMaxRecordBytes-8)/3) + `"}`
		r, err := s.Create(ctx(), ann, "", "tasks", []byte(in))
		if err != nil || string(r.Data) != in {
			t.Fatalf("create %d bytes of <&> = %d bytes, %v", len(in), len(r.Data), err)
		}
		want := len(in)
		if db.Engine() == "postgres" {
			want++ // jsonb's text has a space after the colon
		}
		if stored := dbtest.Count(t, db, `SELECT length(CAST(data AS TEXT)) FROM collection_records WHERE id = $1`, r.ID); stored != want {
			t.Fatalf("stored %d bytes of %d", stored, len(in))
		}
		// A merge patch that changes nothing keeps it within the bound.
		if r, err = s.Patch(ctx(), ann, "", "tasks", r.ID, 1, []byte(`{"x":null}`)); err != nil || r.Version != 2 || string(r.Data) != in {
			t.Fatalf("empty patch = v%d, %v", r.Version, err)
		}
		// U+2028 is 3 bytes given and 6 stored (\u2028): the stored size
		// counts, on every write.
		wide := `{"t":"` + strings.Repeat("\u2028", (collection.DefaultMaxRecordBytes-8)/3) + `"}`
		tooLarge := func(what string, err error) {
			t.Helper()
			if e := userd.ErrorOf(err); e == nil || e.Kind != userd.KindInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "data" || e.Fields[0].Code != "too_large" {
				t.Fatalf("%s = %v", what, err)
			}
		}
		_, err = s.Create(ctx(), ann, "", "tasks", []byte(wide))
		tooLarge("create", err)
		_, err = s.Replace(ctx(), ann, "", "tasks", r.ID, -1, []byte(wide))
		tooLarge("replace", err)
		_, err = s.Patch(ctx(), ann, "", "tasks", r.ID, -1, []byte(wide))
		tooLarge("patch", err)
		if got, _ := s.Get(ctx(), ann, "", "tasks", r.ID); got.Version != 2 || count(t, db, "tasks") != 1 {
			t.Fatalf("after the refusals: v%d, %d tasks", got.Version, count(t, db, "tasks"))
		}
	})
}

// TestFieldErrorBound: a validation error lists at most MaxFieldErrors
// fields, and says how many more there were.
func TestFieldErrorBound(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{})
		if _, err := s.Declare(ctx(), operator, userd.Client{}, "lists", collection.Declaration{Owner: "user",
			Schema: obj(`{"w":{"type":"array","items":{"type":"string"}}}`)}); err != nil {
			t.Fatal(err)
		}
		ann := dbtest.User(t, db, "ann@example.com")
		for _, c := range []struct {
			items  int
			fields int
			msg    string
		}{
			{collection.MaxFieldErrors, collection.MaxFieldErrors, "Some fields are invalid."},
			{30001, collection.MaxFieldErrors, "Some fields are invalid: 100 fields are listed, and 29901 more are invalid."},
		} {
			_, err := s.Create(ctx(), ann, "", "lists", []byte(`{"w":[1`+strings.Repeat(",1", c.items-1)+`]}`))
			e := userd.ErrorOf(err)
			if e == nil || e.Kind != userd.KindInvalid || e.Code != "validation_failed" || len(e.Fields) != c.fields || e.Message != c.msg {
				t.Fatalf("%d bad items = %v", c.items, err)
			}
			for i, f := range e.Fields {
				if f.Field != "/w/"+strconv.Itoa(i) || f.Code != "type" {
					t.Fatalf("field %d = %+v", i, f)
				}
			}
		}
	})
}

// TestSetNullSchema: set_null refuses the deletion when a pointing record
// would break its schema without the field.
func TestSetNullSchema(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{})
		accts := obj(`{"g":{"type":"string"},"n":{"type":"string"}}`)
		accts["allOf"] = []any{map[string]any{"if": map[string]any{"required": []any{"n"}}, "then": map[string]any{"required": []any{"g"}}}}
		if _, err := s.Apply(ctx(), operator, userd.Client{}, map[string]collection.Declaration{
			"groups": {Owner: "user", Schema: obj(`{"n":{"type":"string"}}`)},
			"accts":  {Owner: "user", Schema: accts, Relations: map[string]collection.Relation{"g": {Collection: "groups", OnDelete: collection.SetNull}}},
		}); err != nil {
			t.Fatal(err)
		}
		ann := dbtest.User(t, db, "ann@example.com")
		g := create(t, s, ann, "groups", `{}`)
		free := create(t, s, ann, "accts", `{"g":"`+g+`"}`)
		bound := create(t, s, ann, "accts", `{"g":"`+g+`","n":"x"}`)
		err := s.Delete(ctx(), ann, "", "groups", g, -1)
		if e := userd.ErrorOf(err); !errors.Is(err, collection.ErrRestricted) || e.Kind != userd.KindConflict || e.Code != "restricted" ||
			e.Message != "Record "+bound+" of accts points at this record through the set_null relation accts.g, and would break its collection's schema without it: change or delete it first." {
			t.Fatalf("delete the group = %v", err)
		}
		for _, id := range []string{free, bound} {
			if r, err := s.Get(ctx(), ann, "", "accts", id); err != nil || r.Version != 1 {
				t.Fatalf("after the refusal: %s v%d %v", id, r.Version, err)
			}
		}
		if _, err := s.Patch(ctx(), ann, "", "accts", bound, 1, []byte(`{"n":null}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx(), ann, "", "groups", g, -1); err != nil {
			t.Fatal(err)
		}
		for id, version := range map[string]int{free: 2, bound: 3} {
			if r, err := s.Get(ctx(), ann, "", "accts", id); err != nil || string(r.Data) != `{}` || r.Version != version {
				t.Fatalf("after set_null: %s %s v%d %v", id, r.Data, r.Version, err)
			}
		}
	})
}

// TestIndexedLength: a string that an index holds is at most
// MaxIndexedBytes long, on every write; other strings are not bounded so.
func TestIndexedLength(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{})
		if _, err := s.Declare(ctx(), operator, userd.Client{}, "notes", collection.Declaration{Owner: "user",
			Schema: obj(`{"t":{"type":"string"},"u":{"type":"string"},"free":{"type":"string"}}`), Indexes: [][]string{{"t"}}, Unique: [][]string{{"u"}}}); err != nil {
			t.Fatal(err)
		}
		ann := dbtest.User(t, db, "ann@example.com")
		long := strings.Repeat("é", collection.MaxIndexedBytes/2) // exactly the bound, in bytes
		r, err := s.Create(ctx(), ann, "", "notes", []byte(`{"t":"`+long+`","u":"`+long+`","free":"`+long+long+long+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		tooLong := func(what string, err error, fields ...string) {
			t.Helper()
			e := userd.ErrorOf(err)
			if e == nil || e.Kind != userd.KindInvalid || len(e.Fields) != len(fields) {
				t.Fatalf("%s = %v", what, err)
			}
			for i, f := range e.Fields {
				if f.Field != fields[i] || f.Code != "too_long" ||
					f.Message != "A field that a unique key, an index or a relation names holds at most 1000 bytes of text." {
					t.Fatalf("%s: field %d = %+v", what, i, f)
				}
			}
		}
		_, err = s.Create(ctx(), ann, "", "notes", []byte(`{"t":"`+long+`x","u":"`+long+`x"}`))
		tooLong("create", err, "/t", "/u")
		_, err = s.Replace(ctx(), ann, "", "notes", r.ID, -1, []byte(`{"t":"x`+long+`"}`))
		tooLong("replace", err, "/t")
		_, err = s.Patch(ctx(), ann, "", "notes", r.ID, -1, []byte(`{"u":"x`+long+`"}`))
		tooLong("patch", err, "/u")
		if got, err := s.Get(ctx(), ann, "", "notes", r.ID); err != nil || got.Version != 1 || count(t, db, "notes") != 1 {
			t.Fatalf("after the refusals: v%d, %d notes, %v", got.Version, count(t, db, "notes"), err)
		}
	})
}
