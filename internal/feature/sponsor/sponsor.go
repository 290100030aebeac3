// Package sponsor owns sponsor ads (seed 001's sponsor_ads): what a user
// submits to be shown beside an item within a window of time, the review
// that approves or rejects it, and the public list of the approved ads
// shown now. An ad's text is stored and returned as written; userd never
// renders it.
package sponsor

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/platform/sqldb"
)

// ReviewPermission is what a caller needs to list ads for review and to
// approve or reject them (the migrations seed it).
const ReviewPermission = "sponsor_ads:review"

// The statuses of an ad.
const (
	Pending  = "pending"
	Approved = "approved"
	Rejected = "rejected"
)

// Statuses are the values of an ad's status.
var Statuses = []string{Pending, Approved, Rejected}

// Bounds of an ad.
const (
	MaxTitle       = 200  // the longest title, in characters
	MaxDescription = 2000 // the longest description, in characters
	MaxURL         = 2000 // the longest image_url or target_url, in bytes
	MaxReviewNote  = 2000 // the longest review note, in characters
	MaxPending     = 50   // the most ads one user may have waiting for review
	MaxActive      = 100  // the most ads one Active returns
)

// Errors of the Service.
var (
	ErrNotFound = userd.Errorf(userd.KindNotFound, "sponsor_ad_not_found", "No such sponsor ad.")
	// ErrOwnAd refuses a reviewer's decision on their own ad.
	ErrOwnAd           = userd.Errorf(userd.KindForbidden, "own_sponsor_ad", "Another reviewer decides on your own ad.")
	ErrTooManyPending  = userd.Errorf(userd.KindConflict, "too_many_pending_ads", "You have "+strconv.Itoa(MaxPending)+" sponsor ads waiting for review, the most there can be: wait for a decision first.")
	ErrReviewForbidden = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+ReviewPermission+".")
)

// Ad is a row of sponsor_ads. ImageURL, ReviewNote and ReviewedBy are empty
// when there is none; ReviewedBy is also empty for a decision made with an
// API key, or by an administrator since deleted.
type Ad struct {
	ID, UserID, Item                     string
	Title, Description, ImageURL, Target string
	StartsAt, EndsAt                     time.Time
	Status, ReviewNote, ReviewedBy       string
	ReviewedAt                           *time.Time
	CreatedAt, UpdatedAt                 time.Time
}

// New is what a user submits: an ad for Item, shown from StartsAt
// (included) until EndsAt (excluded) once approved.
type New struct {
	Item, Title, Description, ImageURL, Target string
	StartsAt, EndsAt                           time.Time
}

// check returns the field errors of n at now.
func (n New) check(now time.Time) error {
	var fs []userd.FieldError
	if engagement.CheckItem(n.Item) != nil {
		fs = append(fs, userd.FieldError{Field: "item_slug", Code: "invalid_item", Message: engagement.ErrInvalidItem.Message})
	}
	if strings.TrimSpace(n.Title) == "" {
		fs = append(fs, userd.FieldError{Field: "title", Code: "required", Message: "A title has 1 to 200 characters."})
	}
	fs = userd.CheckText(fs, "title", n.Title, MaxTitle)
	fs = userd.CheckText(fs, "description", n.Description, MaxDescription)
	if n.ImageURL != "" && !webURL(n.ImageURL) {
		fs = append(fs, userd.FieldError{Field: "image_url", Code: "invalid_url", Message: badURL})
	}
	if !webURL(n.Target) {
		fs = append(fs, userd.FieldError{Field: "target_url", Code: "invalid_url", Message: badURL})
	}
	switch {
	case !n.EndsAt.After(n.StartsAt):
		fs = append(fs, userd.FieldError{Field: "ends_at", Code: "before_starts_at", Message: "ends_at comes after starts_at."})
	case !n.EndsAt.After(now):
		fs = append(fs, userd.FieldError{Field: "ends_at", Code: "in_the_past", Message: "ends_at is in the future."})
	}
	return userd.Invalid(fs)
}

// badURL says what an image_url or target_url must be.
const badURL = "An http or https URL with a host and no user name, of at most 2000 bytes."

// webURL reports whether raw is an http or https URL with a host and no
// user information, of at most MaxURL bytes.
func webURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && len(raw) <= MaxURL && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

const columns = `id, user_id, item_slug, title, description, image_url, target_url, starts_at, ends_at,
	status, review_note, reviewed_by, reviewed_at, created_at, updated_at`

func scan(row sqldb.Scanner) (Ad, error) {
	var a Ad
	var image, note, by sql.NullString
	var reviewed sql.NullTime
	err := row.Scan(&a.ID, &a.UserID, &a.Item, &a.Title, &a.Description, &image, &a.Target, &a.StartsAt, &a.EndsAt,
		&a.Status, &note, &by, &reviewed, &a.CreatedAt, &a.UpdatedAt)
	a.ImageURL, a.ReviewNote, a.ReviewedBy = image.String, note.String, by.String
	a.ReviewedAt = sqldb.TimeOf(reviewed)
	a.StartsAt, a.EndsAt, a.CreatedAt, a.UpdatedAt = a.StartsAt.UTC(), a.EndsAt.UTC(), a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

// Service serves sponsor ads: submission, the sponsor's list, review, and
// the ads shown now.
type Service struct{ db *sqldb.DB }

// NewService returns a Service over db.
func NewService(db *sqldb.DB) *Service { return &Service{db: db} }

// Submit stores the actor's ad as pending, in a transaction that records
// audit.SponsorAdSubmitted in their trail. It returns a validation error
// listing the bad fields, ErrTooManyPending when the actor has MaxPending
// ads waiting for review, and account.ErrNotFound for a user deleted
// meanwhile; on any of them nothing is written.
func (s *Service) Submit(ctx context.Context, a userd.Actor, c userd.Client, n New) (ad Ad, err error) {
	if err := n.check(s.db.Now()); err != nil {
		return ad, err
	}
	err = s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		// The user's row, locked, holds concurrent submissions in line
		// behind the count.
		ok, err := tx.LockRow(ctx, "users", "id", a.UserID)
		if err != nil {
			return fmt.Errorf("lock user: %w", err)
		}
		if !ok {
			return account.ErrNotFound
		}
		var pending int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM sponsor_ads WHERE user_id = $1 AND status = $2`, a.UserID, Pending).Scan(&pending); err != nil {
			return fmt.Errorf("count pending sponsor ads: %w", err)
		}
		if pending >= MaxPending {
			return ErrTooManyPending
		}
		ad, err = scan(tx.QueryRow(ctx, `INSERT INTO sponsor_ads (id, user_id, item_slug, title, description, image_url, target_url, starts_at, ends_at, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
			RETURNING `+columns,
			userd.NewID(tx.Now), a.UserID, n.Item, n.Title, n.Description, sqldb.Nullable(n.ImageURL), n.Target,
			sqldb.Stored(&n.StartsAt), sqldb.Stored(&n.EndsAt), Pending, tx.Now))
		if err != nil {
			return fmt.Errorf("insert sponsor ad: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.SponsorAdSubmitted, TargetType: "sponsor_ad", TargetID: ad.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"item_slug": ad.Item}})
	})
	return ad, err
}

// Mine returns up to limit of the actor's ads, whatever their status,
// newest first, after the ad with id before ("" for the first page).
func (s *Service) Mine(ctx context.Context, a userd.Actor, before string, limit int) (ads []Ad, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		ads, err = sqldb.All(ctx, tx, scan, `SELECT `+columns+` FROM sponsor_ads WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
			a.UserID, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list sponsor ads: %w", err)
		}
		return nil
	})
	return ads, err
}

// List returns up to limit ads of every user, newest first, after the ad
// with id before, with the given status (any when ""): the review queue.
// It returns ErrReviewForbidden and a validation error for an unknown
// status.
func (s *Service) List(ctx context.Context, a userd.Actor, status, before string, limit int) (ads []Ad, err error) {
	if !a.Grants.Has(ReviewPermission) {
		return nil, ErrReviewForbidden
	}
	if status != "" && !slices.Contains(Statuses, status) {
		return nil, userd.Invalid([]userd.FieldError{{Field: "status", Code: "invalid_status", Message: "The status is pending, approved or rejected."}})
	}
	where, args := `id < $1`, []any{sqldb.Before(before), limit}
	if status != "" {
		where, args = `status = $3 AND id < $1`, append(args, status)
	}
	// System: the queue holds every user's ads.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		ads, err = sqldb.All(ctx, tx, scan, `SELECT `+columns+` FROM sponsor_ads WHERE `+where+` ORDER BY id DESC LIMIT $2`, args...)
		if err != nil {
			return fmt.Errorf("list sponsor ads: %w", err)
		}
		return nil
	})
	return ads, err
}

// Review decides an ad: status approved or rejected, with an optional note
// for the sponsor. Reviewing an ad again replaces the decision (an approved
// ad may be rejected later, and the other way round). It sets reviewed_by to
// the actor's user (none for an API key) and reviewed_at to now, tells the
// sponsor in a notification (the note as its description) and records
// audit.SponsorAdReviewed in the sponsor's trail with the reviewer as actor,
// all in one transaction. It returns ErrReviewForbidden, a validation error
// listing the bad fields, and ErrNotFound.
func (s *Service) Review(ctx context.Context, a userd.Actor, c userd.Client, id, status, note string) (ad Ad, err error) {
	if !a.Grants.Has(ReviewPermission) {
		return ad, ErrReviewForbidden
	}
	if status != Approved && status != Rejected {
		return ad, userd.Invalid([]userd.FieldError{{Field: "status", Code: "invalid_status", Message: "A decision is approved or rejected."}})
	}
	if err := userd.Invalid(userd.CheckText(nil, "review_note", note, MaxReviewNote)); err != nil {
		return ad, err
	}
	id, ok := userd.ParseID(id)
	if !ok {
		return ad, ErrNotFound
	}
	// System: the ad is another user's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		ad, err = sqldb.One(ctx, tx, ErrNotFound, "review sponsor ad", scan, `UPDATE sponsor_ads
			SET status = $1, review_note = $2, reviewed_by = $3, reviewed_at = $4, updated_at = $4
			WHERE id = $5 RETURNING `+columns,
			status, sqldb.Nullable(note), sqldb.Nullable(a.UserID), tx.Now, id)
		if err != nil {
			return err
		}
		if ad.UserID == a.UserID {
			return ErrOwnAd // rolls the decision back
		}
		data, err := json.Marshal(map[string]string{"sponsor_ad_id": ad.ID, "item_slug": ad.Item, "title": ad.Title, "status": ad.Status})
		if err != nil {
			return fmt.Errorf("notification data: %w", err)
		}
		if _, err := notify.Create(ctx, tx, ad.UserID, notify.New{Type: "sponsor_ad." + ad.Status, Title: "Your sponsor ad was " + ad.Status,
			Description: ad.ReviewNote, Data: data}); err != nil {
			return fmt.Errorf("tell the sponsor: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{UserID: ad.UserID, ActorUserID: a.UserID, APIKeyID: a.APIKeyID, Action: audit.SponsorAdReviewed,
			TargetType: "sponsor_ad", TargetID: ad.ID, IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"status": ad.Status}})
	})
	return ad, err
}

// Active returns up to limit (at most MaxActive) approved ads shown at the
// transaction's clock (starts_at ≤ now < ends_at), for item or for every
// item when item is "", by starts_at then id. It returns ErrInvalidItem
// (engagement's) for a bad slug.
func (s *Service) Active(ctx context.Context, item string, limit int) (ads []Ad, err error) {
	if item != "" {
		if err := engagement.CheckItem(item); err != nil {
			return nil, err
		}
	}
	if limit <= 0 || limit > MaxActive {
		limit = MaxActive
	}
	// System: the ads shown are every sponsor's; the list is public.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		// Not while the sponsor is suspended or banned, nor on an item a
		// moderator hid.
		q, args := `SELECT `+columns+` FROM sponsor_ads WHERE status = $1 AND ends_at > $2 AND starts_at <= $2
			AND EXISTS (SELECT 1 FROM users u WHERE u.id = sponsor_ads.user_id AND u.status = 'active')
			AND NOT EXISTS (SELECT 1 FROM hidden_items h WHERE h.item_slug = sponsor_ads.item_slug)`, []any{Approved, tx.Now, limit}
		if item != "" {
			q, args = q+` AND item_slug = $4`, append(args, item)
		}
		ads, err = sqldb.All(ctx, tx, scan, q+` ORDER BY starts_at, id LIMIT $3`, args...)
		if err != nil {
			return fmt.Errorf("active sponsor ads: %w", err)
		}
		return nil
	})
	return ads, err
}
