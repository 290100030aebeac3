// Package crm owns what seed 001 keeps for an operator's customer
// relations: companies (and the link of client profiles to them, through
// engagement's SetCompany), the mappings of userd's objects to an external
// CRM's (integration_mappings), the connection to a Twenty CRM
// (twenty_crm_config, whose API key is sealed) and the record of the
// demonstration seed (seed_status, with Seed, which loads a file once).
//
// One package owns the four tables because they answer one need, an
// operator's CRM and its demonstration data, and share its rules: every
// write is an administrator's (or the command line's), system-scoped and
// audited; two of the tables are singletons that the database itself keeps
// to one row.
package crm

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Permissions (the migrations seed them).
const (
	// CompaniesWrite reads and writes companies and links client profiles
	// to them.
	CompaniesWrite = "companies:write"
	// IntegrationsWrite reads, upserts and deletes integration mappings.
	IntegrationsWrite = "integrations:write"
	// CRMWrite reads and changes the Twenty CRM connection.
	CRMWrite = "crm:write"
	// SeedWrite reads, marks and clears the seed's status.
	SeedWrite = "seed:write"
	// usersRead reads a user's client profile with its company.
	usersRead = "users:read"
)

// need returns a forbidden error unless a holds permission.
func need(a userd.Actor, permission string) error {
	if a.Grants.Has(permission) {
		return nil
	}
	return userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+permission+".")
}

// MaxJSON bounds a company's metadata and the Twenty sync options, encoded.
const MaxJSON = 16 << 10

// Deps are what a Service works with.
type Deps struct {
	// Keyring seals the Twenty API key.
	Keyring *seal.Keyring
	// Hasher hashes the seed's passwords (Seed only).
	Hasher *password.Hasher
}

// Service serves companies, integration mappings, the Twenty connection
// and the seed's status.
type Service struct {
	db   *sqldb.DB
	deps Deps
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, d Deps) *Service { return &Service{db: db, deps: d} }

// apiKeyAD binds a sealed Twenty API key to its row.
func apiKeyAD(id, _ string) []byte { return seal.AD("twenty_crm_config", "api_key", id) }

// Sealed is the column of the sealed Twenty API key, for a key rotation.
var Sealed = sqldb.SealedColumn{Table: "twenty_crm_config", Column: "api_key", IDColumn: "id", AD: apiKeyAD}

// checkObject appends a field error unless raw is absent or a JSON object
// of at most MaxJSON bytes, and returns the object compacted ("{}" when
// absent).
func checkObject(fs []userd.FieldError, field string, raw json.RawMessage) ([]userd.FieldError, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return fs, "{}"
	}
	var b bytes.Buffer
	switch {
	case len(raw) > MaxJSON:
		return append(fs, userd.FieldError{Field: field, Code: "too_long", Message: fmt.Sprintf("At most %d bytes of JSON.", MaxJSON)}), ""
	case json.Compact(&b, raw) != nil || b.Len() == 0 || b.Bytes()[0] != '{':
		return append(fs, userd.FieldError{Field: field, Code: "not_an_object", Message: "A JSON object."}), ""
	}
	return fs, b.String()
}
