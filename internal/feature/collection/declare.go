package collection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// SampleSize is how many records a records_invalid answer shows.
const SampleSize = 5

// InvalidRecords refuses a declaration that existing records would break
// (code records_invalid): Count of them break it; the error's Fields are a
// sample, each a JSON pointer under /records/ID.
type InvalidRecords struct {
	Count int
	Err   *userd.Error
}

func (e *InvalidRecords) Error() string { return e.Err.Error() }

// Unwrap returns the userd.Error.
func (e *InvalidRecords) Unwrap() error { return e.Err }

func invalidRecords(name string, count int, sample []userd.FieldError) error {
	return &InvalidRecords{Count: count, Err: &userd.Error{Kind: userd.KindConflict, Code: "records_invalid",
		Message: fmt.Sprintf("%d records of %s would break the new declaration: change them first.", count, name), Fields: sample}}
}

// Applied is a collection as Apply left it: Created when it is new,
// Changed when its declaration changed (neither when the same declaration
// was applied again).
type Applied struct {
	Collection
	Created, Changed bool
}

// Declare makes or changes one collection; see Apply.
func (s *Service) Declare(ctx context.Context, a userd.Actor, c userd.Client, name string, d Declaration) (Applied, error) {
	as, err := s.apply(ctx, a, c, map[string]Declaration{name: d}, "")
	if err != nil {
		return Applied{}, err
	}
	return as[0], nil
}

// Apply makes or changes every collection of decls in one transaction,
// in the order of their names, and audits each change
// (collection.declared); a declaration equal to the stored one changes
// nothing. A change is checked against the collection's records: when a
// record would break the new schema, point at no record of a relation's
// collection, or share a new unique key, it returns *InvalidRecords.
// Indexes are made and dropped in the same transaction. It returns
// ErrForbidden without collections:write, and a validation error (fields
// under NAME/) for a declaration that is not one.
func (s *Service) Apply(ctx context.Context, a userd.Actor, c userd.Client, decls map[string]Declaration) ([]Applied, error) {
	return s.apply(ctx, a, c, decls, "/")
}

// apply is Apply; sep, when not empty, prefixes field errors with the
// collection's name.
func (s *Service) apply(ctx context.Context, a userd.Actor, cl userd.Client, decls map[string]Declaration, sep string) ([]Applied, error) {
	if !a.Grants.Has(WritePermission) {
		return nil, ErrForbidden
	}
	var fs []userd.FieldError
	news := map[string]*compiled{}
	for _, name := range sortedKeys(decls) {
		c, errs := compile(name, decls[name])
		for _, f := range errs {
			if sep != "" {
				f.Field = name + sep + f.Field
			}
			fs = append(fs, f)
		}
		news[name] = c
	}
	if err := userd.Invalid(fs); err != nil {
		return nil, err
	}
	var out []Applied
	// System: declarations are the operator's, and a change reads every
	// owner's records.
	err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		out = nil
		if err := tx.LockWrites(ctx, "collections"); err != nil {
			return fmt.Errorf("lock collections: %w", err)
		}
		if err := s.checkTargets(ctx, tx, news, sep); err != nil {
			return err
		}
		for _, name := range sortedKeys(news) {
			ap, err := s.declare(ctx, tx, cl, news[name])
			if err != nil {
				return err
			}
			out = append(out, ap)
		}
		return nil
	})
	return out, err
}

// checkTargets checks that every relation points at a collection, declared
// now or before, whose records have the same kind of owner.
func (s *Service) checkTargets(ctx context.Context, tx *sqldb.Tx, news map[string]*compiled, sep string) error {
	var fs []userd.FieldError
	for _, name := range sortedKeys(news) {
		c := news[name]
		for _, f := range sortedKeys(c.decl.Relations) {
			target := c.decl.Relations[f].Collection
			owner := ""
			if t, ok := news[target]; ok {
				owner = t.decl.Owner
			} else if t, err := s.load(ctx, tx, target); err == nil {
				owner = t.decl.Owner
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			if owner != c.decl.Owner {
				field := "relations/" + f
				if sep != "" {
					field = name + sep + field
				}
				fs = append(fs, userd.FieldError{Field: field, Code: "invalid_relation",
					Message: "A relation points at a declared collection whose records have the same kind of owner."})
			}
		}
	}
	return userd.Invalid(fs)
}

// declare stores one compiled declaration, with its indexes, in tx.
func (s *Service) declare(ctx context.Context, tx *sqldb.Tx, cl userd.Client, c *compiled) (Applied, error) {
	raw, err := json.Marshal(c.decl)
	if err != nil {
		return Applied{}, fmt.Errorf("collection %s: %w", c.name, err)
	}
	// Writers of its records hold the lock from before they read the
	// declaration until they commit: this one is checked against what they
	// wrote, and they see it.
	if err := tx.LockName(ctx, declarationLock(c.name), false); err != nil {
		return Applied{}, err
	}
	old, err := s.load(ctx, tx, c.name)
	switch {
	case errors.Is(err, ErrNotFound):
		old = nil
	case err != nil:
		return Applied{}, err
	}
	ap := Applied{Collection: Collection{Name: c.name, Declaration: c.decl, CreatedAt: tx.Now, UpdatedAt: tx.Now}, Created: old == nil, Changed: old != nil}
	if old != nil {
		if ap.CreatedAt, err = created(ctx, tx, c.name); err != nil {
			return Applied{}, err
		}
		was, err := json.Marshal(old.decl)
		if err != nil {
			return Applied{}, fmt.Errorf("collection %s: %w", c.name, err)
		}
		if string(was) == string(raw) {
			ap.Changed = false
			ap.UpdatedAt = old.updated.UTC()
			return ap, nil
		}
		if old.decl.Owner != c.decl.Owner {
			return Applied{}, userd.Invalid([]userd.FieldError{{Field: "owner", Code: "owner_fixed", Message: "A collection's kind of owner does not change: declare another collection."}})
		}
		if err := s.verify(ctx, tx, c); err != nil {
			return Applied{}, err
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO collections (name, owner, declaration, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (name) DO UPDATE SET declaration = excluded.declaration, updated_at = excluded.updated_at`, c.name, c.decl.Owner, string(raw), tx.Now)
	if err != nil {
		return Applied{}, fmt.Errorf("store collection %s: %w", c.name, err)
	}
	if err := reindex(ctx, tx, old, c); err != nil {
		return Applied{}, err
	}
	return ap, audit.Record(ctx, tx, audit.Event{Action: audit.CollectionDeclared, TargetType: "collection", TargetID: c.name,
		IP: cl.IP, UserAgent: cl.UserAgent, Metadata: map[string]any{"created": ap.Created}})
}

// created reads when a collection was first declared.
func created(ctx context.Context, tx *sqldb.Tx, name string) (time.Time, error) {
	var t time.Time
	if err := tx.QueryRow(ctx, `SELECT created_at FROM collections WHERE name = $1`, name).Scan(&t); err != nil {
		return t, fmt.Errorf("read collection %s: %w", name, err)
	}
	return t.UTC(), nil
}

// reindex drops the indexes of old that c no longer has and makes those
// of c that old lacked. A new unique key that records share is
// *InvalidRecords.
func reindex(ctx context.Context, tx *sqldb.Tx, old, c *compiled) error {
	var had []index
	if old != nil {
		had = old.indexes
	}
	named := func(ixs []index, name string) bool {
		return slices.ContainsFunc(ixs, func(ix index) bool { return ix.name == name })
	}
	for _, ix := range had {
		if !named(c.indexes, ix.name) {
			if err := dropIndex(ctx, tx, ix.name); err != nil {
				return err
			}
		}
	}
	for _, ix := range c.indexes {
		if named(had, ix.name) {
			continue
		}
		if err := c.create(ctx, tx, ix); err != nil {
			if sqldb.ViolatedKind(err) != nil {
				return &InvalidRecords{Err: &userd.Error{Kind: userd.KindConflict, Code: "records_invalid",
					Message: "Records of one owner share a value of the new unique key (" + strings.Join(ix.fields, ", ") + "): change them first."}}
			}
			return fmt.Errorf("create index %s: %w", ix.name, err)
		}
	}
	return nil
}

// verify checks every record of the collection against a new declaration:
// its schema and its relations.
func (s *Service) verify(ctx context.Context, tx *sqldb.Tx, c *compiled) error {
	count := 0
	var sample []userd.FieldError
	after := noID
	for {
		rows, err := sqldb.All(ctx, tx, scanStored, `SELECT id, user_id, organization_id, data FROM collection_records
			WHERE collection = $1 AND id > $2 ORDER BY id LIMIT 500`, c.name, after)
		if err != nil {
			return fmt.Errorf("read records of %s: %w", c.name, err)
		}
		for _, r := range rows {
			fs, err := s.checkRecord(ctx, tx, c, nil, r.own, r.data)
			if err != nil {
				return err
			}
			if len(fs) == 0 {
				continue
			}
			count++
			for _, f := range fs {
				if len(sample) < SampleSize {
					f.Field = "/records/" + r.id + f.Field
					sample = append(sample, f)
				}
			}
		}
		if len(rows) < 500 {
			break
		}
		after = rows[len(rows)-1].id
	}
	if count > 0 {
		return invalidRecords(c.name, count, sample)
	}
	return nil
}

// Collections returns every collection, by name. It returns ErrForbidden without
// collections:write.
func (s *Service) Collections(ctx context.Context, a userd.Actor) ([]Collection, error) {
	if !a.Grants.Has(WritePermission) {
		return nil, ErrForbidden
	}
	var cs []Collection
	// System: declarations are no user's.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var err error
		cs, err = sqldb.All(ctx, tx, func(r sqldb.Scanner) (Collection, error) {
			var c Collection
			var raw []byte
			if err := r.Scan(&c.Name, &raw, &c.CreatedAt, &c.UpdatedAt); err != nil {
				return c, err
			}
			c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
			return c, json.Unmarshal(raw, &c.Declaration)
		}, `SELECT name, declaration, created_at, updated_at FROM collections ORDER BY name`)
		if err != nil {
			return fmt.Errorf("list collections: %w", err)
		}
		return nil
	})
	return cs, err
}

// Drop deletes a collection and its indexes, audited
// (collection.deleted). It returns ErrForbidden without collections:write,
// ErrNotFound, ErrReferenced when another collection's relation points at
// it, and ErrNotEmpty when it has records, unless force, which deletes
// them too.
func (s *Service) Drop(ctx context.Context, a userd.Actor, cl userd.Client, name string, force bool) error {
	if !a.Grants.Has(WritePermission) {
		return ErrForbidden
	}
	// System: the collection's records are every owner's.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := tx.LockWrites(ctx, "collections"); err != nil {
			return fmt.Errorf("lock collections: %w", err)
		}
		if err := tx.LockName(ctx, declarationLock(name), false); err != nil {
			return err
		}
		c, err := s.load(ctx, tx, name)
		if err != nil {
			return err
		}
		ps, err := s.pointing(ctx, tx, name)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(ps, func(p pointer) bool { return p.from.name != name }) {
			return ErrReferenced
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM collection_records WHERE collection = $1`, name).Scan(&n); err != nil {
			return fmt.Errorf("count records of %s: %w", name, err)
		}
		if n > 0 && !force {
			return ErrNotEmpty
		}
		for _, ix := range c.indexes {
			if err := dropIndex(ctx, tx, ix.name); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM collections WHERE name = $1`, name); err != nil {
			return fmt.Errorf("delete collection %s: %w", name, err)
		}
		return audit.Record(ctx, tx, audit.Event{Action: audit.CollectionDeleted, TargetType: "collection", TargetID: name,
			IP: cl.IP, UserAgent: cl.UserAgent, Metadata: map[string]any{"records": n}})
	})
}
