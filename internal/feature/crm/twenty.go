package crm

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Errors of the Twenty connection.
var (
	ErrTwentyNotConfigured = userd.Errorf(userd.KindNotFound, "twenty_crm_not_configured", "The Twenty CRM connection is not configured.")
	errAPIKeyRequired      = userd.Errorf(userd.KindInvalid, "api_key_required", "Give the API key again with a new base_url, and set one before enabling the connection.")
)

// TwentyConfig is the row of twenty_crm_config, without its API key.
type TwentyConfig struct {
	ID, BaseURL          string
	APIKeySet, Enabled   bool
	SyncOptions          json.RawMessage
	CreatedAt, UpdatedAt time.Time
	UpdatedBy            string // "" for an API key, or a deleted user
}

// TwentyPatch makes or changes the connection; nil fields stay as they
// are. APIKey "" removes the key.
type TwentyPatch struct {
	BaseURL, APIKey *string
	Enabled         *bool
	SyncOptions     json.RawMessage
}

// check validates p and returns the sync options to store ("" to keep
// them).
func (p TwentyPatch) check() (string, error) {
	var fs []userd.FieldError
	if p.BaseURL != nil && !baseURL(*p.BaseURL) {
		fs = append(fs, userd.FieldError{Field: "base_url", Code: "invalid_url",
			Message: "An https URL of at most 2000 characters without credentials, query or fragment (http only on a loopback host)."})
	}
	if p.APIKey != nil {
		fs = userd.CheckText(fs, "api_key", *p.APIKey, 4096)
	}
	var opts string
	if p.SyncOptions != nil {
		fs, opts = checkObject(fs, "sync_options", p.SyncOptions)
	}
	return opts, userd.Invalid(fs)
}

// baseURL reports whether u is https, or http on a loopback host, with a
// host and without credentials, query or fragment.
func baseURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || len(u) > 2000 || p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" || p.Opaque != "" {
		return false
	}
	switch p.Scheme {
	case "https":
		return true
	case "http":
		h := p.Hostname()
		ip := net.ParseIP(h)
		return strings.EqualFold(h, "localhost") || (ip != nil && ip.IsLoopback())
	}
	return false
}

const twentyColumns = `id, base_url, api_key IS NOT NULL, enabled, sync_options, created_at, updated_at, updated_by`

func scanTwenty(row sqldb.Scanner) (TwentyConfig, error) {
	var c TwentyConfig
	var opts string
	var by sql.NullString
	err := row.Scan(&c.ID, &c.BaseURL, &c.APIKeySet, &c.Enabled, &opts, &c.CreatedAt, &c.UpdatedAt, &by)
	c.SyncOptions, c.UpdatedBy = json.RawMessage(opts), by.String
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

// Twenty returns the connection to Twenty. It returns a forbidden error
// without CRMWrite and ErrTwentyNotConfigured.
func (s *Service) Twenty(ctx context.Context, a userd.Actor) (c TwentyConfig, err error) {
	if err := need(a, CRMWrite); err != nil {
		return c, err
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		c, err = sqldb.One(ctx, tx, ErrTwentyNotConfigured, "read twenty_crm_config", scanTwenty, `SELECT `+twentyColumns+` FROM twenty_crm_config`)
		return err
	})
	return c, err
}

// PutTwenty makes or changes the connection to Twenty, audited as
// audit.CRMTwentyConfigUpdated (without the key). The API key is sealed;
// it must be given again with a base URL that changes, so that whoever may
// change the connection cannot send the stored key to another host, and
// the connection cannot be enabled without one. It returns a forbidden
// error without CRMWrite and a validation error (base_url required when
// nothing is stored, 422 api_key_required).
func (s *Service) PutTwenty(ctx context.Context, a userd.Actor, cl userd.Client, p TwentyPatch) (c TwentyConfig, err error) {
	if err := need(a, CRMWrite); err != nil {
		return c, err
	}
	opts, err := p.check()
	if err != nil {
		return c, err
	}
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := tx.LockWrites(ctx, "twenty_crm_config"); err != nil {
			return err
		}
		old, err := sqldb.One(ctx, tx, ErrTwentyNotConfigured, "read twenty_crm_config", scanTwenty, `SELECT `+twentyColumns+` FROM twenty_crm_config`)
		creating := errors.Is(err, ErrTwentyNotConfigured)
		switch {
		case creating && p.BaseURL == nil:
			return userd.Invalid([]userd.FieldError{{Field: "base_url", Code: "required", Message: "The connection needs a base_url."}})
		case creating:
			old = TwentyConfig{ID: userd.NewID(tx.Now), SyncOptions: json.RawMessage("{}")}
		case err != nil:
			return err
		}
		next := old
		if p.BaseURL != nil {
			next.BaseURL = *p.BaseURL
		}
		if p.Enabled != nil {
			next.Enabled = *p.Enabled
		}
		if opts != "" {
			next.SyncOptions = json.RawMessage(opts)
		}
		if p.APIKey != nil {
			next.APIKeySet = *p.APIKey != ""
		}
		if (next.BaseURL != old.BaseURL && old.APIKeySet && p.APIKey == nil) || (next.Enabled && !next.APIKeySet) {
			return errAPIKeyRequired
		}
		if err := s.writeTwenty(ctx, tx, a, next, p.APIKey, creating); err != nil {
			return err
		}
		c, err = sqldb.One(ctx, tx, ErrTwentyNotConfigured, "read twenty_crm_config", scanTwenty, `SELECT `+twentyColumns+` FROM twenty_crm_config`)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, event(cl, audit.CRMTwentyConfigUpdated, "twenty_crm_config", c.ID, map[string]any{"base_url": c.BaseURL,
			"enabled": c.Enabled, "api_key_set": c.APIKeySet, "api_key_changed": p.APIKey != nil, "created": creating}))
	})
	return c, err
}

// writeTwenty stores c (with the API key key, sealed, when it is not nil)
// as the one row of twenty_crm_config.
func (s *Service) writeTwenty(ctx context.Context, tx *sqldb.Tx, a userd.Actor, c TwentyConfig, key *string, creating bool) error {
	by := sqldb.Nullable(a.UserID)
	if creating {
		_, err := tx.Exec(ctx, `INSERT INTO twenty_crm_config (id, base_url, enabled, sync_options, created_at, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $5, $6)`, c.ID, c.BaseURL, c.Enabled, string(c.SyncOptions), tx.Now, by)
		if err != nil {
			return fmt.Errorf("insert twenty_crm_config: %w", err)
		}
	} else if _, err := tx.Exec(ctx, `UPDATE twenty_crm_config SET base_url = $1, enabled = $2, sync_options = $3, updated_at = $4, updated_by = $5 WHERE id = $6`,
		c.BaseURL, c.Enabled, string(c.SyncOptions), tx.Now, by, c.ID); err != nil {
		return fmt.Errorf("update twenty_crm_config: %w", err)
	}
	if key == nil {
		return nil
	}
	var sealed []byte
	if *key != "" {
		sealed = s.deps.Keyring.Seal([]byte(*key), apiKeyAD(c.ID, ""))
	}
	if _, err := tx.Exec(ctx, `UPDATE twenty_crm_config SET api_key = $1 WHERE id = $2`, sealed, c.ID); err != nil {
		return fmt.Errorf("set twenty api key: %w", err)
	}
	return nil
}
