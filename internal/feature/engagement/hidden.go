package engagement

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Why content is hidden: held by reports until a moderator reviews it, or
// removed by a moderator.
const (
	Held    = "held"
	Removed = "removed"
)

// CommentRef is what moderation knows of a comment.
type CommentRef struct {
	ID, Item     string
	AuthorUserID string
	Hidden       string    // "", Held or Removed
	CreatedAt    time.Time // the day its count was added on
}

// LockComment locks a comment that is not deleted (a tombstone is no
// content) and returns it, hidden or not, or ErrCommentNotFound.
func LockComment(ctx context.Context, tx *sqldb.Tx, id string) (CommentRef, error) {
	var m CommentRef
	ok, err := tx.LockRow(ctx, "comments", "id", id)
	if err != nil {
		return m, err
	}
	if !ok {
		return m, ErrCommentNotFound
	}
	var hidden sql.NullString
	err = tx.QueryRow(ctx, `SELECT m.id, m.item_id, c.user_id, m.hidden, m.created_at FROM comments m JOIN client_profiles c ON c.id = m.user_id
		WHERE m.id = $1 AND m.deleted_at IS NULL`, id).Scan(&m.ID, &m.Item, &m.AuthorUserID, &hidden, &m.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrCommentNotFound
	}
	if err != nil {
		return m, fmt.Errorf("read comment: %w", err)
	}
	m.Hidden = hidden.String
	return m, nil
}

// SetCommentHidden hides a comment (Held or Removed) or shows it again
// (""), in the caller's transaction, and moves its item's comments_count:
// a hidden comment is not counted (on the day it was made, as a deletion of
// its author counts it off). A hold does not replace a removal. It
// reports whether anything changed, and returns ErrCommentNotFound.
func SetCommentHidden(ctx context.Context, tx *sqldb.Tx, id, hidden string) (bool, error) {
	m, err := LockComment(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if m.Hidden == hidden || (hidden == Held && m.Hidden == Removed) {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE comments SET hidden = $2, hidden_at = $3 WHERE id = $1`, id, sqldb.Nullable(hidden), tx.Now); err != nil {
		return false, fmt.Errorf("hide comment: %w", err)
	}
	switch {
	case m.Hidden == "":
		return true, add(ctx, tx, m.Item, Day(m.CreatedAt), shard(), Delta{Comments: -1})
	case hidden == "":
		return true, add(ctx, tx, m.Item, Day(m.CreatedAt), shard(), Delta{Comments: 1})
	}
	return true, nil
}

// SetItemHidden hides an item (Held or Removed) or shows it again (""), in
// the caller's transaction: its reads say hidden, and the application
// decides what that means for its page. A hold does not replace a removal.
// It reports whether anything changed.
func SetItemHidden(ctx context.Context, tx *sqldb.Tx, item, hidden string) (bool, error) {
	if err := CheckItem(item); err != nil {
		return false, err
	}
	tx.Invalidate(userd.ItemKey(item))
	var res sql.Result
	var err error
	switch hidden {
	case "":
		res, err = tx.Exec(ctx, `DELETE FROM hidden_items WHERE item_slug = $1`, item)
	case Held:
		res, err = tx.Exec(ctx, `INSERT INTO hidden_items (item_slug, hidden, created_at) VALUES ($1, $2, $3) ON CONFLICT (item_slug) DO NOTHING`,
			item, hidden, tx.Now)
	default:
		res, err = tx.Exec(ctx, `INSERT INTO hidden_items (item_slug, hidden, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (item_slug) DO UPDATE SET hidden = excluded.hidden, created_at = excluded.created_at WHERE hidden_items.hidden <> excluded.hidden`,
			item, hidden, tx.Now)
	}
	if err != nil {
		return false, fmt.Errorf("hide item: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// HiddenState returns why a comment or item is hidden (Held, Removed), or
// "" when it is not (or is no comment).
func HiddenState(ctx context.Context, tx *sqldb.Tx, kind, id string) (string, error) {
	var q string
	switch kind {
	case "comment":
		q = `SELECT COALESCE(hidden, '') FROM comments WHERE id = $1`
	case "item":
		q = `SELECT hidden FROM hidden_items WHERE item_slug = $1`
	default:
		return "", nil
	}
	var hidden string
	err := tx.QueryRow(ctx, q, id).Scan(&hidden)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("hidden %s: %w", kind, err)
	}
	return hidden, nil
}

// CommentAuthor returns the id of a comment's author, or "" when there is
// no such comment (or it is deleted).
func CommentAuthor(ctx context.Context, tx *sqldb.Tx, id string) (string, error) {
	var author string
	err := tx.QueryRow(ctx, `SELECT c.user_id FROM comments m JOIN client_profiles c ON c.id = m.user_id
		WHERE m.id = $1 AND m.deleted_at IS NULL`, id).Scan(&author)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read comment's author: %w", err)
	}
	return author, nil
}
