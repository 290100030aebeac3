package crm

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// ErrMappingNotFound answers a look-up or deletion of a mapping that does
// not exist.
var ErrMappingNotFound = userd.Errorf(userd.KindNotFound, "integration_mapping_not_found", "No such integration mapping.")

// Mapping is a row of integration_mappings: the object ExternalID of
// ExternalSystem is userd's (or the application's) object EverID of kind
// ObjectType.
type Mapping struct {
	ID, EverID, ObjectType     string
	ExternalID, ExternalSystem string
	CreatedAt, UpdatedAt       time.Time
}

// kindRE is an object type or an external system's name.
var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// check validates a mapping's fields.
func (m Mapping) check() error {
	var fs []userd.FieldError
	for _, f := range []struct{ field, v string }{{"ever_id", m.EverID}, {"external_id", m.ExternalID}} {
		if f.v == "" {
			fs = append(fs, userd.FieldError{Field: f.field, Code: "required", Message: "Required."})
		}
		fs = userd.CheckText(fs, f.field, f.v, 255)
	}
	for _, f := range []struct{ field, v string }{{"object_type", m.ObjectType}, {"external_system", m.ExternalSystem}} {
		if !kindRE.MatchString(f.v) {
			fs = append(fs, userd.FieldError{Field: f.field, Code: "invalid_name", Message: "1 to 64 lower-case letters, digits and _, starting with a letter."})
		}
	}
	return userd.Invalid(fs)
}

const mappingColumns = `id, ever_id, object_type, external_id, external_system, created_at, updated_at`

func scanMapping(row sqldb.Scanner) (Mapping, error) {
	var m Mapping
	err := row.Scan(&m.ID, &m.EverID, &m.ObjectType, &m.ExternalID, &m.ExternalSystem, &m.CreatedAt, &m.UpdatedAt)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// upsertMapping makes or replaces the mapping of (m.EverID, m.ObjectType)
// in one statement, and reports whether it made it (the row has the id it
// offered): of concurrent writers of one key, one makes the row and the
// others replace its values.
func upsertMapping(ctx context.Context, tx *sqldb.Tx, m Mapping) (Mapping, bool, error) {
	id := userd.NewID(tx.Now)
	out, err := sqldb.One(ctx, tx, nil, "upsert integration mapping", scanMapping, `INSERT INTO integration_mappings (`+mappingColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (ever_id, object_type) DO UPDATE SET external_id = excluded.external_id, external_system = excluded.external_system,
			updated_at = excluded.updated_at
		RETURNING `+mappingColumns, id, m.EverID, m.ObjectType, m.ExternalID, m.ExternalSystem, tx.Now)
	return out, out.ID == id, err
}

// UpsertMapping makes the mapping of (m.EverID, m.ObjectType), or changes
// its external id and system, audited as audit.CRMMappingUpserted; created
// says which. It returns a forbidden error without IntegrationsWrite and a
// validation error.
func (s *Service) UpsertMapping(ctx context.Context, a userd.Actor, cl userd.Client, m Mapping) (out Mapping, created bool, err error) {
	if err := need(a, IntegrationsWrite); err != nil {
		return out, false, err
	}
	if err := m.check(); err != nil {
		return out, false, err
	}
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if out, created, err = upsertMapping(ctx, tx, m); err != nil {
			return err
		}
		return audit.Record(ctx, tx, event(cl, audit.CRMMappingUpserted, "integration_mapping", out.ID, map[string]any{"ever_id": out.EverID,
			"object_type": out.ObjectType, "external_system": out.ExternalSystem, "external_id": out.ExternalID, "created": created}))
	})
	return out, created, err
}

// MappingFilter narrows Mappings: by userd's object (EverID and
// ObjectType), by the external object (ExternalSystem and ExternalID), or
// by either system alone; empty fields do not filter.
type MappingFilter struct {
	EverID, ObjectType, ExternalSystem, ExternalID string
}

// Mappings returns up to limit mappings, newest first, after the one with
// id before, that f selects. It returns a forbidden error without
// IntegrationsWrite.
func (s *Service) Mappings(ctx context.Context, a userd.Actor, f MappingFilter, before string, limit int) (ms []Mapping, err error) {
	if err := need(a, IntegrationsWrite); err != nil {
		return nil, err
	}
	q, args := `SELECT `+mappingColumns+` FROM integration_mappings WHERE id < $1`, []any{sqldb.Before(before), limit}
	for _, c := range []struct{ column, v string }{{"ever_id", f.EverID}, {"object_type", f.ObjectType}, {"external_system", f.ExternalSystem}, {"external_id", f.ExternalID}} {
		if c.v != "" {
			args = append(args, c.v)
			q += fmt.Sprintf(" AND %s = $%d", c.column, len(args))
		}
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		ms, err = sqldb.All(ctx, tx, scanMapping, q+` ORDER BY id DESC LIMIT $2`, args...)
		if err != nil {
			return fmt.Errorf("list integration mappings: %w", err)
		}
		return nil
	})
	return ms, err
}

// DeleteMapping deletes a mapping, audited as audit.CRMMappingDeleted. It
// returns a forbidden error without IntegrationsWrite and
// ErrMappingNotFound.
func (s *Service) DeleteMapping(ctx context.Context, a userd.Actor, cl userd.Client, id string) error {
	if err := need(a, IntegrationsWrite); err != nil {
		return err
	}
	if _, ok := userd.ParseID(id); !ok {
		return ErrMappingNotFound
	}
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		m, err := sqldb.One(ctx, tx, ErrMappingNotFound, "delete integration mapping", scanMapping,
			`DELETE FROM integration_mappings WHERE id = $1 RETURNING `+mappingColumns, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, event(cl, audit.CRMMappingDeleted, "integration_mapping", id, map[string]any{"ever_id": m.EverID, "object_type": m.ObjectType}))
	})
}
