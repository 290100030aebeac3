package collection

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// operators are the comparisons of a filter, by name.
var operators = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

// Page sizes.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// MaxFilters bounds a Query's filters (too_many_filters).
const MaxFilters = 8

// Query narrows and orders Records. Each filter is FIELD:OP:VALUE, OP one
// of eq, ne, gt, gte, lt and lte, FIELD one that a unique key, an index or
// a relation of the declaration names; at most MaxFilters. Sort is FIELD
// (ascending) or -FIELD (descending) of those fields, listing only the
// records that have it; empty for newest first.
type Query struct {
	Where  []string
	Sort   string
	Cursor string
	Limit  int
}

// Page is a page of records; Next is the cursor of the next page, "" at the
// end.
type Page struct {
	Records []Record
	Next    string
}

// cursor is where a page ends: the last record's sort value (a number as
// its JSON text) and id.
type cursor struct {
	V  any    `json:"v"`
	ID string `json:"id"`
}

// badQuery is the error of a filter, a sort or a cursor.
func badQuery(field, code, msg string) error {
	return userd.Invalid([]userd.FieldError{{Field: field, Code: code, Message: msg}})
}

// number is a JSON number's text, as a filter or a cursor carries it.
var number = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// value reads a filter's or a cursor's value as kind k. A number stays the
// text of a JSON number (json.Number in a cursor), bound for the statement
// to read exactly (see placeholder): through float64, 2^53 + 1 would be
// 2^53.
func value(k sqldb.JSONKind, v any) (any, bool) {
	s, isText := v.(string)
	switch k {
	case sqldb.JSONNumber:
		if n, ok := v.(json.Number); ok {
			s, isText = string(n), true
		}
		// Within float64's range: PostgreSQL's numeric has a narrower one.
		_, err := strconv.ParseFloat(s, 64)
		return s, isText && number.MatchString(s) && err == nil
	case sqldb.JSONBool:
		if b, ok := v.(bool); ok {
			return b, true
		}
		b, err := strconv.ParseBool(s)
		return b, isText && err == nil
	}
	return s, isText
}

// placeholder is the statement's text for bound value n of kind k: a
// number's text is cast to NUMERIC by the database, exactly (PostgreSQL's
// numeric; SQLite's integer when it is one, else real), as the indexed
// expression reads the field.
func placeholder(k sqldb.JSONKind, n string) string {
	if k == sqldb.JSONNumber {
		return "CAST(" + n + " AS NUMERIC)"
	}
	return n
}

// Records returns a page of the owner's records of a collection (see
// Query). It returns the errors of access and a validation error for a
// filter on a field that no index names, an unknown operator, a value of
// the wrong type, more than MaxFilters filters, or a bad cursor.
func (s *Service) Records(ctx context.Context, a userd.Actor, orgID, name string, q Query) (p Page, err error) {
	err = s.access(ctx, a, orgID, name, find, func(tx *sqldb.Tx, c *compiled, o owner) (err error) {
		p, err = c.page(ctx, tx, o, q)
		return err
	})
	return p, err
}

// ErrOwnerNotFound refuses RecordsOf an owner id that is no id.
var ErrOwnerNotFound = userd.Errorf(userd.KindNotFound, "owner_not_found", "No such owner: give a user's id for a collection of users, an organisation's for one of organisations.")

// RecordsOf returns a page of one owner's records of a collection (see
// Query), whoever they are: a user's, ownerID being their id, when users
// own the collection's records, else an organisation's. It is an
// administrator's read of what others stored, audited
// (collection.records_read, the owner as target, in no user's trail). It
// returns ErrForbidden without WritePermission, ErrNotFound,
// ErrOwnerNotFound, and the validation errors of Records.
func (s *Service) RecordsOf(ctx context.Context, a userd.Actor, cl userd.Client, name, ownerID string, q Query) (p Page, err error) {
	if !a.Grants.Has(WritePermission) {
		return p, ErrForbidden
	}
	id, ok := userd.ParseID(ownerID)
	if !ok {
		return p, ErrOwnerNotFound
	}
	// System: another owner's records, audited.
	err = s.db.Tx(search(ctx), func(tx *sqldb.Tx) error {
		c, err := s.load(ctx, tx, name)
		if err != nil {
			return err
		}
		o := owner{user: id}
		if c.decl.Owner == OwnerOrganization {
			o = owner{org: id}
		}
		if p, err = c.page(ctx, tx, o, q); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{ActorUserID: a.UserID, APIKeyID: a.APIKeyID, Action: audit.CollectionRecordsRead, TargetType: c.decl.Owner, TargetID: id,
			IP: cl.IP, UserAgent: cl.UserAgent, Metadata: map[string]any{"collection": name, "records": len(p.Records)}})
	})
	return p, err
}

// page reads a page of the owner's records in tx.
func (c *compiled) page(ctx context.Context, tx *sqldb.Tx, o owner, q Query) (p Page, err error) {
	if q.Limit <= 0 || q.Limit > MaxLimit {
		q.Limit = DefaultLimit
	}
	sqlText, args, field, err := c.query(tx, o, q)
	if err != nil {
		return p, err
	}
	rs, err := sqldb.All(ctx, tx, scanRecord, sqlText, args...)
	if err != nil {
		return p, fmt.Errorf("list records: %w", err)
	}
	p.Records = rs
	if len(rs) > q.Limit {
		p.Records = rs[:q.Limit]
		p.Next, err = c.next(p.Records[q.Limit-1], field)
	}
	return p, err
}

// query builds the statement of a page of Records: the owner, the
// filters, the sort and the cursor, each on exactly the expressions that
// the collection's indexes hold.
func (c *compiled) query(tx *sqldb.Tx, o owner, q Query) (string, []any, string, error) {
	// The collection's name is a validated identifier, written out so that
	// the planner matches the partial indexes.
	conds := []string{"collection = '" + c.name + "'", c.owner() + " = $1"}
	args := []any{o.id()}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(q.Where) > MaxFilters {
		return "", nil, "", badQuery("where", "too_many_filters", fmt.Sprintf("A list takes at most %d filters.", MaxFilters))
	}
	for _, w := range q.Where {
		parts := strings.SplitN(w, ":", 3)
		if len(parts) != 3 {
			return "", nil, "", badQuery("where", "invalid_filter", "A filter is FIELD:OP:VALUE.")
		}
		k, ok := c.kinds[parts[0]]
		if !ok {
			return "", nil, "", badQuery("where", "not_indexed", parts[0]+" is not a field that a unique key, an index or a relation names.")
		}
		op, ok := operators[parts[1]]
		if !ok {
			return "", nil, "", badQuery("where", "invalid_operator", "An operator is eq, ne, gt, gte, lt or lte.")
		}
		v, ok := value(k, parts[2])
		if !ok {
			return "", nil, "", badQuery("where", "invalid_value", "The value of "+parts[0]+" is not of its type.")
		}
		conds = append(conds, tx.JSONField("data", parts[0], k)+" "+op+" "+placeholder(k, arg(v)))
	}
	field, desc := strings.TrimPrefix(q.Sort, "-"), strings.HasPrefix(q.Sort, "-")
	k, ok := c.kinds[field]
	if field != "" && !ok {
		return "", nil, "", badQuery("sort", "not_indexed", field+" is not a field that a unique key, an index or a relation names.")
	}
	var cur cursor
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			err = dec.Decode(&cur)
		}
		id, ok := userd.ParseID(cur.ID)
		if err != nil || !ok {
			return "", nil, "", badQuery("cursor", "invalid_cursor", "The cursor is not one that this list gave.")
		}
		cur.ID = id
	}
	order := "id DESC"
	if field == "" {
		if q.Cursor != "" {
			conds = append(conds, "id < "+arg(cur.ID))
		}
	} else {
		expr, dir, cmp := tx.JSONField("data", field, k), " ASC", " > "
		if desc {
			dir, cmp = " DESC", " < "
		}
		conds = append(conds, expr+" IS NOT NULL")
		if q.Cursor != "" {
			v, ok := value(k, cur.V)
			if !ok {
				return "", nil, "", badQuery("cursor", "invalid_cursor", "The cursor is not one that this list gave.")
			}
			conds = append(conds, "("+expr+", id)"+cmp+"("+placeholder(k, arg(v))+", "+arg(cur.ID)+")")
		}
		order = expr + dir + ", id" + dir
	}
	return `SELECT ` + recordColumns + ` FROM collection_records WHERE ` + strings.Join(conds, " AND ") +
		` ORDER BY ` + order + ` LIMIT ` + strconv.Itoa(q.Limit+1), args, field, nil
}

// next is the cursor after r in a list sorted on field ("" for newest
// first).
func (c *compiled) next(r Record, field string) (string, error) {
	cur := cursor{ID: r.ID}
	if field != "" {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Data))
		if err != nil {
			return "", fmt.Errorf("read record data: %w", err)
		}
		cur.V = doc.(map[string]any)[field] // a number as json.Number: its text
	}
	raw, err := json.Marshal(cur)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}
