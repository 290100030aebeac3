package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
)

// Migration is one migration and its state in a database.
type Migration struct {
	Version     int64
	Description string    // the file name without its number and extension
	AppliedAt   time.Time // zero when pending
}

// MigrateOver makes the migrations run over m, which Close closes too: a
// pool that reaches the database itself where the write pool goes through
// a pooler, which cannot keep the session's advisory lock that serialises
// the migrations of processes that start together.
func (db *DB) MigrateOver(m *sql.DB) { db.migrate = m }

// provider builds a goose provider over the migrations' pool.
func (db *DB) provider() (*goose.Provider, error) {
	pool := db.write
	if db.migrate != nil {
		pool = db.migrate
	}
	fsys, dialect, locker := db.dialect.Migrations()
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, pool, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// MigrateUp applies every pending migration and returns the versions it
// applied. Processes that start together against one PostgreSQL database
// serialise on an advisory lock, so each migration runs once.
func (db *DB) MigrateUp(ctx context.Context) ([]int64, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	versions := make([]int64, len(res))
	for i, r := range res {
		versions[i] = r.Source.Version
	}
	return versions, nil
}

// MigrateDown rolls back the latest applied migration and returns its
// version. It returns 0 when nothing is applied.
func (db *DB) MigrateDown(ctx context.Context) (int64, error) {
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	res, err := p.Down(ctx)
	if err != nil {
		if errors.Is(err, goose.ErrNoNextVersion) {
			return 0, nil
		}
		return 0, fmt.Errorf("migrate down: %w", err)
	}
	return res.Source.Version, nil
}

// MigrationStatus lists every known migration with its applied time.
func (db *DB) MigrationStatus(ctx context.Context) ([]Migration, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]Migration, len(st))
	for i, s := range st {
		out[i] = Migration{Version: s.Source.Version, Description: describe(s.Source.Path)}
		if s.State == goose.StateApplied {
			out[i].AppliedAt = s.AppliedAt.UTC()
		}
	}
	return out, nil
}

// MigrationsPending reports whether a migration is waiting to be applied.
func (db *DB) MigrationsPending(ctx context.Context) (bool, error) {
	p, err := db.provider()
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return pending, nil
}

// MigrationVersion returns the version of the latest migration applied,
// 0 when none is.
func (db *DB) MigrationVersion(ctx context.Context) (int64, error) {
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migration version: %w", err)
	}
	return v, nil
}

// describe turns "00001_users.sql" into "users".
func describe(file string) string {
	name := strings.TrimSuffix(path.Base(file), path.Ext(file))
	if _, rest, ok := strings.Cut(name, "_"); ok {
		return strings.ReplaceAll(rest, "_", " ")
	}
	return name
}

// LatestMigration returns the version of the latest migration this binary
// knows.
func (db *DB) LatestMigration() (int64, error) {
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, s := range p.ListSources() {
		latest = max(latest, s.Version)
	}
	return latest, nil
}
