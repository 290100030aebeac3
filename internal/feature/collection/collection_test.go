package collection_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func ctx() context.Context { return context.Background() }

// operator may declare collections.
var operator = userd.Actor{Grants: userd.Grants{Permissions: []string{collection.WritePermission}}}

// journal reads the example declarations of seed 000.
func journal(t *testing.T) map[string]collection.Declaration {
	t.Helper()
	raw, err := os.ReadFile("../../../examples/collections/trading-journal.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Collections map[string]collection.Declaration
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f.Collections
}

// setUp applies the journal, with fills (orders' children, cascade) and
// notes (restrict on tags).
func setUp(t *testing.T, db *sqldb.DB) *collection.Service {
	t.Helper()
	s := collection.NewService(db, collection.Deps{})
	decls := journal(t)
	decls["fills"] = collection.Declaration{Owner: "user", Schema: obj(`{"order_id":{"type":"string"},"qty":{"type":"number"}}`, "order_id"),
		Relations: map[string]collection.Relation{"order_id": {Collection: "orders", OnDelete: collection.Cascade}}}
	decls["notes"] = collection.Declaration{Owner: "user", Schema: obj(`{"tag_id":{"type":"string"},"text":{"type":"string"}}`),
		Relations: map[string]collection.Relation{"tag_id": {Collection: "tags", OnDelete: collection.Restrict}}}
	as, err := s.Apply(ctx(), operator, userd.Client{}, decls)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if !a.Created {
			t.Fatalf("%s not created", a.Name)
		}
	}
	again, err := s.Apply(ctx(), operator, userd.Client{}, decls)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range again {
		if a.Created || a.Changed {
			t.Fatalf("applying again changed %s", a.Name)
		}
	}
	return s
}

// obj is the schema of an object with the given properties.
func obj(props string, required ...string) map[string]any {
	var p map[string]any
	if err := json.Unmarshal([]byte(props), &p); err != nil {
		panic(err)
	}
	req := []any{}
	for _, r := range required {
		req = append(req, r)
	}
	return map[string]any{"type": "object", "properties": p, "required": req}
}

func code(err error) string {
	if e := userd.ErrorOf(err); e != nil {
		return e.Code
	}
	return ""
}

// create makes a record and fails the test when it cannot.
func create(t *testing.T, s *collection.Service, a userd.Actor, name, data string) string {
	t.Helper()
	r, err := s.Create(ctx(), a, "", name, []byte(data))
	if err != nil {
		t.Fatalf("create %s %s: %v", name, data, err)
	}
	return r.ID
}

// count counts a collection's records of every owner.
func count(t *testing.T, db *sqldb.DB, name string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM collection_records WHERE collection = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestJournalRecords(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := setUp(t, db)
		ann, bob := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com")
		group := create(t, s, ann, "account_groups", `{"name":"Prop"}`)
		acct := create(t, s, ann, "trading_accounts", `{"number":"1","broker":"IC","currency":"USD","starting_balance":10000,"group_id":"`+group+`"}`)
		order := create(t, s, ann, "orders", `{"account_id":"`+acct+`","symbol":"EURUSD","side":"buy","quantity":1,"price":1.1,"executed_at":"2026-06-01T12:00:00Z"}`)
		create(t, s, ann, "fills", `{"order_id":"`+order+`","qty":1}`)

		// Validation: one error per failing pointer.
		_, err := s.Create(ctx(), ann, "", "trading_accounts", []byte(`{"number":"2","currency":"usd","extra":1}`))
		e := userd.ErrorOf(err)
		if e == nil || e.Kind != userd.KindInvalid {
			t.Fatalf("invalid record: %v", err)
		}
		var fields []string
		for _, f := range e.Fields {
			fields = append(fields, f.Field+":"+f.Code)
		}
		if got := strings.Join(fields, " "); !strings.Contains(got, "/broker:required") || !strings.Contains(got, "/currency:pattern") {
			t.Fatalf("fields = %s", got)
		}
		// Formats are asserted.
		if _, err := s.Create(ctx(), ann, "", "orders", []byte(`{"account_id":"`+acct+`","symbol":"X","side":"buy","quantity":1,"price":1,"executed_at":"yesterday"}`)); code(err) != "validation_failed" ||
			userd.ErrorOf(err).Fields[0].Field != "/executed_at" || userd.ErrorOf(err).Fields[0].Code != "format" {
			t.Fatalf("a bad date-time = %v", err)
		}
		// A unique key holds per owner; another user may reuse it.
		if _, err := s.Create(ctx(), ann, "", "trading_accounts", []byte(`{"number":"1","broker":"IC","currency":"EUR"}`)); code(err) != "unique_violation" {
			t.Fatalf("duplicate = %v", err)
		}
		create(t, s, bob, "trading_accounts", `{"number":"1","broker":"IC","currency":"EUR"}`)
		// A relation names a record of the same owner.
		if _, err := s.Create(ctx(), bob, "", "orders", []byte(`{"account_id":"`+acct+`","symbol":"X","side":"buy","quantity":1,"price":1,"executed_at":"2026-06-01T12:00:00Z"}`)); code(err) != "validation_failed" ||
			userd.ErrorOf(err).Fields[0].Code != "relation_not_found" {
			t.Fatalf("another owner's account = %v", err)
		}
		// Another user's record is not found.
		if _, err := s.Get(ctx(), bob, "", "trading_accounts", acct); !errors.Is(err, collection.ErrRecordNotFound) {
			t.Fatalf("bob reads ann's = %v", err)
		}
		// If-Match, PATCH.
		if _, err := s.Patch(ctx(), ann, "", "trading_accounts", acct, 5, []byte(`{"prop_firm":"FTMO"}`)); !errors.Is(err, collection.ErrStale) {
			t.Fatalf("stale patch = %v", err)
		}
		r, err := s.Patch(ctx(), ann, "", "trading_accounts", acct, 1, []byte(`{"prop_firm":"FTMO","starting_balance":null}`))
		if err != nil || r.Version != 2 || !strings.Contains(string(r.Data), `"prop_firm":"FTMO"`) || strings.Contains(string(r.Data), "starting_balance") {
			t.Fatalf("patch = %+v %v", r, err)
		}
		// set_null: the group goes, the account stays without it.
		if err := s.Delete(ctx(), ann, "", "account_groups", group, -1); err != nil {
			t.Fatal(err)
		}
		r, _ = s.Get(ctx(), ann, "", "trading_accounts", acct)
		if strings.Contains(string(r.Data), "group_id") || r.Version != 3 {
			t.Fatalf("after set_null: %s v%d", r.Data, r.Version)
		}
		// cascade through two relations: account → orders → fills.
		if err := s.Delete(ctx(), ann, "", "trading_accounts", acct, 3); err != nil {
			t.Fatal(err)
		}
		if o, f := count(t, db, "orders"), count(t, db, "fills"); o != 0 || f != 0 {
			t.Fatalf("after cascade: %d orders, %d fills", o, f)
		}
		// restrict.
		tag := create(t, s, ann, "tags", `{"name":"fomo","color":"#ff0000"}`)
		note := create(t, s, ann, "notes", `{"tag_id":"`+tag+`"}`)
		if err := s.Delete(ctx(), ann, "", "tags", tag, -1); code(err) != "restricted" {
			t.Fatalf("restricted delete = %v", err)
		}
		if err := s.Delete(ctx(), ann, "", "notes", note, -1); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx(), ann, "", "tags", tag, -1); err != nil {
			t.Fatal(err)
		}
		// A user's deletion removes every record of every collection.
		create(t, s, ann, "mood_entries", `{"day":"2026-06-01","mood":4}`)
		create(t, s, ann, "posts", `{"type":"bug_report","title":"Crash"}`)
		if _, err := db.SQL().Exec(`DELETE FROM users WHERE id = $1`, ann.UserID); err != nil {
			t.Fatal(err)
		}
		var left int
		db.SQL().QueryRow(`SELECT count(*) FROM collection_records WHERE user_id = $1`, ann.UserID).Scan(&left)
		if left != 0 || count(t, db, "trading_accounts") != 1 {
			t.Fatalf("after ann's deletion: %d of hers, %d accounts", left, count(t, db, "trading_accounts"))
		}
	})
}

func TestUniqueRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := setUp(t, db)
		ann := dbtest.User(t, db, "ann@example.com")
		errs := dbtest.AtOnce(8, func(int) error {
			_, err := s.Create(ctx(), ann, "", "mood_entries", []byte(`{"day":"2026-06-01","mood":3}`))
			return err
		})
		ok, dup := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case code(err) == "unique_violation":
				dup++
			default:
				t.Fatalf("race: %v", err)
			}
		}
		if ok != 1 || dup != 7 || count(t, db, "mood_entries") != 1 {
			t.Fatalf("race: %d created, %d duplicates, %d rows", ok, dup, count(t, db, "mood_entries"))
		}
	})
}

func TestLimitRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := collection.NewService(db, collection.Deps{MaxRecordBytes: 100})
		d := collection.Declaration{Owner: "user", Schema: obj(`{"n":{"type":"integer"},"s":{"type":"string"}}`), MaxRecordsPerOwner: 3}
		if _, err := s.Declare(ctx(), operator, userd.Client{}, "things", d); err != nil {
			t.Fatal(err)
		}
		ann := dbtest.User(t, db, "ann@example.com")
		errs := dbtest.AtOnce(8, func(i int) error {
			_, err := s.Create(ctx(), ann, "", "things", []byte(`{"n":1}`))
			return err
		})
		limited := 0
		for _, err := range errs {
			if errors.Is(err, collection.ErrLimit) {
				limited++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if limited != 5 || count(t, db, "things") != 3 {
			t.Fatalf("limit: %d refused, %d rows", limited, count(t, db, "things"))
		}
		bob := dbtest.User(t, db, "bob@example.com")
		if _, err := s.Create(ctx(), bob, "", "things", []byte(`{"s":"`+strings.Repeat("x", 100)+`"}`)); code(err) != "validation_failed" || userd.ErrorOf(err).Fields[0].Code != "too_large" {
			t.Fatalf("too large = %v", err)
		}
	})
}

func TestSchemaEvolution(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := setUp(t, db)
		ann := dbtest.User(t, db, "ann@example.com")
		create(t, s, ann, "tags", `{"name":"a"}`)
		create(t, s, ann, "tags", `{"name":"b"}`)
		d := journal(t)["tags"]
		props := d.Schema["properties"].(map[string]any)
		// An optional field: allowed.
		props["icon"] = map[string]any{"type": "string"}
		if a, err := s.Declare(ctx(), operator, userd.Client{}, "tags", d); err != nil || !a.Changed {
			t.Fatalf("optional field: %+v %v", a, err)
		}
		// A required field that the records lack: refused with their count.
		d.Schema["required"] = []any{"name", "icon"}
		_, err := s.Declare(ctx(), operator, userd.Client{}, "tags", d)
		var inv *collection.InvalidRecords
		if !errors.As(err, &inv) || inv.Count != 2 || len(inv.Err.Fields) != 2 || !strings.HasSuffix(inv.Err.Fields[0].Field, "/icon") {
			t.Fatalf("required field: %v", err)
		}
		// A unique key that two records share: refused.
		d.Schema["required"] = []any{"name"}
		create(t, s, ann, "tags", `{"name":"c","icon":"x"}`)
		create(t, s, ann, "tags", `{"name":"d","icon":"x"}`)
		d.Unique = append(d.Unique, []string{"icon"})
		if _, err := s.Declare(ctx(), operator, userd.Client{}, "tags", d); code(err) != "records_invalid" {
			t.Fatalf("shared unique key: %v", err)
		}
		// Without the key, the collection still takes records; force deletes it.
		if err := s.Drop(ctx(), operator, userd.Client{}, "tags", false); !errors.Is(err, collection.ErrReferenced) {
			t.Fatalf("drop referenced = %v", err)
		}
		if err := s.Drop(ctx(), operator, userd.Client{}, "notes", false); err != nil {
			t.Fatal(err)
		}
		if err := s.Drop(ctx(), operator, userd.Client{}, "tags", false); !errors.Is(err, collection.ErrNotEmpty) {
			t.Fatalf("drop non-empty = %v", err)
		}
		if err := s.Drop(ctx(), operator, userd.Client{}, "tags", true); err != nil || count(t, db, "tags") != 0 {
			t.Fatalf("force drop = %v", err)
		}
		if _, err := s.Declare(ctx(), userd.Actor{UserID: ann.UserID}, userd.Client{}, "x", d); !errors.Is(err, collection.ErrForbidden) {
			t.Fatalf("declare without permission = %v", err)
		}
		if _, err := s.Declare(ctx(), operator, userd.Client{}, "users", d); code(err) != "validation_failed" {
			t.Fatalf("declare users = %v", err)
		}
	})
}

func TestFind(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := setUp(t, db)
		ann := dbtest.User(t, db, "ann@example.com")
		acct := create(t, s, ann, "trading_accounts", `{"number":"1","broker":"IC","currency":"USD"}`)
		for _, at := range []string{"2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z", "2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z"} {
			create(t, s, ann, "orders", `{"account_id":"`+acct+`","symbol":"X","side":"buy","quantity":1,"price":1,"executed_at":"`+at+`"}`)
		}
		q := collection.Query{Where: []string{"account_id:eq:" + acct, "executed_at:gte:2026-06-01T11:00:00Z"}, Sort: "-executed_at", Limit: 2}
		var got []string
		for {
			p, err := s.Records(ctx(), ann, "", "orders", q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Records {
				var m map[string]any
				json.Unmarshal(r.Data, &m)
				got = append(got, m["executed_at"].(string)[11:13])
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if strings.Join(got, ",") != "14,13,12,11" {
			t.Fatalf("pages = %v", got)
		}
		if _, err := s.Records(ctx(), ann, "", "orders", collection.Query{Where: []string{"symbol:eq:X"}}); code(err) != "validation_failed" {
			t.Fatalf("filter on a field without index = %v", err)
		}
		// The plan of a filtered page names the collection's index, with
		// the filter as its condition (on PostgreSQL, in the system scope
		// that Records takes: see search).
		explain := "EXPLAIN QUERY PLAN "
		if db.Engine() == "postgres" {
			explain = "EXPLAIN "
		}
		var plan []string
		if err := db.View(sqldb.System(ctx()), func(tx *sqldb.Tx) error {
			f := tx.JSONField("data", "executed_at", sqldb.JSONText)
			rows, err := tx.Query(ctx(), explain+`SELECT id FROM collection_records WHERE collection = 'orders' AND user_id = $1 AND `+f+` >= $2 ORDER BY `+f+` DESC, id DESC LIMIT 21`,
				ann.UserID, "2026-06-01T11:00:00Z")
			if err != nil {
				return err
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				rows.Scan(ptrs...)
				for _, v := range vals {
					if b, ok := v.([]byte); ok {
						v = string(b)
					}
					if s, ok := v.(string); ok {
						plan = append(plan, s)
					}
				}
			}
			return rows.Err()
		}); err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "\n")
		cond := regexp.MustCompile(`Index Cond: .*executed_at|USING INDEX ci_orders_\w+ \(user_id=\? AND <expr>>\?\)`)
		if !strings.Contains(p, "ci_orders_") || !cond.MatchString(p) || strings.Contains(p, "Seq Scan") || strings.Contains(p, "SCAN collection_records\n") {
			t.Fatalf("plan:\n%s", p)
		}
		t.Logf("plan:\n%s", p)
	})
}

// TestReservedNames: every table of the schema is a name no collection
// may take.
func TestReservedNames(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		q := `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
		if db.Engine() == "postgres" {
			q = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
		}
		rows, err := db.SQL().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			n++
			if !collection.Reserved(name) {
				t.Errorf("table %s is not reserved", name)
			}
		}
		if n < 50 {
			t.Fatalf("only %d tables", n)
		}
	})
}

// FuzzRecordsQuery: whatever the filter, the sort and the cursor, a list
// answers a page or a validation error, never another error.
func FuzzRecordsQuery(f *testing.F) {
	f.Add("n:gte:1", "-n", "")
	f.Add("name:eq:a:b", "name", "eyJ2IjoxLCJpZCI6IngifQ")
	f.Add("n:lt:NaN", "x", "!!")
	f.Add("flag:eq:true", "-flag", "eyJ2IjoiYSIsImlkIjoiMDE5MDAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDBhIn0")
	db := dbtest.Open(f, "sqlite")
	s := collection.NewService(db, collection.Deps{})
	d := collection.Declaration{Owner: "user", Schema: obj(`{"n":{"type":"number"},"name":{"type":"string"},"flag":{"type":"boolean"}}`),
		Indexes: [][]string{{"n"}, {"name"}, {"flag"}}}
	if _, err := s.Declare(ctx(), operator, userd.Client{}, "things", d); err != nil {
		f.Fatal(err)
	}
	ann := dbtest.User(f, db, "ann@example.com")
	for _, data := range []string{`{"n":1,"name":"a","flag":true}`, `{"n":2.5,"name":"b"}`, `{"flag":false}`} {
		if _, err := s.Create(ctx(), ann, "", "things", []byte(data)); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, where, sort, cursor string) {
		p, err := s.Records(ctx(), ann, "", "things", collection.Query{Where: []string{where}, Sort: sort, Cursor: cursor, Limit: 1})
		if err != nil && userd.ErrorKind(err) != userd.KindInvalid {
			t.Fatalf("where %q sort %q cursor %q: %v", where, sort, cursor, err)
		}
		if err == nil && len(p.Records) > 1 {
			t.Fatalf("%d records on a page of 1", len(p.Records))
		}
	})
}

// TestExpireChanges: the clean-up deletes the changes older than a week,
// and only those.
func TestExpireChanges(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := setUp(t, db)
		ann := dbtest.User(t, db, "ann@example.com")
		create(t, s, ann, "tags", `{"name":"a"}`)
		for _, c := range []struct {
			after time.Duration
			want  int64
		}{{6 * 24 * time.Hour, 0}, {collection.ChangesKept + time.Minute, 1}} {
			var n int64
			err := db.Tx(sqldb.System(ctx()), func(tx *sqldb.Tx) (err error) {
				n, err = collection.Expire(ctx(), tx, time.Now().Add(c.after))
				return err
			})
			if err != nil || n != c.want {
				t.Fatalf("expire %v later = %d, %v; want %d", c.after, n, err, c.want)
			}
		}
	})
}

// TestDeclarationWaitsForWriters: a record write that is under way when a
// stricter declaration comes never commits a record the new declaration
// forbids: either the write lands first and the declaration is refused
// for it (records_invalid), or the declaration lands first and the write
// is checked against it. PostgreSQL only: SQLite's one writer already
// serialises them.
func TestDeclarationWaitsForWriters(t *testing.T) {
	db := dbtest.Open(t, "postgres")
	s := collection.NewService(db, collection.Deps{})
	loose := collection.Declaration{Owner: "user", Schema: obj(`{"t":{"type":"string"}}`, "t"), MaxRecordsPerOwner: 100}
	if _, err := s.Declare(ctx(), operator, userd.Client{}, "notes", loose); err != nil {
		t.Fatal(err)
	}
	ann := dbtest.User(t, db, "ann@example.com")
	// A transaction that holds ann's row keeps her write waiting after it
	// read the declaration (the write locks its owner to count records).
	hold, err := db.SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, ann.UserID); err != nil {
		t.Fatal(err)
	}
	wrote, declared := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := s.Create(ctx(), ann, "", "notes", []byte(`{"t":"much too long"}`))
		wrote <- err
	}()
	time.Sleep(300 * time.Millisecond) // the write reads the declaration, then waits
	strict := loose
	strict.Schema = obj(`{"t":{"type":"string","maxLength":3}}`, "t")
	go func() {
		_, err := s.Declare(ctx(), operator, userd.Client{}, "notes", strict)
		declared <- err
	}()
	time.Sleep(300 * time.Millisecond)
	hold.Rollback()
	werr, derr := <-wrote, <-declared
	stored := count(t, db, "notes")
	switch {
	case werr == nil && code(derr) == "records_invalid" && stored == 1:
	case derr == nil && werr != nil && stored == 0:
	default:
		t.Fatalf("write %v, declaration %v, %d records stored: a record the declaration forbids may be there", werr, derr, stored)
	}
}
