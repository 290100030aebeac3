package engagement

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// FeaturePermission is what a caller needs to feature items and take them
// off the list (the migrations seed it).
const FeaturePermission = "items:feature"

// Bounds of a featured item.
const (
	MaxPosition   = 1_000_000 // the largest position
	MaxFeaturedBy = 200       // the longest featured_by, in characters
	MaxFeatured   = 1000      // the most items one FeaturedNow returns
)

// ErrFeatureForbidden refuses SetFeatured and Unfeature to a caller without
// FeaturePermission.
var ErrFeatureForbidden = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+FeaturePermission+".")

// Featured is what SetFeatured writes of an item: its position (0 when
// nil), the window in which it is featured (either end open when nil:
// featured from From, included, until Until, excluded), and who featured it
// (the caller's user or API key id when empty).
type Featured struct {
	Position    *int
	From, Until *time.Time
	By          string
}

// FeaturedItem is a row of featured_items.
type FeaturedItem struct {
	Item                 string
	Position             int
	From, Until          *time.Time
	By                   string
	CreatedAt, UpdatedAt time.Time
}

// check returns the field errors of f.
func (f Featured) check() error {
	var fs []userd.FieldError
	if f.Position != nil && (*f.Position < 0 || *f.Position > MaxPosition) {
		fs = append(fs, userd.FieldError{Field: "position", Code: "out_of_range",
			Message: fmt.Sprintf("A position is from 0 to %d.", MaxPosition)})
	}
	if f.From != nil && f.Until != nil && !f.Until.After(*f.From) {
		fs = append(fs, userd.FieldError{Field: "featured_until", Code: "before_from", Message: "featured_until comes after featured_from."})
	}
	return userd.Invalid(userd.CheckText(fs, "featured_by", f.By, MaxFeaturedBy))
}

const featuredColumns = `item_slug, position, featured_from, featured_until, featured_by, created_at, updated_at`

func scanFeatured(row sqldb.Scanner) (FeaturedItem, error) {
	var f FeaturedItem
	var from, until sql.NullTime
	var by *string
	err := row.Scan(&f.Item, &f.Position, &from, &until, &by, &f.CreatedAt, &f.UpdatedAt)
	f.From, f.Until = sqldb.TimeOf(from), sqldb.TimeOf(until)
	if by != nil {
		f.By = *by
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return f, err
}

// SetFeatured features item, or changes how it is featured: the row is
// replaced by f (see Featured), in a transaction that records
// audit.AdminItemFeatured with the caller as actor. It returns
// ErrFeatureForbidden, ErrInvalidItem and a validation error listing the bad
// fields; on any of them nothing changes.
func (s *Service) SetFeatured(ctx context.Context, a userd.Actor, c userd.Client, item string, f Featured) (out FeaturedItem, err error) {
	if !a.Grants.Has(FeaturePermission) {
		return out, ErrFeatureForbidden
	}
	if err := CheckItem(item); err != nil {
		return out, err
	}
	if err := f.check(); err != nil {
		return out, err
	}
	pos := 0
	if f.Position != nil {
		pos = *f.Position
	}
	if f.By == "" {
		f.By = a.UserID
		if f.By == "" {
			f.By = a.APIKeyID
		}
	}
	from, until := sqldb.Stored(f.From), sqldb.Stored(f.Until)
	// System: featured items belong to no user.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		tx.Invalidate(userd.ItemKey(item))
		out, err = scanFeatured(tx.QueryRow(ctx, `INSERT INTO featured_items (id, item_slug, position, featured_from, featured_until, featured_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
			ON CONFLICT (item_slug) DO UPDATE SET position = excluded.position, featured_from = excluded.featured_from,
				featured_until = excluded.featured_until, featured_by = excluded.featured_by, updated_at = excluded.updated_at
			RETURNING `+featuredColumns,
			userd.NewID(tx.Now), item, pos, from, until, sqldb.Nullable(f.By), tx.Now))
		if err != nil {
			return fmt.Errorf("feature item: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, APIKeyID: a.APIKeyID, Action: audit.AdminItemFeatured,
			TargetType: "item", TargetID: item, IP: c.IP, UserAgent: c.UserAgent,
			Metadata: map[string]any{"position": out.Position, "featured_from": out.From, "featured_until": out.Until, "featured_by": out.By}})
	})
	return out, err
}

// Unfeature takes item off the featured list; an item that was not
// featured is not an error (the trail says changed: false). It records
// audit.AdminItemUnfeatured with the caller as actor, and returns
// ErrFeatureForbidden and ErrInvalidItem.
func (s *Service) Unfeature(ctx context.Context, a userd.Actor, c userd.Client, item string) error {
	if !a.Grants.Has(FeaturePermission) {
		return ErrFeatureForbidden
	}
	if err := CheckItem(item); err != nil {
		return err
	}
	// System: featured items belong to no user.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		tx.Invalidate(userd.ItemKey(item))
		res, err := tx.Exec(ctx, `DELETE FROM featured_items WHERE item_slug = $1`, item)
		if err != nil {
			return fmt.Errorf("unfeature item: %w", err)
		}
		n, _ := res.RowsAffected()
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, APIKeyID: a.APIKeyID, Action: audit.AdminItemUnfeatured,
			TargetType: "item", TargetID: item, IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"changed": n > 0}})
	})
}

// featuredNow is the condition of a row featured at $2.
const featuredNow = `WHERE (featured_from IS NULL OR featured_from <= $2) AND (featured_until IS NULL OR featured_until > $2)`

// FeaturedNow returns up to limit (at most MaxFeatured) items featured at
// the transaction's clock, by position then slug.
func (s *Service) FeaturedNow(ctx context.Context, limit int) ([]FeaturedItem, error) {
	return s.featured(ctx, true, limit)
}

// AllFeatured returns up to limit (at most MaxFeatured) rows of the featured
// list, by position then slug, whether their window is open, past or to
// come: what an administrator manages. It returns ErrFeatureForbidden.
func (s *Service) AllFeatured(ctx context.Context, a userd.Actor, limit int) ([]FeaturedItem, error) {
	if !a.Grants.Has(FeaturePermission) {
		return nil, ErrFeatureForbidden
	}
	return s.featured(ctx, false, limit)
}

// featured returns up to limit (at most MaxFeatured) rows of featured_items,
// only those featured now when now, by position then slug.
func (s *Service) featured(ctx context.Context, now bool, limit int) (out []FeaturedItem, err error) {
	if limit <= 0 || limit > MaxFeatured {
		limit = MaxFeatured
	}
	// System: featured items belong to no user; the list is public.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		where, args := "", []any{limit}
		if now {
			where, args = featuredNow, append(args, tx.Now)
		}
		out, err = sqldb.All(ctx, tx, scanFeatured, `SELECT `+featuredColumns+` FROM featured_items `+where+`
			ORDER BY position, item_slug LIMIT $1`, args...)
		if err != nil {
			return fmt.Errorf("featured items: %w", err)
		}
		return nil
	})
	return out, err
}
