package collection

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/platform/sqldb"
)

// noID is below every id: the start of a walk in id order.
const noID = "00000000-0000-0000-0000-000000000000"

// Record is one record of a collection. Data is its JSON object.
type Record struct {
	ID, Collection       string
	Data                 json.RawMessage
	Version              int
	CreatedAt, UpdatedAt time.Time
}

// recordColumns are the columns of a Record.
const recordColumns = `id, collection, data, version, created_at, updated_at`

func scanRecord(row sqldb.Scanner) (Record, error) {
	var r Record
	var data []byte
	if err := row.Scan(&r.ID, &r.Collection, &data, &r.Version, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return r, err
	}
	r.Data = json.RawMessage(data)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

// owner is whose records a call reads or writes: a user's or an
// organisation's; by is who writes them, for the webhook events.
type owner struct {
	user, org string
	by        userd.Actor
}

// id is the owner's id, in the collection's owner column.
func (o owner) id() string {
	if o.org != "" {
		return o.org
	}
	return o.user
}

// stored is a record as a declaration change reads it.
type stored struct {
	id   string
	own  owner
	data any
}

func scanStored(row sqldb.Scanner) (stored, error) {
	var r stored
	var user, org sql.NullString
	var raw []byte
	if err := row.Scan(&r.id, &user, &org, &raw); err != nil {
		return r, err
	}
	r.own = owner{user: user.String, org: org.String}
	var err error
	r.data, err = jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	return r, err
}

// ErrUnique is a record whose unique key another record of the owner has
// (code unique_violation); Fields names the key's fields.
func errUnique(fields []string) error {
	var fs []userd.FieldError
	for _, f := range fields {
		fs = append(fs, userd.FieldError{Field: "/" + f, Code: "unique_violation", Message: "Part of the unique key (" + strings.Join(fields, ", ") + ")."})
	}
	return &userd.Error{Kind: userd.KindConflict, Code: "unique_violation", Fields: fs,
		Message: "Another record has the same " + strings.Join(fields, ", ") + "."}
}

// written maps a violation of one of c's unique keys to its error.
func (c *compiled) written(err error, what string) error {
	if v := sqldb.ViolatedKind(err); v != nil && v.Kind == sqldb.Unique {
		for _, ix := range c.indexes {
			if ix.name == v.Name {
				return errUnique(ix.fields)
			}
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// tooLarge is the error of data past MaxRecordBytes, as given or as
// stored.
func (s *Service) tooLarge() error {
	return userd.Invalid([]userd.FieldError{{Field: "data", Code: "too_large", Message: fmt.Sprintf("A record's data is at most %d bytes of JSON.", s.deps.MaxRecordBytes)}})
}

// parse reads a record's data: a JSON object of at most MaxRecordBytes.
// It returns the document as the validator reads it.
func (s *Service) parse(data []byte) (any, error) {
	if len(data) > s.deps.MaxRecordBytes {
		return nil, s.tooLarge()
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if _, ok := doc.(map[string]any); err != nil || !ok {
		return nil, userd.Invalid([]userd.FieldError{{Field: "data", Code: "invalid_type", Message: "A record's data is a JSON object."}})
	}
	return doc, nil
}

// precheck validates doc against the collection's schema as this process
// last read it, before the write's transaction, so that the transaction
// (which on SQLite holds the one writer's lock) does not: it returns that
// declaration when doc holds to it, and nil otherwise (the transaction
// then decides, on the declaration it reads).
func (s *Service) precheck(name string, doc any) *compiled {
	v, ok := s.compiled.Load(name)
	if !ok {
		return nil
	}
	if c := v.(*compiled); len(c.check(doc)) == 0 {
		return c
	}
	return nil
}

// checkRecord validates doc for c's owner o: the schema (unless doc was
// found valid for c before: checked), then each relation's record, locked
// until tx ends so that it stays while doc points at it. Relation ids are
// made canonical in doc.
func (s *Service) checkRecord(ctx context.Context, tx *sqldb.Tx, c, checked *compiled, o owner, doc any) ([]userd.FieldError, error) {
	if c != checked {
		if fs := c.check(doc); len(fs) > 0 {
			return fs, nil
		}
	}
	m := doc.(map[string]any)
	var fs []userd.FieldError
	for _, f := range sortedKeys(c.decl.Relations) {
		v, ok := m[f]
		if !ok || v == nil {
			continue
		}
		str, _ := v.(string)
		id, ok := userd.ParseID(str)
		found := false
		if ok {
			m[f] = id
			var err error
			if found, err = tx.LockRow(ctx, "collection_records", "id", id); err != nil {
				return nil, fmt.Errorf("lock related record: %w", err)
			}
		}
		if found {
			var n int
			err := tx.QueryRow(ctx, `SELECT count(*) FROM collection_records WHERE id = $1 AND collection = $2 AND `+c.owner()+` = $3`,
				id, c.decl.Relations[f].Collection, o.id()).Scan(&n)
			if err != nil {
				return nil, fmt.Errorf("read related record: %w", err)
			}
			found = n == 1
		}
		if !found {
			fs = append(fs, userd.FieldError{Field: "/" + f, Code: "relation_not_found",
				Message: "No record of " + c.decl.Relations[f].Collection + " with this id belongs to the same owner."})
		}
	}
	return fs, nil
}

// The ways of access.
const (
	read  = iota // in the actor's scope
	write        // in the actor's scope for their own records
	find         // a read whose statements compare JSON fields (see search)
	sweep        // a write whose statements compare JSON fields
)

// search is the scope of the statements that compare JSON fields (find and
// sweep): the system's, with the owner filter that every query of this
// package has. PostgreSQL does not call the JSON operators leakproof, so
// under row-level security it would evaluate them only after the policy,
// row by row, never as an index condition: a filter on an indexed field
// would read every record of the owner.
func search(ctx context.Context) context.Context { return sqldb.System(ctx) }

// access runs fn in a transaction of the right scope for the actor's
// records (orgID "") or an organisation's, once the collection's owner is
// of that kind and, for an organisation, the actor's role allows it:
// members read; admins and owners write, members too when the declaration
// says so. It returns ErrNotFound, organization.ErrNotFound for a
// non-member and ErrOrgRole.
func (s *Service) access(ctx context.Context, a userd.Actor, orgID, name string, way int, fn func(tx *sqldb.Tx, c *compiled, o owner) error) error {
	run, write := s.db.View, way == write || way == sweep
	if write {
		run = s.db.Tx
	}
	if orgID == "" {
		scope := sqldb.AsUser(ctx, a.UserID)
		if way == find || way == sweep {
			scope = search(ctx)
		}
		return run(scope, func(tx *sqldb.Tx) error {
			c, err := s.loadFor(ctx, tx, name, write)
			if err != nil {
				return err
			}
			if c.decl.Owner != OwnerUser {
				return ErrNotFound
			}
			return fn(tx, c, owner{user: a.UserID, by: a})
		})
	}
	org, ok := userd.ParseID(orgID)
	if !ok {
		return organization.ErrNotFound
	}
	scope := sqldb.AsUser(ctx, a.UserID)
	switch {
	case write:
		// System: the organisation's row is locked to count its records;
		// the member's role is checked here.
		scope = sqldb.System(ctx)
	case way == find:
		scope = search(ctx)
	}
	return run(scope, func(tx *sqldb.Tx) error {
		role, err := organization.RoleOf(ctx, tx, org, a.UserID)
		if err != nil {
			return err
		}
		c, err := s.loadFor(ctx, tx, name, write)
		if err != nil {
			return err
		}
		if c.decl.Owner != OwnerOrganization {
			return ErrNotFound
		}
		if write && role == organization.RoleMember && !c.decl.MembersWrite {
			return ErrOrgRole
		}
		return fn(tx, c, owner{org: org, by: a})
	})
}

// loadFor loads the collection's declaration for a transaction that
// writes its records (write) or reads them. A writer holds the
// collection's shared lock (see declarationLock) from before it reads the
// declaration until it commits, so that no declaration changes between
// its checks and its commit.
func (s *Service) loadFor(ctx context.Context, tx *sqldb.Tx, name string, write bool) (*compiled, error) {
	if write {
		if err := tx.LockName(ctx, declarationLock(name), true); err != nil {
			return nil, err
		}
	}
	return s.load(ctx, tx, name)
}

// declarationLock names the lock that a change of the collection's
// declaration takes alone and its records' writers together.
func declarationLock(name string) string { return "userd.collection:" + name }

// Create adds a record to the collection for the actor (orgID "") or an
// organisation. It returns the errors of access, a validation error (one
// field per failing JSON pointer, relation_not_found for a relation that
// names no record of the owner, too_long for an indexed string past
// MaxIndexedBytes, too_large), ErrLimit and a unique_violation conflict.
func (s *Service) Create(ctx context.Context, a userd.Actor, orgID, name string, data []byte) (r Record, err error) {
	doc, err := s.parse(data)
	if err != nil {
		return r, err
	}
	checked := s.precheck(name, doc)
	err = s.access(ctx, a, orgID, name, write, func(tx *sqldb.Tx, c *compiled, o owner) error {
		if err := s.checkLimit(ctx, tx, c, o); err != nil {
			return err
		}
		raw, err := s.valid(ctx, tx, c, checked, o, doc)
		if err != nil {
			return err
		}
		id := userd.NewID(tx.Now)
		_, err = tx.Exec(ctx, `INSERT INTO collection_records (id, collection, user_id, organization_id, data, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 1, $6, $6)`, id, c.name, sqldb.Nullable(o.user), sqldb.Nullable(o.org), string(raw), tx.Now)
		if err != nil {
			return c.written(err, "insert record")
		}
		r = Record{ID: id, Collection: c.name, Data: raw, Version: 1, CreatedAt: tx.Now, UpdatedAt: tx.Now}
		return changed(ctx, tx, c, o, RecordCreated, id, 1, raw)
	})
	return r, err
}

// valid checks doc (checkRecord, then the length of its indexed strings)
// and returns it as stored JSON, of at most MaxRecordBytes.
func (s *Service) valid(ctx context.Context, tx *sqldb.Tx, c, checked *compiled, o owner, doc any) ([]byte, error) {
	fs, err := s.checkRecord(ctx, tx, c, checked, o, doc)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		fs = c.tooLong(doc)
	}
	if err := invalid(fs); err != nil {
		return nil, err
	}
	raw, err := encode(doc)
	if err != nil {
		return nil, err
	}
	if len(raw) > s.deps.MaxRecordBytes {
		return nil, s.tooLarge()
	}
	return raw, nil
}

// encode writes a record's data as it is stored: without json.Marshal's
// escapes of <, > and &, which would make it up to 6 times longer than
// what was given.
func encode(doc any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// checkLimit returns ErrLimit when the owner has as many records of c as
// its declaration allows. The owner's row is locked first, so that
// concurrent creations are counted one after the other.
func (s *Service) checkLimit(ctx context.Context, tx *sqldb.Tx, c *compiled, o owner) error {
	if c.decl.MaxRecordsPerOwner == 0 {
		return nil
	}
	table := "users"
	if o.org != "" {
		table = "organizations"
	}
	if _, err := tx.LockRow(ctx, table, "id", o.id()); err != nil {
		return fmt.Errorf("lock owner: %w", err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM collection_records WHERE `+c.owner()+` = $1 AND collection = $2`, o.id(), c.name).Scan(&n); err != nil {
		return fmt.Errorf("count records: %w", err)
	}
	if n >= c.decl.MaxRecordsPerOwner {
		return ErrLimit
	}
	return nil
}

// mine reads one of the owner's records of c; lock locks it until tx ends.
func mine(ctx context.Context, tx *sqldb.Tx, c *compiled, o owner, id string, lock bool) (Record, error) {
	id, ok := userd.ParseID(id)
	if !ok {
		return Record{}, ErrRecordNotFound
	}
	if lock {
		if _, err := tx.LockRow(ctx, "collection_records", "id", id); err != nil {
			return Record{}, fmt.Errorf("lock record: %w", err)
		}
	}
	return sqldb.One(ctx, tx, ErrRecordNotFound, "read record", scanRecord, `SELECT `+recordColumns+` FROM collection_records
		WHERE id = $1 AND collection = $2 AND `+c.owner()+` = $3`, id, c.name, o.id())
}

// Get returns one record. It returns the errors of access and
// ErrRecordNotFound.
func (s *Service) Get(ctx context.Context, a userd.Actor, orgID, name, id string) (r Record, err error) {
	err = s.access(ctx, a, orgID, name, read, func(tx *sqldb.Tx, c *compiled, o owner) error {
		r, err = mine(ctx, tx, c, o, id, false)
		return err
	})
	return r, err
}

// Replace replaces a record's data when ifMatch is its version (any version
// when ifMatch is negative). It returns the errors of Create,
// ErrRecordNotFound and ErrStale.
func (s *Service) Replace(ctx context.Context, a userd.Actor, orgID, name, id string, ifMatch int, data []byte) (Record, error) {
	doc, err := s.parse(data)
	if err != nil {
		return Record{}, err
	}
	return s.change(ctx, a, orgID, name, id, ifMatch, s.precheck(name, doc), func(any) (any, error) { return doc, nil })
}

// Patch applies a JSON Merge Patch (RFC 7396) to a record's data; see
// Replace.
func (s *Service) Patch(ctx context.Context, a userd.Actor, orgID, name, id string, ifMatch int, patch []byte) (Record, error) {
	p, err := s.parse(patch)
	if err != nil {
		return Record{}, err
	}
	return s.change(ctx, a, orgID, name, id, ifMatch, nil, func(old any) (any, error) {
		return mergePatch(old, p), nil
	})
}

// change writes the data that edit makes of a record's; checked is the
// declaration that the data was found valid for before (precheck).
func (s *Service) change(ctx context.Context, a userd.Actor, orgID, name, id string, ifMatch int, checked *compiled, edit func(old any) (any, error)) (r Record, err error) {
	err = s.access(ctx, a, orgID, name, write, func(tx *sqldb.Tx, c *compiled, o owner) error {
		old, err := mine(ctx, tx, c, o, id, true)
		if err != nil {
			return err
		}
		if ifMatch >= 0 && ifMatch != old.Version {
			return ErrStale
		}
		was, err := jsonschema.UnmarshalJSON(bytes.NewReader(old.Data))
		if err != nil {
			return fmt.Errorf("read record data: %w", err)
		}
		doc, err := edit(was)
		if err != nil {
			return err
		}
		raw, err := s.valid(ctx, tx, c, checked, o, doc)
		if err != nil {
			return err
		}
		if err := update(ctx, tx, c, o, old.ID, old.Version+1, raw); err != nil {
			return err
		}
		r = old
		r.Data, r.Version, r.UpdatedAt = raw, old.Version+1, tx.Now
		return nil
	})
	return r, err
}

// update stores a record's new data as its version (the one after the
// version read under the record's lock), and records the change.
func update(ctx context.Context, tx *sqldb.Tx, c *compiled, o owner, id string, version int, raw []byte) error {
	_, err := tx.Exec(ctx, `UPDATE collection_records SET data = $2, version = $3, updated_at = $4 WHERE id = $1`, id, string(raw), version, tx.Now)
	if err != nil {
		return c.written(err, "update record")
	}
	return changed(ctx, tx, c, o, RecordUpdated, id, version, raw)
}

// mergePatch applies an RFC 7396 merge patch to target.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// Delete deletes a record when ifMatch is its version (any when negative),
// and applies each relation's rule to the records that point at it, in the
// same transaction: cascade deletes them (and so on), set_null removes the
// field, restrict refuses (ErrRestricted; so does set_null when the
// record would then break its schema). It returns the errors of access,
// ErrRecordNotFound, ErrStale and ErrTooManyDependents.
func (s *Service) Delete(ctx context.Context, a userd.Actor, orgID, name, id string, ifMatch int) error {
	return s.access(ctx, a, orgID, name, sweep, func(tx *sqldb.Tx, c *compiled, o owner) error {
		r, err := mine(ctx, tx, c, o, id, true)
		if err != nil {
			return err
		}
		if ifMatch >= 0 && ifMatch != r.Version {
			return ErrStale
		}
		d := &deletion{s: s, o: o, seen: map[string]bool{}, touched: map[string]bool{}, pointing: map[string][]pointer{}}
		if err := d.touch(r.ID); err != nil {
			return err
		}
		d.seen[r.ID] = true
		// A work-list rather than recursion: a chain of cascades is as long
		// as MaxCascade, whatever the goroutine's stack.
		queue := []doomed{{c, r.ID}}
		for len(queue) > 0 {
			next, err := d.remove(ctx, tx, queue[0])
			if err != nil {
				return err
			}
			queue = append(queue[1:], next...)
		}
		return nil
	})
}

// deletion is one deletion's walk through relations.
type deletion struct {
	s        *Service
	o        owner
	seen     map[string]bool      // the records deleted or queued for deletion
	touched  map[string]bool      // the records deleted or changed, at most MaxCascade
	pointing map[string][]pointer // by collection, read once
}

// doomed is a record that a deletion removes.
type doomed struct {
	c  *compiled
	id string
}

// touch counts record id as deleted or changed, and returns
// ErrTooManyDependents past MaxCascade.
func (d *deletion) touch(id string) error {
	d.touched[id] = true
	if len(d.touched) > MaxCascade {
		return ErrTooManyDependents
	}
	return nil
}

// remove applies the rules of the relations that point at r's collection
// to the records that point at r, then deletes r. It returns the records
// that a cascade deletes next.
func (d *deletion) remove(ctx context.Context, tx *sqldb.Tx, r doomed) ([]doomed, error) {
	ps, ok := d.pointing[r.c.name]
	if !ok {
		var err error
		if ps, err = d.s.pointing(ctx, tx, r.c.name); err != nil {
			return nil, err
		}
		d.pointing[r.c.name] = ps
	}
	var next []doomed
	for _, p := range ps {
		// The collection's name is a validated identifier, written out so
		// that the planner uses the relation's partial index.
		ids, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT id FROM collection_records WHERE collection = '`+p.from.name+`' AND `+
			p.from.owner()+` = $1 AND `+tx.JSONField("data", p.field, sqldb.JSONText)+` = $2`, d.o.id(), r.id)
		if err != nil {
			return nil, fmt.Errorf("read records pointing at %s: %w", r.id, err)
		}
		for _, rid := range ids {
			if d.seen[rid] {
				continue
			}
			if p.rule == Restrict {
				return nil, ErrRestricted
			}
			if err := d.touch(rid); err != nil {
				return nil, err
			}
			if p.rule == Cascade {
				d.seen[rid] = true
				next = append(next, doomed{p.from, rid})
				continue
			}
			if err := d.setNull(ctx, tx, p, rid); err != nil {
				return nil, err
			}
		}
	}
	var version int
	if err := tx.QueryRow(ctx, `DELETE FROM collection_records WHERE id = $1 RETURNING version`, r.id).Scan(&version); err != nil {
		return nil, fmt.Errorf("delete record: %w", err)
	}
	return next, changed(ctx, tx, r.c, d.o, RecordDeleted, r.id, version, nil)
}

// setNull removes p's field from record rid, which points at a deleted
// record. It refuses (restricted, wrapping ErrRestricted) when the record
// would then break its schema: the field may be required otherwise than
// by the schema's top-level required, which the declaration checks.
func (d *deletion) setNull(ctx context.Context, tx *sqldb.Tx, p pointer, rid string) error {
	r, err := mine(ctx, tx, p.from, d.o, rid, true)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Data))
	m, ok := doc.(map[string]any)
	if err != nil || !ok {
		return fmt.Errorf("read record data: %v", err)
	}
	delete(m, p.field)
	if len(p.from.check(m)) > 0 {
		return &userd.Error{Kind: userd.KindConflict, Code: "restricted", Err: ErrRestricted,
			Message: "Record " + rid + " of " + p.from.name + " points at this record through the set_null relation " + p.from.name + "." + p.field +
				", and would break its collection's schema without it: change or delete it first."}
	}
	raw, err := encode(m)
	if err != nil {
		return err
	}
	return update(ctx, tx, p.from, d.o, rid, r.Version+1, raw)
}

// Mine returns up to limit of the actor's records of every collection, by
// collection and id, after cursor (COLLECTION/ID of the last record of the
// previous batch; "" for the first): what an export reads.
func (s *Service) Mine(ctx context.Context, a userd.Actor, cursor string, limit int) (rs []Record, err error) {
	name, id, _ := strings.Cut(cursor, "/")
	if id, ok := userd.ParseID(id); ok {
		cursor = id
	} else {
		name, cursor = "", noID
	}
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		rs, err = sqldb.All(ctx, tx, scanRecord, `SELECT `+recordColumns+` FROM collection_records
			WHERE user_id = $1 AND (collection > $2 OR (collection = $2 AND id > $3)) ORDER BY collection, id LIMIT $4`, a.UserID, name, cursor, limit)
		if err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		return nil
	})
	return rs, err
}
