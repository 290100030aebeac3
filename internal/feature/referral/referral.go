// Package referral owns referrals and referred_users: each user's referral
// slug and the users who signed up through it.
package referral

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Referral is a user's referral.
type Referral struct {
	Slug          string
	ReferredCount int
}

// Referred is a user who signed up through a referral: the row's id, when,
// and the user's card, whose UserID is "" once they deleted their account
// (the referral still counts).
type Referred struct {
	ID string
	account.Card
	At time.Time
}

// Errors that the functions of this package return.
var (
	ErrSlugTaken = &userd.Error{Kind: userd.KindConflict, Code: "slug_taken", Message: "Another referral has this slug.",
		Fields: []userd.FieldError{{Field: "slug", Code: "taken", Message: "Another referral has this slug."}}}
	ErrUnknownSlug = userd.Invalid([]userd.FieldError{{Field: "referral_slug", Code: "unknown_referral", Message: "No referral has this slug."}})
)

var (
	slugRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$`)
	reserved = []string{"admin", "api", "app", "help", "login", "logout", "me", "null", "referral", "root", "settings", "signup", "support", "undefined", "userd", "www"}
)

// alphabet makes generated slugs: no 0/o, 1/l/i to misread.
const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"

func generate() string {
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// CheckSlug lower-cases a chosen slug and returns its field errors.
func CheckSlug(slug *string) []userd.FieldError {
	*slug = strings.ToLower(strings.TrimSpace(*slug))
	switch {
	case !slugRE.MatchString(*slug) || strings.Contains(*slug, "--"):
		return []userd.FieldError{{Field: "slug", Code: "invalid_slug", Message: "A slug has 3 to 32 of a-z, 0-9 and single '-', starting and ending with a letter or digit."}}
	case slices.Contains(reserved, *slug):
		return []userd.FieldError{{Field: "slug", Code: "reserved_slug", Message: "This slug is reserved."}}
	}
	return nil
}

// ensure returns the id and slug of the user's referral, creating it with
// a generated slug when there is none.
func ensure(ctx context.Context, tx *sqldb.Tx, userID string) (id, slug string, err error) {
	for range 5 {
		err = tx.QueryRow(ctx, `SELECT id, slug FROM referrals WHERE user_id = $1`, userID).Scan(&id, &slug)
		if !errors.Is(err, sql.ErrNoRows) {
			return id, slug, err
		}
		err = tx.QueryRow(ctx, `INSERT INTO referrals (id, user_id, slug, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT DO NOTHING RETURNING id, slug`, userd.NewID(tx.Now), userID, generate(), tx.Now).Scan(&id, &slug)
		if !errors.Is(err, sql.ErrNoRows) {
			return id, slug, err
		}
		// The slug was taken (or another request made the referral): again.
	}
	return "", "", fmt.Errorf("referral: no free slug after 5 tries")
}

// Get returns the user's referral, creating it on first use, with the count
// of the users it referred (ReferredUsers lists them).
func Get(ctx context.Context, tx *sqldb.Tx, userID string) (Referral, error) {
	id, slug, err := ensure(ctx, tx, userID)
	if err != nil {
		return Referral{}, fmt.Errorf("get referral: %w", err)
	}
	r := Referral{Slug: slug}
	if r.ReferredCount, err = referred(ctx, tx, id, userID); err != nil {
		return Referral{}, err
	}
	return r, nil
}

// Find returns the user's referral with its count, like Get, and false
// when they have none yet: it makes nothing.
func Find(ctx context.Context, tx *sqldb.Tx, userID string) (Referral, bool, error) {
	var id string
	var r Referral
	err := tx.QueryRow(ctx, `SELECT id, slug FROM referrals WHERE user_id = $1`, userID).Scan(&id, &r.Slug)
	if errors.Is(err, sql.ErrNoRows) {
		return Referral{}, false, nil
	}
	if err != nil {
		return Referral{}, false, fmt.Errorf("find referral: %w", err)
	}
	if r.ReferredCount, err = referred(ctx, tx, id, userID); err != nil {
		return Referral{}, false, err
	}
	return r, true, nil
}

// referred counts the users a referral brought.
func referred(ctx context.Context, tx *sqldb.Tx, id, userID string) (int, error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM referred_users WHERE referral_id = $1 AND user_id = $2`, id, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count referred: %w", err)
	}
	return n, nil
}

// ReferredUsers returns up to limit of the users who signed up through the
// referrer's referral, newest first, after the one whose row is beforeID
// ("" for the first page), with their public fields; those who deleted
// their account since come with an empty card. Their rows are other
// users', so it runs in a transaction that may cross users; the referrer
// filter is its wall.
func ReferredUsers(ctx context.Context, tx *sqldb.Tx, referrerID, beforeID string, limit int) ([]Referred, error) {
	out, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (Referred, error) {
		var x Referred
		var id sql.NullString
		err := row.Scan(&x.ID, &id, &x.Username, &x.FirstName, &x.LastName, &x.AvatarURL, &x.AuthUserID, &x.At)
		x.UserID, x.At = id.String, x.At.UTC()
		return x, err
	}, `SELECT ru.id, u.id, u.username, u.first_name, u.last_name, u.avatar_url, u.auth_user_id, ru.created_at
		FROM referred_users ru LEFT JOIN users u ON u.id = ru.referred_user_id
		WHERE ru.user_id = $1 AND ru.id < $2 ORDER BY ru.id DESC LIMIT $3`, referrerID, sqldb.Before(beforeID), limit)
	if err != nil {
		return nil, fmt.Errorf("list referred: %w", err)
	}
	return out, nil
}

// SetSlug gives the user's referral a chosen slug (checked with
// CheckSlug). It returns ErrSlugTaken.
func SetSlug(ctx context.Context, tx *sqldb.Tx, userID, slug string) error {
	id, current, err := ensure(ctx, tx, userID)
	if err != nil || current == slug {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE referrals SET slug = $1, updated_at = $2 WHERE id = $3 AND user_id = $4`, slug, tx.Now, id, userID)
	if sqldb.Violated(err, sqldb.Unique, "idx_referrals_slug") {
		return ErrSlugTaken
	}
	if err != nil {
		return fmt.Errorf("set slug: %w", err)
	}
	return nil
}

// Check returns ErrUnknownSlug when no referral has slug (in any case).
func Check(ctx context.Context, tx *sqldb.Tx, slug string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM referrals WHERE slug = $1`, strings.ToLower(strings.TrimSpace(slug))).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrUnknownSlug
	}
	if err != nil {
		return fmt.Errorf("find referral: %w", err)
	}
	return nil
}

// Record notes that newUserID signed up through the referral with the given
// slug ("" records nothing); it must run in a transaction that may cross
// users. It returns ErrUnknownSlug for a slug that no referral has, or that
// is the new user's own.
func Record(ctx context.Context, tx *sqldb.Tx, slug, newUserID string) error {
	if slug == "" {
		return nil
	}
	var id, referrer string
	err := tx.QueryRow(ctx, `SELECT id, user_id FROM referrals WHERE slug = $1`, strings.ToLower(strings.TrimSpace(slug))).Scan(&id, &referrer)
	if errors.Is(err, sql.ErrNoRows) || referrer == newUserID {
		return ErrUnknownSlug
	}
	if err != nil {
		return fmt.Errorf("find referral: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO referred_users (id, referral_id, user_id, referred_user_id, created_at) VALUES ($5, $1, $2, $3, $4)
		ON CONFLICT (referred_user_id) DO NOTHING`, id, referrer, newUserID, tx.Now, userd.NewID(tx.Now))
	if err != nil {
		return fmt.Errorf("record referral: %w", err)
	}
	return nil
}
