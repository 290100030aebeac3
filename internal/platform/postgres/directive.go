package postgres

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"time"
)

// Directives
//
// A migration file may hold userd directives: comment lines that Migrations
// replaces, before goose reads the file, by the statements they stand for.
// There is one:
//
//	-- +userd owned-by TABLE.COLUMN
//
// It says that each row of TABLE belongs to the user whose id is in COLUMN
// (user_id; id for users, follower_id for user_follows), and in an Up
// section it stands for the four statements of that table's row-level
// security:
//
//	ALTER TABLE TABLE ENABLE ROW LEVEL SECURITY;
//	ALTER TABLE TABLE FORCE ROW LEVEL SECURITY;
//	CREATE POLICY TABLE_app ON TABLE TO userd_app
//	    USING (COLUMN = NULLIF(current_setting('userd.user_id', true), '')::uuid)
//	    WITH CHECK (COLUMN = NULLIF(current_setting('userd.user_id', true), '')::uuid);
//	CREATE POLICY TABLE_system ON TABLE TO userd_system USING (true) WITH CHECK (true);
//
// In a Down section it stands for the four that undo them, last first:
//
//	DROP POLICY TABLE_system ON TABLE;
//	DROP POLICY TABLE_app ON TABLE;
//	ALTER TABLE TABLE NO FORCE ROW LEVEL SECURITY;
//	ALTER TABLE TABLE DISABLE ROW LEVEL SECURITY;
//
// (A Down section that drops the table needs no directive: DROP TABLE drops
// its policies.) The text is exactly what the migrations spelt out before
// the directive existed, so databases that ran them are in the state that
// fresh ones reach. A table whose policies differ (activity_logs, append
// only) writes them out instead.
//
// The directive starts its line, at column 0, after the file's
// "-- +goose Up" and outside any statement and any StatementBegin/End
// block. TABLE and COLUMN are lower-case unquoted names. Any other comment
// whose text starts with "+", other than goose's "-- +goose" annotations,
// is an error, and so is a directive out of place: Migrations panics,
// naming the file and line, rather than let a misspelt directive leave a
// table without its policies. A comment that mentions +userd further on is
// prose.

// directiveMark marks a comment line as a userd directive.
const directiveMark = "+userd"

// sqlName is an unquoted PostgreSQL name as the migrations write them.
var sqlName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// maxName is the longest name PostgreSQL keeps (NAMEDATALEN - 1 bytes); a
// longer one is silently cut, which would change a policy's name.
const maxName = 63

// ownedBy returns the statements of "-- +userd owned-by table.column", for
// an Up section (up) or a Down section.
func ownedBy(table, column string, up bool) string {
	if !up {
		return "DROP POLICY " + table + "_system ON " + table + ";\n" +
			"DROP POLICY " + table + "_app ON " + table + ";\n" +
			"ALTER TABLE " + table + " NO FORCE ROW LEVEL SECURITY;\n" +
			"ALTER TABLE " + table + " DISABLE ROW LEVEL SECURITY;\n"
	}
	// userd.user_id is the setting that beginScope gives a user's
	// transaction; an empty one (no user) matches no row.
	owner := column + " = NULLIF(current_setting('userd.user_id', true), '')::uuid"
	return "ALTER TABLE " + table + " ENABLE ROW LEVEL SECURITY;\n" +
		"ALTER TABLE " + table + " FORCE ROW LEVEL SECURITY;\n" +
		"CREATE POLICY " + table + "_app ON " + table + " TO " + AppRole + "\n" +
		"    USING (" + owner + ")\n" +
		"    WITH CHECK (" + owner + ");\n" +
		"CREATE POLICY " + table + "_system ON " + table + " TO " + SystemRole + " USING (true) WITH CHECK (true);\n"
}

// parseDirective reads a comment line whose text starts with "+".
func parseDirective(line string) (table, column string, err error) {
	const syntax = `want "-- +userd owned-by TABLE.COLUMN" at the start of the line`
	if line != strings.TrimLeft(line, " \t") {
		return "", "", fmt.Errorf("directive %q is indented; %s", line, syntax)
	}
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "--" || f[1] != directiveMark {
		// "--+userd", "-- + userd", "-- +usrd", or a verb missing.
		return "", "", fmt.Errorf("malformed directive %q; %s", line, syntax)
	}
	if f[2] != "owned-by" {
		return "", "", fmt.Errorf("unknown directive %q in %q; %s", f[2], line, syntax)
	}
	if len(f) != 4 {
		return "", "", fmt.Errorf("directive %q takes one TABLE.COLUMN; %s", line, syntax)
	}
	table, column, ok := strings.Cut(f[3], ".")
	if !ok || !sqlName.MatchString(table) || !sqlName.MatchString(column) {
		return "", "", fmt.Errorf("directive %q: %q is not TABLE.COLUMN in lower-case unquoted names", line, f[3])
	}
	if len(table+"_system") > maxName || len(column) > maxName {
		return "", "", fmt.Errorf("directive %q: a name is longer than PostgreSQL's %d bytes", line, maxName)
	}
	return table, column, nil
}

// expandDirectives returns a migration's text with each directive replaced
// by its statements, and every other byte as it was; file names the
// migration in errors.
func expandDirectives(file string, text []byte) ([]byte, error) {
	var out bytes.Buffer
	const (
		head = iota // before "-- +goose Up"
		up
		down
	)
	section := head
	block := false     // between StatementBegin and StatementEnd
	statement := false // a statement has begun and not ended with ";"
	for i, line := range strings.SplitAfter(string(text), "\n") {
		bare := strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(bare)
		switch {
		case !strings.HasPrefix(trimmed, "--"):
			if trimmed != "" && !block {
				statement = !endsStatement(trimmed)
			}
		case strings.Contains(trimmed, "+goose"):
			// goose's annotations are case-insensitive.
			switch strings.ToLower(strings.TrimSpace(strings.SplitN(trimmed, "+goose", 2)[1])) {
			case "up":
				section, block, statement = up, false, false
			case "down":
				section, block, statement = down, false, false
			case "statementbegin":
				block = true
			case "statementend":
				block, statement = false, false
			}
		case strings.HasPrefix(strings.TrimSpace(trimmed[2:]), "+"):
			table, column, err := parseDirective(bare)
			switch {
			case err != nil:
			case section == head:
				err = fmt.Errorf("directive %q comes before -- +goose Up", bare)
			case block:
				err = fmt.Errorf("directive %q is inside a StatementBegin/End block", bare)
			case statement:
				err = fmt.Errorf("directive %q is inside a statement (the line before it has not ended it with ;)", bare)
			}
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, i+1, err)
			}
			out.WriteString(ownedBy(table, column, section == up))
			continue
		}
		out.WriteString(line)
	}
	return out.Bytes(), nil
}

// endsStatement reports whether a line of SQL ends its statement: its last
// word before any "--" comment ends with a semicolon, the rule goose splits
// statements by.
func endsStatement(line string) bool {
	last := ""
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "--") {
			break
		}
		last = w
	}
	return strings.HasSuffix(last, ";")
}

// expandMigrations returns fsys with the directives of each of its .sql
// files expanded; it reads and checks them all at once.
func expandMigrations(fsys fs.FS) (fs.FS, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	e := expandedFS{FS: fsys, sql: make(map[string][]byte, len(files))}
	for _, f := range files {
		text, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		if e.sql[f], err = expandDirectives(path.Join("migrations", f), text); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// expandedFS is a folder of migrations whose .sql files read as expanded;
// directories and their listings come from the folder itself.
type expandedFS struct {
	fs.FS
	sql map[string][]byte
}

func (e expandedFS) Open(name string) (fs.File, error) {
	text, ok := e.sql[name]
	if !ok {
		return e.FS.Open(name)
	}
	return &expandedFile{Reader: bytes.NewReader(text), name: path.Base(name), size: int64(len(text))}, nil
}

func (e expandedFS) ReadFile(name string) ([]byte, error) {
	if text, ok := e.sql[name]; ok {
		return bytes.Clone(text), nil
	}
	return fs.ReadFile(e.FS, name)
}

// expandedFile is an open expanded migration.
type expandedFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *expandedFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *expandedFile) Close() error               { return nil }

// expandedFile is its own fs.FileInfo.
func (f *expandedFile) Name() string       { return f.name }
func (f *expandedFile) Size() int64        { return f.size }
func (f *expandedFile) Mode() fs.FileMode  { return 0o444 }
func (f *expandedFile) ModTime() time.Time { return time.Time{} }
func (f *expandedFile) IsDir() bool        { return false }
func (f *expandedFile) Sys() any           { return nil }
