// Package synchronization owns synchronizations: a user's links to external
// platforms (seed 000) with a sealed token and a daily sync schedule. It
// schedules the "sync due" and "token expiring" jobs and delivers them to the
// application as webhooks.
package synchronization

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Sync is a synchronization, without its token.
type Sync struct {
	ID             string
	UserID         string
	Service        string
	AccountID      string
	HasToken       bool
	TokenExpiresAt *time.Time
	LastSyncedAt   *time.Time
	DailySyncTime  *string // "HH:MM"
	TimeZone       string  // IANA
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Patch sets fields of a synchronization; nil leaves one as it is. An empty
// Token or DailySyncTime clears it; ClearTokenExpiry clears the expiry.
type Patch struct {
	Service          *string
	AccountID        *string
	Token            *string
	TokenExpiresAt   *time.Time
	ClearTokenExpiry bool
	DailySyncTime    *string
	TimeZone         *string
}

// MaxPerUser is how many synchronizations a user may have: Create refuses
// one more, so that no user grows the table (and the jobs it schedules)
// without bound.
const MaxPerUser = 100

// Errors that the functions of this package return.
var (
	ErrNotFound = userd.Errorf(userd.KindNotFound, "synchronization_not_found", "No such synchronization.")
	ErrExists   = &userd.Error{Kind: userd.KindConflict, Code: "synchronization_exists", Message: "This service account is already linked.",
		Fields: []userd.FieldError{{Field: "account_id", Code: "taken", Message: "This service account is already linked."}}}
	ErrTooMany = userd.Errorf(userd.KindConflict, "too_many_synchronizations", "You have "+strconv.Itoa(MaxPerUser)+" synchronizations, the most there can be: delete one first.")
)

// Job kinds.
const (
	KindDue      = "sync.due"
	KindExpiring = "sync.token_expiring"
	KindRun      = "sync.run" // one sync.due webhook now, asked for by RunNow
)

// ExpiryNotice is how long before a token's expiry the application hears of it.
const ExpiryNotice = 24 * time.Hour

var timeRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

func text(fe []userd.FieldError, field string, v *string, max int) []userd.FieldError {
	if v == nil {
		return fe
	}
	*v = strings.TrimSpace(*v)
	if *v == "" || utf8.RuneCountInString(*v) > max {
		return append(fe, userd.FieldError{Field: field, Code: "invalid_text", Message: fmt.Sprintf("Give 1 to %d characters.", max)})
	}
	return fe
}

// Check validates a patch; creating needs service and account_id.
func (p *Patch) Check(creating bool) []userd.FieldError {
	var fe []userd.FieldError
	if creating && (p.Service == nil || p.AccountID == nil) {
		fe = append(fe, userd.FieldError{Field: "service", Code: "required", Message: "A synchronization needs a service and an account_id."})
	}
	fe = text(fe, "service", p.Service, 100)
	fe = text(fe, "account_id", p.AccountID, 255)
	if p.Token != nil && len(*p.Token) > 16<<10 {
		fe = append(fe, userd.FieldError{Field: "token", Code: "invalid_token", Message: "A token is at most 16 KiB."})
	}
	if p.DailySyncTime != nil && *p.DailySyncTime != "" && !timeRE.MatchString(*p.DailySyncTime) {
		fe = append(fe, userd.FieldError{Field: "daily_sync_time", Code: "invalid_time", Message: "Give a time of day as HH:MM, such as 06:30."})
	}
	if p.TimeZone != nil {
		if _, err := time.LoadLocation(*p.TimeZone); err != nil || *p.TimeZone == "" || *p.TimeZone == "Local" {
			fe = append(fe, userd.FieldError{Field: "time_zone", Code: "invalid_time_zone", Message: "Give an IANA time zone, such as Europe/Paris."})
		}
	}
	return fe
}

// NextRun returns the first moment after now when the clock in tz shows
// hhmm.
func NextRun(hhmm, tz string, now time.Time) time.Time {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	var h, m int
	fmt.Sscanf(hhmm, "%d:%d", &h, &m)
	local := now.In(loc)
	next := time.Date(local.Year(), local.Month(), local.Day(), h, m, 0, 0, loc)
	if !next.After(now) {
		next = time.Date(local.Year(), local.Month(), local.Day()+1, h, m, 0, 0, loc)
	}
	return next.UTC()
}

func ad(id, userID string) []byte { return seal.AD("synchronizations", "token", id, userID) }

// Sealed is the synchronizations' sealed column, for master key rotation.
var Sealed = sqldb.SealedColumn{Table: "synchronizations", Column: "token", IDColumn: "id", UserColumn: "user_id", AD: ad}

const columns = `id, user_id, service, account_id, token IS NOT NULL, token_expires_at, last_synced_at, daily_sync_time, time_zone, created_at, updated_at`

func scan(row sqldb.Scanner) (Sync, error) {
	var s Sync
	var exp, last sql.NullTime
	var daily sql.NullString
	if err := row.Scan(&s.ID, &s.UserID, &s.Service, &s.AccountID, &s.HasToken, &exp, &last, &daily, &s.TimeZone, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return Sync{}, err
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	s.TokenExpiresAt, s.LastSyncedAt = sqldb.TimeOf(exp), sqldb.TimeOf(last)
	if daily.Valid {
		s.DailySyncTime = &daily.String
	}
	return s, nil
}

// Create links a service account for a user. It returns ErrExists,
// ErrTooMany when the user has MaxPerUser synchronizations already, and
// account.ErrNotFound when there is no such user. It locks the user's row
// until tx ends, so that concurrent creations count one after the other.
func Create(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID string, p Patch) (Sync, error) {
	if err := checkRoom(ctx, tx, userID); err != nil {
		return Sync{}, err
	}
	id := userd.NewID(tx.Now)
	tz := "UTC"
	if p.TimeZone != nil {
		tz = *p.TimeZone
	}
	_, err := tx.Exec(ctx, `INSERT INTO synchronizations (id, user_id, service, account_id, time_zone, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, id, userID, *p.Service, *p.AccountID, tz, tx.Now)
	if sqldb.Violated(err, sqldb.Unique, "idx_synchronizations_user_id_service_account_id") {
		return Sync{}, ErrExists
	}
	if err != nil {
		return Sync{}, fmt.Errorf("create synchronization: %w", err)
	}
	p.Service, p.AccountID, p.TimeZone = nil, nil, nil
	return Update(ctx, tx, ring, userID, id, p)
}

// checkRoom returns ErrTooMany when the user has MaxPerUser synchronizations (see
// account.LockAndCount: a concurrent creation counts after this transaction).
func checkRoom(ctx context.Context, tx *sqldb.Tx, userID string) error {
	n, err := account.LockAndCount(ctx, tx, userID, "synchronizations")
	if err != nil {
		return fmt.Errorf("create synchronization: %w", err)
	}
	if n >= MaxPerUser {
		return ErrTooMany
	}
	return nil
}

// Get returns one of the user's synchronizations, or ErrNotFound.
func Get(ctx context.Context, tx *sqldb.Tx, userID, id string) (Sync, error) {
	return sqldb.One(ctx, tx, ErrNotFound, "get synchronization", scan, `SELECT `+columns+` FROM synchronizations WHERE user_id = $1 AND id = $2`, userID, id)
}

// List returns up to limit of the user's synchronizations, newest first,
// older than beforeID ("" for the first page).
func List(ctx context.Context, tx *sqldb.Tx, userID, beforeID string, limit int) ([]Sync, error) {
	beforeID = sqldb.Before(beforeID)
	out, err := sqldb.All(ctx, tx, scan, `SELECT `+columns+` FROM synchronizations WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, userID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("list synchronizations: %w", err)
	}
	return out, nil
}

// Update applies a checked patch and reschedules the synchronization's jobs.
// It returns ErrNotFound or ErrExists.
func Update(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID, id string, p Patch) (Sync, error) {
	sets := []string{"updated_at = $3"}
	args := []any{userID, id, tx.Now}
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if p.Service != nil {
		set("service", *p.Service)
	}
	if p.AccountID != nil {
		set("account_id", *p.AccountID)
	}
	if p.Token != nil {
		var sealed any
		if *p.Token != "" {
			sealed = ring.Seal([]byte(*p.Token), ad(id, userID))
		}
		set("token", sealed)
	}
	switch {
	case p.ClearTokenExpiry:
		set("token_expires_at", nil)
	case p.TokenExpiresAt != nil:
		set("token_expires_at", p.TokenExpiresAt.UTC())
	}
	if p.DailySyncTime != nil {
		set("daily_sync_time", sqldb.Nullable(*p.DailySyncTime))
	}
	if p.TimeZone != nil {
		set("time_zone", *p.TimeZone)
	}
	s, err := scan(tx.QueryRow(ctx, `UPDATE synchronizations SET `+strings.Join(sets, ", ")+` WHERE user_id = $1 AND id = $2 RETURNING `+columns, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Sync{}, ErrNotFound
	}
	if sqldb.Violated(err, sqldb.Unique, "idx_synchronizations_user_id_service_account_id") {
		return Sync{}, ErrExists
	}
	if err != nil {
		return Sync{}, fmt.Errorf("update synchronization: %w", err)
	}
	return s, schedule(ctx, tx, s)
}

// Complete records that the application finished a sync.
func Complete(ctx context.Context, tx *sqldb.Tx, userID, id string, at time.Time) (Sync, error) {
	s, err := scan(tx.QueryRow(ctx, `UPDATE synchronizations SET last_synced_at = $1, updated_at = $2 WHERE user_id = $3 AND id = $4 RETURNING `+columns,
		at.UTC(), tx.Now, userID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Sync{}, ErrNotFound
	}
	if err != nil {
		return Sync{}, fmt.Errorf("complete synchronization: %w", err)
	}
	return s, nil
}

// Delete unlinks a synchronization and cancels its jobs. It returns
// ErrNotFound.
func Delete(ctx context.Context, tx *sqldb.Tx, userID, id string) error {
	if err := tx.ExecOne(ctx, ErrNotFound, `DELETE FROM synchronizations WHERE user_id = $1 AND id = $2`, userID, id); err != nil {
		return fmt.Errorf("delete synchronization: %w", err)
	}
	for _, key := range []string{dueKey(id), expiringKey(id), runKey(id)} {
		if err := jobs.Cancel(ctx, tx, key); err != nil {
			return err
		}
	}
	return nil
}

func dueKey(id string) string      { return "sync:" + id + ":due" }
func expiringKey(id string) string { return "sync:" + id + ":token_expiring" }
func runKey(id string) string      { return "sync:" + id + ":run" }

type jobPayload struct {
	SyncID string `json:"sync_id"`
	UserID string `json:"user_id"`
}

// schedule makes the jobs match the synchronization: a daily run when it
// has a time, a warning before its token expires.
func schedule(ctx context.Context, tx *sqldb.Tx, s Sync) error {
	payload := jobPayload{SyncID: s.ID, UserID: s.UserID}
	if s.DailySyncTime != nil {
		if err := jobs.Enqueue(ctx, tx, KindDue, dueKey(s.ID), payload, NextRun(*s.DailySyncTime, s.TimeZone, tx.Now)); err != nil {
			return err
		}
	} else if err := jobs.Cancel(ctx, tx, dueKey(s.ID)); err != nil {
		return err
	}
	if s.TokenExpiresAt != nil && s.HasToken && s.TokenExpiresAt.After(tx.Now) {
		return jobs.Enqueue(ctx, tx, KindExpiring, expiringKey(s.ID), payload, s.TokenExpiresAt.Add(-ExpiryNotice))
	}
	return jobs.Cancel(ctx, tx, expiringKey(s.ID))
}
