package postgres

// For the tests of directive.go.
var (
	ExpandDirectives = expandDirectives
	ExpandMigrations = expandMigrations
	Expanded         = expanded
)

// For the tests of backup.go.
var LibpqEnv = libpqEnv
