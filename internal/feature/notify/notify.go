// Package notify owns notifications: what userd and administrators tell a
// user, read or unread, and the live delivery of each one as it is
// committed, in every userd process of the database.
package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Channel is the database notification channel that announces each new
// notification as "user_id:notification_id".
const Channel = "userd_notifications"

// Notification is one notification.
type Notification struct {
	ID          string
	UserID      string
	Type        string
	Title       string
	Description string
	Data        json.RawMessage
	ReadAt      *time.Time
	CreatedAt   time.Time
}

// Notice is a notification that userd itself sends, such as a security
// notice (see auth.Service.Tell): its type, title and text.
type Notice struct {
	Type  string
	Title string
	Text  string
}

// New is what makes a notification.
type New struct {
	Type        string
	Title       string
	Description string
	Data        json.RawMessage // a JSON object, or empty
}

// ErrNotFound is returned for a notification that does not exist or is
// another user's.
var ErrNotFound = userd.Errorf(userd.KindNotFound, "notification_not_found", "No such notification.")

var typeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]{0,63}$`)

// maxData bounds a notification's data.
const maxData = 16 << 10

// Check validates a new notification.
func (n *New) Check() []userd.FieldError {
	var fe []userd.FieldError
	n.Title, n.Description = strings.TrimSpace(n.Title), strings.TrimSpace(n.Description)
	if !typeRE.MatchString(n.Type) {
		fe = append(fe, userd.FieldError{Field: "type", Code: "invalid_type_name", Message: "A type is 1 to 64 of a-z, 0-9, '_', '.', ':' or '-', such as billing.invoice_paid."})
	}
	if n.Title == "" || utf8.RuneCountInString(n.Title) > 200 {
		fe = append(fe, userd.FieldError{Field: "title", Code: "invalid_text", Message: "A title has 1 to 200 characters."})
	}
	if utf8.RuneCountInString(n.Description) > 2000 {
		fe = append(fe, userd.FieldError{Field: "description", Code: "invalid_text", Message: "A description has at most 2000 characters."})
	}
	if len(n.Data) > 0 {
		var obj map[string]any
		if len(n.Data) > maxData || json.Unmarshal(n.Data, &obj) != nil || obj == nil {
			fe = append(fe, userd.FieldError{Field: "data", Code: "invalid_data", Message: "data is a JSON object of at most 16 KiB."})
		}
	} else {
		n.Data = json.RawMessage("{}")
	}
	return fe
}

const columns = `id, user_id, type, title, description, data, read_at, created_at`

func scan(row sqldb.Scanner) (Notification, error) {
	var n Notification
	var data []byte
	var read sql.NullTime
	if err := row.Scan(&n.ID, &n.UserID, &n.Type, &n.Title, &n.Description, &data, &read, &n.CreatedAt); err != nil {
		return Notification{}, err
	}
	n.Data, n.CreatedAt = json.RawMessage(data), n.CreatedAt.UTC()
	n.ReadAt = sqldb.TimeOf(read)
	return n, nil
}

// Create stores a checked notification for a user and announces it on
// Channel when the transaction commits. No Data stores an empty object.
func Create(ctx context.Context, tx *sqldb.Tx, userID string, n New) (Notification, error) {
	if len(n.Data) == 0 {
		n.Data = json.RawMessage(`{}`)
	}
	id := userd.NewID(tx.Now)
	_, err := tx.Exec(ctx, `INSERT INTO notifications (id, user_id, type, title, description, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, userID, n.Type, n.Title, n.Description, string(n.Data), tx.Now)
	if err != nil {
		return Notification{}, fmt.Errorf("insert notification: %w", err)
	}
	if err := changed(ctx, tx, userID, 1); err != nil {
		return Notification{}, err
	}
	if err := tx.Notify(ctx, Channel, userID+":"+id); err != nil {
		return Notification{}, err
	}
	return Notification{ID: id, UserID: userID, Type: n.Type, Title: n.Title, Description: n.Description, Data: n.Data, CreatedAt: tx.Now}, nil
}

// Get returns one of the user's notifications, or ErrNotFound.
func Get(ctx context.Context, tx *sqldb.Tx, userID, id string) (Notification, error) {
	return sqldb.One(ctx, tx, ErrNotFound, "get notification", scan, `SELECT `+columns+` FROM notifications WHERE user_id = $1 AND id = $2`, userID, id)
}

// List returns up to limit of the user's notifications older than beforeID
// ("" for the newest), newest first; only unread ones when unread is set.
func List(ctx context.Context, tx *sqldb.Tx, userID string, unread bool, beforeID string, limit int) ([]Notification, error) {
	beforeID = sqldb.Before(beforeID)
	q := `SELECT ` + columns + ` FROM notifications WHERE user_id = $1 AND id < $2`
	if unread {
		q += ` AND read_at IS NULL`
	}
	return many(ctx, tx, q+` ORDER BY id DESC LIMIT $3`, userID, beforeID, limit)
}

// After returns up to limit of the user's notifications newer than afterID,
// oldest first: what a stream that resumes from afterID missed.
func After(ctx context.Context, tx *sqldb.Tx, userID, afterID string, limit int) ([]Notification, error) {
	return many(ctx, tx, `SELECT `+columns+` FROM notifications WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3`, userID, afterID, limit)
}

func many(ctx context.Context, tx *sqldb.Tx, q string, args ...any) ([]Notification, error) {
	out, err := sqldb.All(ctx, tx, scan, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return out, nil
}

// changed records, in the transaction that changed the user's
// notifications, that they changed: the unread counter moves by by, and
// what processes remember of them is invalidated.
func changed(ctx context.Context, tx *sqldb.Tx, userID string, by int64) error {
	tx.Invalidate(userd.NotificationsKey(userID))
	if by == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO notification_counters (user_id, unread) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET unread = notification_counters.unread + excluded.unread`, userID, by)
	if err != nil {
		return fmt.Errorf("count unread: %w", err)
	}
	return nil
}

// UnreadCount returns the user's count of unread notifications: one row,
// kept exact by every change.
func UnreadCount(ctx context.Context, tx *sqldb.Tx, userID string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT unread FROM notification_counters WHERE user_id = $1`, userID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// MarkRead marks one of the user's notifications read (again is fine). It
// returns ErrNotFound.
func MarkRead(ctx context.Context, tx *sqldb.Tx, userID, id string) error {
	res, err := tx.Exec(ctx, `UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND id = $3 AND read_at IS NULL`, tx.Now, userID, id)
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return changed(ctx, tx, userID, -1)
	}
	_, err = Get(ctx, tx, userID, id) // read already, or not there
	return err
}

// MarkAllRead marks every unread notification of the user read and returns
// how many.
func MarkAllRead(ctx context.Context, tx *sqldb.Tx, userID string) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL`, tx.Now, userID)
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, nil
	}
	return n, changed(ctx, tx, userID, -n)
}

// Delete removes one of the user's notifications. It returns ErrNotFound.
func Delete(ctx context.Context, tx *sqldb.Tx, userID, id string) error {
	var readAt sql.NullTime
	err := tx.QueryRow(ctx, `DELETE FROM notifications WHERE user_id = $1 AND id = $2 RETURNING read_at`, userID, id).Scan(&readAt)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete notification: %w", err)
	}
	if !readAt.Valid {
		return changed(ctx, tx, userID, -1)
	}
	return changed(ctx, tx, userID, 0)
}

// InsertBatch stores many checked notifications for one user in one
// statement, without announcing them: the bulk path for seeding and
// loading.
func InsertBatch(ctx context.Context, tx *sqldb.Tx, userID string, ns []New) error {
	if len(ns) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO notifications (id, user_id, type, title, description, data, created_at) VALUES `)
	args := []any{userID, tx.Now}
	for i, n := range ns {
		if i > 0 {
			b.WriteString(", ")
		}
		k := len(args)
		fmt.Fprintf(&b, "($%d, $1, $%d, $%d, $%d, $%d, $2)", k+1, k+2, k+3, k+4, k+5)
		data := n.Data
		if len(data) == 0 {
			data = json.RawMessage("{}")
		}
		args = append(args, userd.NewID(tx.Now), n.Type, n.Title, n.Description, string(data))
	}
	if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("insert notifications: %w", err)
	}
	return changed(ctx, tx, userID, int64(len(ns)))
}
