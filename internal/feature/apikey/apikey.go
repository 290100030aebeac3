// Package apikey owns api_keys and api_key_permissions: the credentials of
// application back-ends. A key is udk_ and 256 random bits, shown once and
// stored only as its SHA-256; it carries a fixed set of permissions and acts
// as no user. The operations that check who may make or revoke a key, and
// audit it, are admin's; this package keeps the rows and their rules.
package apikey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// Prefix starts every API key, so that secret scanners and people can
// recognise one.
const Prefix = "udk_"

// Key is an API key as it is listed: never its secret.
type Key struct {
	ID          string
	Name        string
	Permissions []string
	CreatedBy   string // "" when the command line or a key made it, or its maker is gone
	// CreatedByKey is the key that made it, when a key did: revoking that
	// key revokes this one.
	CreatedByKey string
	CreatedAt    time.Time
	LastUsedAt   *time.Time
	ExpiresAt    *time.Time
	RevokedAt    *time.Time
}

// New is what a new key is made of.
type New struct {
	Name        string
	Permissions []string
	ExpiresAt   *time.Time
	CreatedBy   string // the user who makes it; "" for the system or a key
	// CreatedByKey is the key that makes it, if one does.
	CreatedByKey string
}

// Errors that the functions of this package return.
var (
	ErrNotFound = userd.Errorf(userd.KindNotFound, "api_key_not_found", "No such API key.")
	// ErrUnusable is a key that is unknown, revoked or expired.
	ErrUnusable = userd.Errorf(userd.KindUnauthenticated, "unauthenticated", "The API key is unknown, revoked or expired.")
)

// MaxPermissions bounds the permissions of one key.
const MaxPermissions = 100

// check returns the field errors of n, reading the permissions that exist.
func (n *New) check(ctx context.Context, tx *sqldb.Tx) error {
	var fe []userd.FieldError
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || utf8.RuneCountInString(n.Name) > 100 || strings.ContainsFunc(n.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		fe = append(fe, userd.FieldError{Field: "name", Code: "invalid_name", Message: "A key's name is 1 to 100 characters without control characters."})
	}
	switch {
	case len(n.Permissions) == 0:
		fe = append(fe, userd.FieldError{Field: "permissions", Code: "required", Message: "A key carries at least one permission."})
	case len(n.Permissions) > MaxPermissions:
		fe = append(fe, userd.FieldError{Field: "permissions", Code: "too_many", Message: fmt.Sprintf("A key carries at most %d permissions.", MaxPermissions)})
	default:
		unknown, err := rbac.Unknown(ctx, tx, n.Permissions)
		if err != nil {
			return err
		}
		fe = append(fe, unknown...)
		slices.Sort(n.Permissions)
		n.Permissions = slices.Compact(n.Permissions)
	}
	if n.ExpiresAt != nil && !n.ExpiresAt.After(tx.Now) {
		fe = append(fe, userd.FieldError{Field: "expires_at", Code: "in_the_past", Message: "A key must expire in the future."})
	}
	return userd.Invalid(fe)
}

// Create makes a key in tx and returns it with its secret, which is never
// readable again. It returns a KindInvalid error for a bad name, no or
// unknown permissions, or an expiry in the past. Whether the maker may give
// those permissions is the caller's to check (rbac.Covers).
func Create(ctx context.Context, tx *sqldb.Tx, n New) (Key, string, error) {
	if err := n.check(ctx, tx); err != nil {
		return Key{}, "", err
	}
	secret, hash := token.New(Prefix)
	k := Key{ID: userd.NewID(tx.Now), Name: n.Name, Permissions: n.Permissions, CreatedBy: n.CreatedBy, CreatedByKey: n.CreatedByKey,
		CreatedAt: tx.Now, ExpiresAt: sqldb.Stored(n.ExpiresAt)}
	_, err := tx.Exec(ctx, `INSERT INTO api_keys (id, name, key_hash, created_by, created_by_api_key_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.Name, hash, sqldb.Nullable(k.CreatedBy), sqldb.Nullable(k.CreatedByKey), k.CreatedAt, k.ExpiresAt)
	if err != nil {
		return Key{}, "", fmt.Errorf("create api key: %w", err)
	}
	for _, p := range k.Permissions {
		res, err := tx.Exec(ctx, `INSERT INTO api_key_permissions (api_key_id, permission_id) SELECT $1, id FROM permissions WHERE key = $2`, k.ID, p)
		// A permission deleted since the check (committed, or committing
		// while the insert waited for it) is one that does not exist.
		if c := sqldb.ViolatedKind(err); c != nil && c.Kind == sqldb.ForeignKey {
			return Key{}, "", rbac.UnknownPermission(p)
		}
		if err != nil {
			return Key{}, "", fmt.Errorf("create api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return Key{}, "", rbac.UnknownPermission(p)
		}
	}
	return k, secret, nil
}

// columns are a key's columns, with its permissions comma-separated (no key
// holds a comma).
const columns = `k.id, k.name, k.created_by, k.created_by_api_key_id, k.created_at, k.last_used_at, k.expires_at, k.revoked_at,
	(SELECT string_agg(p.key, ',') FROM api_key_permissions kp JOIN permissions p ON p.id = kp.permission_id WHERE kp.api_key_id = k.id)`

func scan(row sqldb.Scanner) (Key, error) {
	var k Key
	var by, byKey, perms sql.NullString
	var used, expires, revoked sql.NullTime
	if err := row.Scan(&k.ID, &k.Name, &by, &byKey, &k.CreatedAt, &used, &expires, &revoked, &perms); err != nil {
		return Key{}, err
	}
	k.CreatedBy, k.CreatedByKey, k.CreatedAt = by.String, byKey.String, k.CreatedAt.UTC()
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = sqldb.TimeOf(used), sqldb.TimeOf(expires), sqldb.TimeOf(revoked)
	k.Permissions = []string{}
	if perms.String != "" {
		k.Permissions = strings.Split(perms.String, ",")
		slices.Sort(k.Permissions)
	}
	return k, nil
}

// List returns up to limit keys, newest first, older than the key beforeID
// ("" for the first page), revoked ones included.
func List(ctx context.Context, tx *sqldb.Tx, beforeID string, limit int) ([]Key, error) {
	out, err := sqldb.All(ctx, tx, scan, `SELECT `+columns+` FROM api_keys k WHERE k.id < $1 ORDER BY k.id DESC LIMIT $2`, sqldb.Before(beforeID), limit)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// Get returns the key with the given id, or ErrNotFound.
func Get(ctx context.Context, tx *sqldb.Tx, id string) (Key, error) {
	if _, ok := userd.ParseID(id); !ok {
		return Key{}, ErrNotFound
	}
	k, err := scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM api_keys k WHERE k.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrNotFound
	}
	if err != nil {
		return Key{}, fmt.Errorf("get api key: %w", err)
	}
	return k, nil
}

// Revoke ends a key at once, in every process (their invalidation keys),
// and with it every live key that it made, and that those made: a key
// cannot outlive its revocation through keys it minted. It returns the key
// and the ids of the keys it revoked now (none when the key was revoked
// already, and its descendants with it), or ErrNotFound.
func Revoke(ctx context.Context, tx *sqldb.Tx, id string) (Key, []string, error) {
	k, err := Get(ctx, tx, id)
	if err != nil {
		return Key{}, nil, err
	}
	ids, err := sqldb.All(ctx, tx, sqldb.ScanString,
		`WITH RECURSIVE family (id) AS (
			SELECT id FROM api_keys WHERE id = $1
			UNION SELECT k.id FROM api_keys k JOIN family f ON k.created_by_api_key_id = f.id)
		UPDATE api_keys SET revoked_at = $2 WHERE id IN (SELECT id FROM family) AND revoked_at IS NULL RETURNING id`, id, tx.Now)
	if err != nil {
		return Key{}, nil, fmt.Errorf("revoke api key: %w", err)
	}
	for _, r := range ids {
		tx.Invalidate(userd.APIKeyKey(r))
	}
	if k.RevokedAt == nil {
		now := tx.Now
		k.RevokedAt = &now
	}
	slices.Sort(ids)
	return k, ids, nil
}

// Find returns the usable key whose secret hashes to hash: known, not
// revoked, not expired at tx.Now. It returns ErrUnusable.
func Find(ctx context.Context, tx *sqldb.Tx, hash []byte) (Key, error) {
	k, err := scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM api_keys k
		WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)`, hash, tx.Now))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrUnusable
	}
	if err != nil {
		return Key{}, fmt.Errorf("find api key: %w", err)
	}
	return k, nil
}

// Touch records that the key was used at tx.Now, unless another request
// recorded a use within the last every: the many requests of one back-end
// that find a key at once write it once.
func Touch(ctx context.Context, tx *sqldb.Tx, id string, every time.Duration) error {
	_, err := tx.Exec(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`,
		tx.Now, id, tx.Now.Add(-every))
	if err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	return nil
}

// Grants are what a key may do: its permissions, never an admin's flag.
func (k Key) Grants() userd.Grants {
	return userd.Grants{Permissions: k.Permissions}
}

// Carrying returns the live keys (not revoked, not expired) that carry the
// permission key, by id.
func Carrying(ctx context.Context, tx *sqldb.Tx, permission string) ([]Key, error) {
	out, err := sqldb.All(ctx, tx, scan, `SELECT `+columns+` FROM api_keys k
		WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)
			AND EXISTS (SELECT 1 FROM api_key_permissions kp JOIN permissions p ON p.id = kp.permission_id WHERE kp.api_key_id = k.id AND p.key = $1)
		ORDER BY k.id`, permission, tx.Now)
	if err != nil {
		return nil, fmt.Errorf("keys carrying %s: %w", permission, err)
	}
	return out, nil
}
