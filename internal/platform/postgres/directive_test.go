package postgres_test

import (
	"bufio"
	"bytes"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd/internal/platform/postgres"
)

// TestOwnedByExpands: a directive becomes exactly the statements that the
// migrations spelt out before it existed (in an Up section) or that undid
// them (in a Down section), and every other byte stays as it was.
func TestOwnedByExpands(t *testing.T) {
	in := "-- Purpose: x; mentions -- +userd in prose, which stays.\n" +
		"-- +goose Up\n" +
		"CREATE TABLE t (\n    user_id uuid\n);\n" +
		"-- +userd owned-by sessions.user_id\n" +
		"-- +userd owned-by users.id\n" +
		"\n" +
		"-- +goose Down\n" +
		"-- +userd owned-by sessions.user_id\n" +
		"DROP TABLE t;\n"
	want := "-- Purpose: x; mentions -- +userd in prose, which stays.\n" +
		"-- +goose Up\n" +
		"CREATE TABLE t (\n    user_id uuid\n);\n" +
		`ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY sessions_app ON sessions TO userd_app
    USING (user_id = NULLIF(current_setting('userd.user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('userd.user_id', true), '')::uuid);
CREATE POLICY sessions_system ON sessions TO userd_system USING (true) WITH CHECK (true);
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_app ON users TO userd_app
    USING (id = NULLIF(current_setting('userd.user_id', true), '')::uuid)
    WITH CHECK (id = NULLIF(current_setting('userd.user_id', true), '')::uuid);
CREATE POLICY users_system ON users TO userd_system USING (true) WITH CHECK (true);
` +
		"\n" +
		"-- +goose Down\n" +
		`DROP POLICY sessions_system ON sessions;
DROP POLICY sessions_app ON sessions;
ALTER TABLE sessions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE sessions DISABLE ROW LEVEL SECURITY;
` +
		"DROP TABLE t;\n"
	got, err := postgres.ExpandDirectives("x.sql", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("expansion (-want +got):\n%s", diff)
	}
	// A file without directives is returned as it is, to the byte.
	plain := "-- +goose Up\r\n-- +goose StatementBegin\nDO $$ BEGIN END $$;\n-- +goose StatementEnd\n-- +goose Down\nSELECT 1;"
	if got, err := postgres.ExpandDirectives("x.sql", []byte(plain)); err != nil || string(got) != plain {
		t.Errorf("a file without directives became %q, %v", got, err)
	}
}

// TestBadDirectivesFail: a directive that is unknown, malformed or out of
// place is an error that names the file and line, never a comment that
// goose would skip.
func TestBadDirectivesFail(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"unknown verb", "-- +goose Up\n-- +userd owns sessions.user_id\n", "x.sql:2: unknown directive \"owns\""},
		{"misspelt mark", "-- +goose Up\n-- +usrd owned-by sessions.user_id\n", "x.sql:2: malformed directive"},
		{"no space after --", "-- +goose Up\n--+userd owned-by sessions.user_id\n", "malformed directive"},
		{"space inside the mark", "-- +goose Up\n-- + userd owned-by sessions.user_id\n", "malformed directive"},
		{"no verb", "-- +goose Up\n-- +userd\n", "malformed directive"},
		{"no argument", "-- +goose Up\n-- +userd owned-by\n", "takes one TABLE.COLUMN"},
		{"two arguments", "-- +goose Up\n-- +userd owned-by sessions user_id\n", "takes one TABLE.COLUMN"},
		{"trailing words", "-- +goose Up\n-- +userd owned-by sessions.user_id -- note\n", "takes one TABLE.COLUMN"},
		{"no column", "-- +goose Up\n-- +userd owned-by sessions\n", "is not TABLE.COLUMN"},
		{"empty column", "-- +goose Up\n-- +userd owned-by sessions.\n", "is not TABLE.COLUMN"},
		{"schema-qualified", "-- +goose Up\n-- +userd owned-by public.sessions.user_id\n", "is not TABLE.COLUMN"},
		{"upper case", "-- +goose Up\n-- +userd owned-by Sessions.user_id\n", "is not TABLE.COLUMN"},
		{"quoted", "-- +goose Up\n-- +userd owned-by \"sessions\".user_id\n", "is not TABLE.COLUMN"},
		{"injection", "-- +goose Up\n-- +userd owned-by sessions.user_id;DROP\n", "is not TABLE.COLUMN"},
		{"too long", "-- +goose Up\n-- +userd owned-by " + strings.Repeat("t", 57) + ".user_id\n", "longer than PostgreSQL's 63 bytes"},
		{"indented", "-- +goose Up\n  -- +userd owned-by sessions.user_id\n", "is indented"},
		{"before Up", "-- +userd owned-by sessions.user_id\n-- +goose Up\n", "x.sql:1: directive \"-- +userd owned-by sessions.user_id\" comes before -- +goose Up"},
		{"in a block", "-- +goose Up\n-- +goose StatementBegin\nDO $$\n-- +userd owned-by sessions.user_id\n$$;\n-- +goose StatementEnd\n", "x.sql:4: directive \"-- +userd owned-by sessions.user_id\" is inside a StatementBegin/End block"},
		{"in a statement", "-- +goose Up\nCREATE TABLE t (\n-- +userd owned-by sessions.user_id\n    id uuid);\n", "x.sql:3: directive \"-- +userd owned-by sessions.user_id\" is inside a statement"},
		{"after a statement's comment", "-- +goose Up\nSELECT 1 -- no semicolon yet\n-- +userd owned-by sessions.user_id\n;\n", "is inside a statement"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := postgres.ExpandDirectives("x.sql", []byte(c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("expanded to %q, error %v; want an error with %q", got, err, c.want)
			}
		})
	}
	// A whole folder fails with its first bad file.
	_, err := postgres.ExpandMigrations(fstest.MapFS{
		"00001_ok.sql":  {Data: []byte("-- +goose Up\n-- +userd owned-by users.id\n")},
		"00002_bad.sql": {Data: []byte("-- +goose Up\n-- +userd owned_by users.id\n")},
	})
	if err == nil || !strings.Contains(err.Error(), "migrations/00002_bad.sql:2: unknown directive") {
		t.Fatalf("a folder with a bad directive: %v", err)
	}
}

// TestEmbeddedMigrationsExpand: the migrations that userd embeds all
// expand; no directive is left for goose to skip as a comment; each file
// reads the same through Open, Stat and ReadFile; and the generated
// policies are the ones the migrations name.
func TestEmbeddedMigrationsExpand(t *testing.T) {
	fsys, err := postgres.Expanded()
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil || len(files) < 20 {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	generated := 0
	for _, name := range files {
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := fsys.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		opened, err := io.ReadAll(f)
		info, statErr := f.Stat()
		f.Close()
		if err != nil || statErr != nil || !bytes.Equal(opened, text) || info.Size() != int64(len(text)) || info.Name() != name || info.IsDir() {
			t.Errorf("%s: Open reads %d bytes (%v), Stat %v %v; ReadFile %d bytes", name, len(opened), err, info, statErr, len(text))
		}
		lines := bufio.NewScanner(bytes.NewReader(text))
		for lines.Scan() {
			if strings.HasPrefix(strings.TrimSpace(lines.Text()), "-- +userd") {
				t.Errorf("%s: directive left unexpanded: %s", name, lines.Text())
			}
			if strings.HasSuffix(lines.Text(), "TO userd_system USING (true) WITH CHECK (true);") {
				generated++
			}
		}
	}
	// users, sessions, refresh_tokens and user_roles in 00009, 16 tables in
	// later migrations (activity_logs is written out, not counted); more
	// when a migration adds a user's table.
	if generated < 20 {
		t.Errorf("%d tables get the generated policies; want at least 20", generated)
	}
}
