// Package collection owns collections and collection_records: kinds of
// records that an operator declares for an application (a trading
// journal's accounts, orders, tags…), each record a JSON object owned by one
// user or one organisation and validated by the collection's JSON Schema
// (draft 2020-12).
//
// A declaration's unique keys, indexes and relation fields become partial
// expression indexes on collection_records, one per key, made in the
// transaction that declares them (WHERE collection = 'NAME', the owner's
// column first). Uniqueness under races is the database's; filters and
// sorting read exactly the indexed expressions (sqldb.Tx.JSONField), so
// that the planner uses the indexes. Collection names and field names are
// validated identifiers before they reach SQL; values are always bound.
//
// A user's records are read and written in their own scope, where
// PostgreSQL's row-level security is the second wall behind the owner
// filter of every query. An organisation's records are read in the
// member's scope (the policy admits members) and written in a system scope
// once this package has checked the member's role, so that the
// organisation's row can be locked to count its records.
package collection

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// WritePermission lets an administrator declare, change and delete
// collections.
const WritePermission = "collections:write"

// The owners of a collection's records.
const (
	OwnerUser         = "user"
	OwnerOrganization = "organization"
)

// The rules of a relation when the record it points at is deleted.
const (
	Cascade  = "cascade"  // the pointing records are deleted too
	SetNull  = "set_null" // the field is removed from the pointing records
	Restrict = "restrict" // the deletion is refused (ErrRestricted)
)

// Bounds.
const (
	// DefaultMaxRecordBytes bounds a record's data, in bytes of JSON,
	// unless the operator says otherwise.
	DefaultMaxRecordBytes = 64 << 10
	// MaxKeyFields bounds the fields of a unique key or an index.
	MaxKeyFields = 4
	// MaxKeys bounds a declaration's unique keys, indexes and relations,
	// each.
	MaxKeys = 16
	// MaxCascade bounds the records that one deletion removes or changes
	// through relations, the record itself included
	// (ErrTooManyDependents).
	MaxCascade = 10_000
)

// Errors of the Service.
var (
	ErrForbidden         = userd.Errorf(userd.KindForbidden, "permission_required", "Changing collections needs the permission collections:write.")
	ErrNotFound          = userd.Errorf(userd.KindNotFound, "collection_not_found", "No such collection.")
	ErrRecordNotFound    = userd.Errorf(userd.KindNotFound, "record_not_found", "No such record.")
	ErrStale             = userd.Errorf(userd.KindPreconditionFailed, "version_mismatch", "The record changed since that version: read it again.")
	ErrNotEmpty          = userd.Errorf(userd.KindConflict, "collection_not_empty", "The collection has records: delete them first, or delete with force=true.")
	ErrReferenced        = userd.Errorf(userd.KindConflict, "collection_referenced", "Another collection's relation points at this one: change that declaration first.")
	ErrRestricted        = userd.Errorf(userd.KindConflict, "restricted", "Other records point at this record through a relation whose rule is restrict: delete or change them first.")
	ErrTooManyDependents = userd.Errorf(userd.KindConflict, "too_many_dependents",
		fmt.Sprintf("This deletion would remove or change more than %d records: delete their dependents first.", MaxCascade))
	ErrLimit   = userd.Errorf(userd.KindConflict, "record_limit", "The owner has as many records of this collection as the declaration allows.")
	ErrOrgRole = userd.Errorf(userd.KindForbidden, "organization_role_required", "Your role in the organization does not allow writing these records.")
)

// Relation says that a field holds the id of a record of another
// collection (or the same one) with the same owner, and what deleting that
// record does to the records that point at it.
type Relation struct {
	Collection string `json:"collection"`
	OnDelete   string `json:"on_delete"`
}

// Declaration is what an operator declares of a collection. It is also the
// stored form, in collections.declaration, and the form of `userd
// collections apply`.
type Declaration struct {
	Owner   string         `json:"owner"`
	Schema  map[string]any `json:"schema"`
	Unique  [][]string     `json:"unique,omitempty"`
	Indexes [][]string     `json:"indexes,omitempty"`
	// Relations are keyed by the field that points.
	Relations map[string]Relation `json:"relations,omitempty"`
	// MaxRecordsPerOwner bounds each owner's records; 0 for no bound.
	MaxRecordsPerOwner int `json:"max_records_per_owner,omitempty"`
	// MembersWrite lets every member of an organisation write its records,
	// not only its admins and owners.
	MembersWrite bool `json:"members_write,omitempty"`
	// Webhooks makes every creation, change and deletion of a record an
	// event of the webhook catalogue (collection.record.*).
	Webhooks bool `json:"webhooks,omitempty"`
}

// Collection is a declared collection.
type Collection struct {
	Name                 string
	Declaration          Declaration
	CreatedAt, UpdatedAt time.Time
}

// Deps are what a Service works with.
type Deps struct {
	// MaxRecordBytes bounds a record's data (DefaultMaxRecordBytes when 0).
	MaxRecordBytes int
}

// Service serves collections and their records.
type Service struct {
	db       *sqldb.DB
	deps     Deps
	compiled sync.Map // name → *compiled, the latest declaration read
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, d Deps) *Service {
	if d.MaxRecordBytes <= 0 {
		d.MaxRecordBytes = DefaultMaxRecordBytes
	}
	return &Service{db: db, deps: d}
}

// load returns the collection's compiled declaration as tx reads it; the
// compilation is kept until the declaration changes.
func (s *Service) load(ctx context.Context, tx *sqldb.Tx, name string) (*compiled, error) {
	if !namePattern.MatchString(name) {
		return nil, ErrNotFound
	}
	// The declaration's time first: the declaration itself only when it
	// changed since this process compiled it.
	var updated time.Time
	err := tx.QueryRow(ctx, `SELECT updated_at FROM collections WHERE name = $1`, name).Scan(&updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read collection %s: %w", name, err)
	}
	if c, ok := s.compiled.Load(name); ok && c.(*compiled).updated.Equal(updated) {
		return c.(*compiled), nil
	}
	var raw []byte
	if err := tx.QueryRow(ctx, `SELECT declaration FROM collections WHERE name = $1`, name).Scan(&raw); err != nil {
		return nil, fmt.Errorf("read collection %s: %w", name, err)
	}
	var d Declaration
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("collection %s: declaration: %w", name, err)
	}
	c, fs := compile(name, d)
	if len(fs) > 0 {
		return nil, fmt.Errorf("collection %s: stored declaration: %w", name, userd.Invalid(fs))
	}
	c.updated = updated
	s.compiled.Store(name, c)
	return c, nil
}

// names returns every collection's name, in order.
func names(ctx context.Context, tx *sqldb.Tx) ([]string, error) {
	ns, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT name FROM collections ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	return ns, nil
}

// pointing returns the collections with a relation to target, with the
// relation's field.
func (s *Service) pointing(ctx context.Context, tx *sqldb.Tx, target string) ([]pointer, error) {
	ns, err := names(ctx, tx)
	if err != nil {
		return nil, err
	}
	var ps []pointer
	for _, n := range ns {
		c, err := s.load(ctx, tx, n)
		if err != nil {
			return nil, err
		}
		for _, f := range sortedKeys(c.decl.Relations) {
			if r := c.decl.Relations[f]; r.Collection == target {
				ps = append(ps, pointer{from: c, field: f, rule: r.OnDelete})
			}
		}
	}
	return ps, nil
}

// pointer is a relation seen from the collection it points at.
type pointer struct {
	from  *compiled
	field string
	rule  string
}
