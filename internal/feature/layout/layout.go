// Package layout owns dashboard_layouts: each user's dashboard widget
// layout for desktop and mobile, written with optimistic concurrency.
package layout

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// MaxBytes bounds the size of a layout (desktop and mobile together).
const MaxBytes = 256 << 10

// Layout is a user's dashboard layout. Version counts its writes; 0 is the
// default layout that no write has made yet.
type Layout struct {
	Desktop   json.RawMessage
	Mobile    json.RawMessage
	Version   int
	UpdatedAt time.Time // zero for the default
}

// ErrStale is returned by Put when the layout changed since the version the
// writer read.
var ErrStale = userd.Errorf(userd.KindPreconditionFailed, "precondition_failed", "The layout changed since you read it: read it again.")

var empty = json.RawMessage("[]")

// Get returns the user's layout, or the default one.
func Get(ctx context.Context, tx *sqldb.Tx, userID string) (Layout, error) {
	var l Layout
	var desktop, mobile []byte
	err := tx.QueryRow(ctx, `SELECT desktop, mobile, version, updated_at FROM dashboard_layouts WHERE user_id = $1`, userID).
		Scan(&desktop, &mobile, &l.Version, &l.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Layout{Desktop: empty, Mobile: empty}, nil
	}
	if err != nil {
		return Layout{}, fmt.Errorf("get layout: %w", err)
	}
	l.Desktop, l.Mobile, l.UpdatedAt = compact(desktop), compact(mobile), l.UpdatedAt.UTC()
	return l, nil
}

// compact normalises stored JSON (PostgreSQL's jsonb adds spaces).
func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return json.RawMessage(b)
	}
	return buf.Bytes()
}

// Check validates a layout: each of desktop and mobile, when given, is an
// array of objects, and together they fit in MaxBytes. An absent one is [].
func Check(desktop, mobile json.RawMessage) (json.RawMessage, json.RawMessage, error) {
	var fe []userd.FieldError
	norm := func(field string, raw json.RawMessage) json.RawMessage {
		if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
			return empty
		}
		var items []map[string]any
		if err := json.Unmarshal(raw, &items); err != nil || items == nil || slices.ContainsFunc(items, func(m map[string]any) bool { return m == nil }) {
			fe = append(fe, userd.FieldError{Field: field, Code: "invalid_layout", Message: "A layout is a JSON array of widget objects."})
			return nil
		}
		return compact(raw)
	}
	desktop, mobile = norm("desktop", desktop), norm("mobile", mobile)
	if len(fe) == 0 && len(desktop)+len(mobile) > MaxBytes {
		fe = append(fe, userd.FieldError{Field: "desktop", Code: "too_large", Message: fmt.Sprintf("A layout is at most %d KiB.", MaxBytes>>10)})
	}
	return desktop, mobile, userd.Invalid(fe)
}

// Put replaces the user's layout. With ifVersion ≥ 0 it writes only over
// that version (0: no layout saved yet) and returns ErrStale otherwise; with
// ifVersion < 0 it writes whatever is there. desktop and mobile must have
// passed Check.
func Put(ctx context.Context, tx *sqldb.Tx, userID string, desktop, mobile json.RawMessage, ifVersion int) (Layout, error) {
	var version int
	var err error
	switch {
	case ifVersion == 0:
		err = tx.QueryRow(ctx, `INSERT INTO dashboard_layouts (id, user_id, desktop, mobile, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 1, $5, $5) ON CONFLICT (user_id) DO NOTHING RETURNING version`,
			userd.NewID(tx.Now), userID, string(desktop), string(mobile), tx.Now).Scan(&version)
	case ifVersion > 0:
		err = tx.QueryRow(ctx, `UPDATE dashboard_layouts SET desktop = $1, mobile = $2, version = version + 1, updated_at = $3
			WHERE user_id = $4 AND version = $5 RETURNING version`, string(desktop), string(mobile), tx.Now, userID, ifVersion).Scan(&version)
	default:
		err = tx.QueryRow(ctx, `INSERT INTO dashboard_layouts (id, user_id, desktop, mobile, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 1, $5, $5)
			ON CONFLICT (user_id) DO UPDATE SET desktop = excluded.desktop, mobile = excluded.mobile,
				version = dashboard_layouts.version + 1, updated_at = excluded.updated_at
			RETURNING version`, userd.NewID(tx.Now), userID, string(desktop), string(mobile), tx.Now).Scan(&version)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Layout{}, ErrStale
	}
	if err != nil {
		return Layout{}, fmt.Errorf("put layout: %w", err)
	}
	return Layout{Desktop: desktop, Mobile: mobile, Version: version, UpdatedAt: tx.Now}, nil
}
