package collection

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// printer writes validation messages.
var printer = message.NewPrinter(language.English)

// namePattern is a collection's name; fieldPattern a field that a key, an
// index or a relation names. Both reach SQL as identifiers.
var (
	namePattern  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	fieldPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
)

// reserved are userd's own tables, which no collection may be named after
// (TestReservedNames checks the list against the schema).
var reserved = []string{"accounts", "activity_logs", "api_key_permissions", "api_keys", "authenticators", "billing_events", "client_profiles",
	"collection_changes", "collection_records", "collections", "comments", "dashboard_layouts", "favorites", "featured_items", "goose_db_version", "hidden_items",
	"item_daily_stats", "item_rankings", "item_stats", "item_views", "jobs", "mfa_challenges", "mfa_recovery_codes", "mfa_totp",
	"moderation_history", "newsletter_subscriptions", "notification_counters", "notifications", "oauth_states", "organization_invitations", "organization_members",
	"organizations", "password_reset_tokens", "payment_accounts", "payment_providers", "permissions", "plan_roles", "rate_limits",
	"referrals", "referred_users", "refresh_tokens", "reports", "role_permissions", "roles", "sessions", "signing_keys", "sponsor_ads",
	"subscription_history", "subscriptions", "synchronizations", "user_accounts", "user_credentials", "user_follow_stats", "user_follows",
	"user_roles", "users", "verification_tokens", "view_keys", "votes", "webauthn_challenges", "webhook_deliveries",
	"companies", "integration_mappings", "twenty_crm_config", "seed_status",
	"surveys", "survey_responses", "mail_deliveries", "webhook_endpoints", "webhook_events",
	"oauth_clients", "oauth_consents", "oauth_authorizations", "oauth_grants", "oauth_tokens"}

// Reserved reports whether name is one of userd's own tables.
func Reserved(name string) bool { return slices.Contains(reserved, name) }

// compiled is a declaration ready for use: its schema compiled, the SQL
// kind of each field that an index reads, and its indexes.
type compiled struct {
	name    string
	decl    Declaration
	schema  *jsonschema.Schema
	kinds   map[string]sqldb.JSONKind // the indexed fields
	indexes []index
	updated time.Time
}

// owner returns the column of the records' owner.
func (c *compiled) owner() string {
	if c.decl.Owner == OwnerOrganization {
		return "organization_id"
	}
	return "user_id"
}

// Index kinds.
const (
	uniqueKey = "u" // a unique key
	plainKey  = "i" // an index for filters and sorting, ending with id
	relKey    = "r" // a relation field, for finding the records that point
)

// index is one of the partial expression indexes of a collection.
type index struct {
	name   string
	kind   string
	fields []string
}

// create makes the index (on PostgreSQL through a function that checks
// it: see sqldb.Dialect.CollectionIndex).
func (c *compiled) create(ctx context.Context, tx *sqldb.Tx, ix index) error {
	return tx.CollectionIndex(ctx, c.index(ix), false)
}

// index is ix as the dialect makes it.
func (c *compiled) index(ix index) sqldb.CollectionIndex {
	kinds := make([]sqldb.JSONKind, len(ix.fields))
	for i, f := range ix.fields {
		kinds[i] = c.kinds[f]
	}
	return sqldb.CollectionIndex{Name: ix.name, Kind: ix.kind, Collection: c.name, Owner: c.owner(), Fields: ix.fields, Kinds: kinds}
}

// dropIndex drops an index of a collection (see create).
func dropIndex(ctx context.Context, tx *sqldb.Tx, name string) error {
	if err := tx.CollectionIndex(ctx, sqldb.CollectionIndex{Name: name}, true); err != nil {
		return fmt.Errorf("drop index %s: %w", name, err)
	}
	return nil
}

// indexName names an index by its collection, kind and fields (with their
// kinds, so that a field whose type changes gets a new index); the hash
// keeps it short and unique whatever the names' lengths.
func indexName(name, owner, k string, fields []string, kinds map[string]sqldb.JSONKind) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", name, owner, k)
	for _, f := range fields {
		fmt.Fprintf(h, "\x00%s:%d", f, kinds[f])
	}
	short := name
	if len(short) > 40 {
		short = short[:40]
	}
	return "c" + k + "_" + short + "_" + hex.EncodeToString(h.Sum(nil))[:12]
}

// compile checks a declaration and compiles it; the field errors say what
// is wrong.
func compile(name string, d Declaration) (*compiled, []userd.FieldError) {
	var fs []userd.FieldError
	bad := func(field, code, msg string) {
		fs = append(fs, userd.FieldError{Field: field, Code: code, Message: msg})
	}
	if !namePattern.MatchString(name) || Reserved(name) {
		bad("name", "invalid_name", "A collection's name is 1 to 63 lower-case letters, digits and underscores, starting with a letter, and not one of userd's tables.")
	}
	if d.Owner != OwnerUser && d.Owner != OwnerOrganization {
		bad("owner", "invalid_owner", "owner is user or organization.")
	}
	if d.MaxRecordsPerOwner < 0 {
		bad("max_records_per_owner", "invalid", "max_records_per_owner is 0 (no bound) or more.")
	}
	if d.MembersWrite && d.Owner != OwnerOrganization {
		bad("members_write", "invalid", "members_write is for organisations' collections.")
	}
	c := &compiled{name: name, decl: d, kinds: map[string]sqldb.JSONKind{}}
	sch, err := compileSchema(d.Schema)
	if err != nil {
		bad("schema", "invalid_schema", "The schema is not a JSON Schema (draft 2020-12) of an object: "+err.Error())
		return c, fs
	}
	c.schema = sch
	props, _ := d.Schema["properties"].(map[string]any)
	field := func(at, f string, text bool) bool {
		if !fieldPattern.MatchString(f) {
			bad(at, "invalid_field", "A field here is a top-level property named by letters, digits and underscores.")
			return false
		}
		k, ok := kindOf(props[f])
		if !ok || (text && k != sqldb.JSONText) {
			want := "string, integer, number or boolean"
			if text {
				want = "string"
			}
			bad(at, "invalid_field", fmt.Sprintf("%s is not a property of the schema whose type is one of %s.", f, want))
			return false
		}
		c.kinds[f] = k
		return true
	}
	keys := func(at, k string, lists [][]string) {
		if len(lists) > MaxKeys {
			bad(at, "too_many", fmt.Sprintf("At most %d.", MaxKeys))
		}
		for i, l := range lists {
			p := at + "/" + strconv.Itoa(i)
			if len(l) == 0 || len(l) > MaxKeyFields {
				bad(p, "invalid_key", fmt.Sprintf("A key has 1 to %d fields.", MaxKeyFields))
				continue
			}
			ok := true
			for _, f := range l {
				ok = field(p, f, false) && ok
			}
			if ok {
				c.indexes = append(c.indexes, index{kind: k, fields: l})
			}
		}
	}
	keys("unique", uniqueKey, d.Unique)
	keys("indexes", plainKey, d.Indexes)
	if len(d.Relations) > MaxKeys {
		bad("relations", "too_many", fmt.Sprintf("At most %d.", MaxKeys))
	}
	required, _ := d.Schema["required"].([]any)
	for _, f := range sortedKeys(d.Relations) {
		r, p := d.Relations[f], "relations/"+f
		if !namePattern.MatchString(r.Collection) {
			bad(p, "invalid_relation", "A relation names a collection.")
		}
		switch r.OnDelete {
		case Cascade, Restrict:
		case SetNull:
			if slices.Contains(required, any(f)) {
				bad(p, "invalid_relation", "A set_null relation's field is not required: set_null removes it.")
			}
		default:
			bad(p, "invalid_relation", "on_delete is cascade, set_null or restrict.")
		}
		if field(p, f, true) {
			c.indexes = append(c.indexes, index{kind: relKey, fields: []string{f}})
		}
	}
	var ixs []index
	for _, ix := range c.indexes {
		ix.name = indexName(name, c.owner(), ix.kind, ix.fields, c.kinds)
		if !slices.ContainsFunc(ixs, func(o index) bool { return o.name == ix.name }) {
			ixs = append(ixs, ix)
		}
	}
	c.indexes = ixs
	return c, fs
}

// kindOf returns the SQL kind of a property's schema: its type, one of
// string, integer, number and boolean (with null beside it at most).
func kindOf(prop any) (sqldb.JSONKind, bool) {
	p, _ := prop.(map[string]any)
	var types []any
	switch t := p["type"].(type) {
	case string:
		types = []any{t}
	case []any:
		types = slices.DeleteFunc(slices.Clone(t), func(v any) bool { return v == "null" })
	}
	if len(types) != 1 {
		return 0, false
	}
	switch types[0] {
	case "string":
		return sqldb.JSONText, true
	case "integer", "number":
		return sqldb.JSONNumber, true
	case "boolean":
		return sqldb.JSONBool, true
	}
	return 0, false
}

// noLoader refuses every reference outside the schema: a declaration
// never reads files or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: a schema refers only to itself", url)
}

// compileSchema compiles a record's schema, which describes an object.
func compileSchema(schema map[string]any) (*jsonschema.Schema, error) {
	if schema == nil || schema["type"] != "object" {
		return nil, errors.New(`its type is "object"`)
	}
	// The compiler reads the schema as it reads an instance: numbers as
	// json.Number.
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // a record's date-time, email… is checked, not only described
	c.UseLoader(noLoader{})
	const url = "urn:userd:collection"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// MaxIndexedBytes bounds a string that a unique key, an index or a
// relation holds: PostgreSQL refuses a btree entry of more than about
// 2,700 bytes, and an index is no place for long text.
const MaxIndexedBytes = 1000

// tooLong returns an error for each string of an indexed field of data
// longer than MaxIndexedBytes.
func (c *compiled) tooLong(data any) []userd.FieldError {
	m, _ := data.(map[string]any)
	var fs []userd.FieldError
	for _, f := range sortedKeys(c.kinds) {
		if v, ok := m[f].(string); ok && c.kinds[f] == sqldb.JSONText && len(v) > MaxIndexedBytes {
			fs = append(fs, userd.FieldError{Field: "/" + escape(f), Code: "too_long",
				Message: fmt.Sprintf("A field that a unique key, an index or a relation names holds at most %d bytes of text.", MaxIndexedBytes)})
		}
	}
	return fs
}

// MaxFieldErrors bounds the field errors of a record's validation error;
// its message says how many more there were.
const MaxFieldErrors = 100

// tooManyErrors is the code of the field error that check adds after
// MaxFieldErrors others, counting the rest (see invalid).
const tooManyErrors = "too_many_errors"

// check validates a record's data (as jsonschema.UnmarshalJSON reads it):
// one field error per failing JSON pointer, the first reason of each, for
// the first MaxFieldErrors pointers; then one of code too_many_errors that
// counts the others.
func (c *compiled) check(data any) []userd.FieldError {
	err := c.schema.Validate(data)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var fs []userd.FieldError
	seen, more := map[string]bool{}, 0
	add := func(ptr, code string, msg func() string) {
		switch {
		case seen[ptr]:
		case len(fs) == MaxFieldErrors:
			seen[ptr] = true
			more++
		default:
			seen[ptr] = true
			fs = append(fs, userd.FieldError{Field: ptr, Code: code, Message: msg()})
		}
	}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, x := range e.Causes {
				walk(x)
			}
			return
		}
		ptr := jsonPointer(e.InstanceLocation)
		if r, ok := e.ErrorKind.(*kind.Required); ok {
			for _, m := range r.Missing {
				add(ptr+"/"+escape(m), "required", func() string { return "Required." })
			}
			return
		}
		code := "invalid"
		if kp := e.ErrorKind.KeywordPath(); len(kp) > 0 {
			code = kp[len(kp)-1]
		}
		add(ptr, code, func() string { return e.ErrorKind.LocalizedString(printer) })
	}
	walk(ve)
	if more > 0 {
		fs = append(fs, userd.FieldError{Field: "data", Code: tooManyErrors,
			Message: fmt.Sprintf("%d fields are listed, and %d more are invalid.", MaxFieldErrors, more)})
	}
	return fs
}

// invalid is the validation error of a record's field errors, with at most
// MaxFieldErrors of them: check's count of the others becomes its message.
func invalid(fs []userd.FieldError) error {
	if len(fs) <= MaxFieldErrors {
		return userd.Invalid(fs)
	}
	return &userd.Error{Kind: userd.KindInvalid, Code: "validation_failed", Fields: fs[:MaxFieldErrors],
		Message: "Some fields are invalid: " + fs[MaxFieldErrors].Message}
}

// jsonPointer is the JSON pointer of an instance location.
func jsonPointer(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		b.WriteString("/" + escape(t))
	}
	return b.String()
}

// escape escapes a JSON pointer's token.
func escape(t string) string {
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
