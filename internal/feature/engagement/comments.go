package engagement

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// ModeratePermission is what a caller needs to edit and delete other users'
// comments (the migrations seed it).
const ModeratePermission = "comments:moderate"

// MaxCommentBody is how many characters a comment may have.
const MaxCommentBody = 10_000

// Errors of comments.
var (
	ErrCommentNotFound = userd.Errorf(userd.KindNotFound, "comment_not_found", "No such comment on this item.")
)

// Comment is a comment on an item as anyone sees it. A deleted comment that
// has replies stays as a tombstone: Deleted, with no body and no author.
type Comment struct {
	ID, Item string
	ParentID string // "" for a top-level comment
	// AuthorID is the author's user id and AuthorName their client
	// profile's display name ("" for a tombstone).
	AuthorID, AuthorName string
	Body                 string
	Deleted              bool
	Hidden               string // Held or Removed: seen by moderators (and in its author's export) only
	Replies              int64  // live replies of a top-level comment
	EditedAt             *time.Time
	CreatedAt, UpdatedAt time.Time
}

// CommentQuery selects a page of comments.
type CommentQuery struct {
	ParentID string // "" for top-level comments; else that comment's replies
	Oldest   bool   // oldest first (newest first otherwise)
	After    string // the cursor: the last comment of the previous page
	Limit    int
}

// checkBody returns a validation error unless body is 1 to MaxCommentBody
// characters of text that is not only blank.
func checkBody(body string) error {
	fs := userd.CheckText(nil, "body", body, MaxCommentBody)
	if len(fs) == 0 && strings.TrimSpace(body) == "" {
		fs = append(fs, userd.FieldError{Field: "body", Code: "required", Message: "A comment has some text."})
	}
	return userd.Invalid(fs)
}

const commentColumns = `m.id, m.item_id, COALESCE(CAST(m.parent_id AS TEXT), ''), CASE WHEN m.deleted_at IS NULL THEN c.user_id END,
	CASE WHEN m.deleted_at IS NULL THEN c.display_name END, m.body, m.deleted_at IS NOT NULL, COALESCE(m.hidden, ''),
	(SELECT count(*) FROM comments r WHERE r.parent_id = m.id AND r.deleted_at IS NULL AND r.hidden IS NULL), m.edited_at, m.created_at, m.updated_at
	FROM comments m JOIN client_profiles c ON c.id = m.user_id`

func scanComment(row sqldb.Scanner) (Comment, error) {
	var m Comment
	var author, name sql.NullString
	var edited sql.NullTime
	err := row.Scan(&m.ID, &m.Item, &m.ParentID, &author, &name, &m.Body, &m.Deleted, &m.Hidden, &m.Replies, &edited, &m.CreatedAt, &m.UpdatedAt)
	m.AuthorID, m.AuthorName, m.EditedAt = author.String, name.String, sqldb.TimeOf(edited)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// Comments returns a page of the item's comments, tombstones included, as
// viewer sees them: hidden comments only for a moderator.
func (s *Service) Comments(ctx context.Context, viewer userd.Actor, item string, q CommentQuery) (list []Comment, err error) {
	if err := CheckItem(item); err != nil {
		return nil, err
	}
	if q.ParentID != "" {
		var ok bool
		if q.ParentID, ok = userd.ParseID(q.ParentID); !ok {
			return nil, ErrCommentNotFound
		}
	}
	order, cmp, from := "DESC", "<", sqldb.Before(q.After)
	if q.Oldest {
		order, cmp, from = "ASC", ">", after(q.After)
	}
	parent := "m.parent_id IS NULL AND $2 = ''"
	if q.ParentID != "" {
		parent = "m.parent_id = $2"
	}
	moderator := viewer.Grants.Has(ModeratePermission)
	// System: comments are public.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		if q.ParentID != "" { // a hidden comment's replies are as hidden as it
			p, err := find(ctx, tx, item, q.ParentID)
			if err == nil && p.Hidden != "" && !moderator {
				err = ErrCommentNotFound
			}
			if err != nil {
				return err
			}
		}
		list, err = sqldb.All(ctx, tx, scanComment, `SELECT `+commentColumns+`
			WHERE m.item_id = $1 AND `+parent+` AND m.id `+cmp+` $3 AND (m.hidden IS NULL OR $5) ORDER BY m.id `+order+` LIMIT $4`,
			item, q.ParentID, from, q.Limit, moderator)
		if err != nil {
			return fmt.Errorf("list comments: %w", err)
		}
		return nil
	})
	return list, err
}

// after is the lowest cursor of an oldest-first page.
func after(id string) string {
	if id == "" {
		return "00000000-0000-0000-0000-000000000000"
	}
	return id
}

// CommentInput is a new comment.
type CommentInput struct {
	Body string
	// ParentID is the comment replied to. Replies are one level deep: a
	// reply to a reply answers its top-level comment.
	ParentID string
}

// Comment writes the actor's comment on item, making their client profile
// on first use, counts it, and logs it in their activity. A reply's parent
// must be a live comment on the same item (ErrCommentNotFound). It returns
// a validation error for a bad body and a rate-limit error beyond
// Limits.Comments.
func (s *Service) Comment(ctx context.Context, a userd.Actor, c userd.Client, item string, in CommentInput) (out Comment, err error) {
	if err := CheckItem(item); err != nil {
		return out, err
	}
	if err := checkBody(in.Body); err != nil {
		return out, err
	}
	if in.ParentID != "" {
		var ok bool
		if in.ParentID, ok = userd.ParseID(in.ParentID); !ok {
			return out, ErrCommentNotFound
		}
	}
	// System: the item's counters are every user's rows.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := s.hit(ctx, tx, "comment", a.UserID, s.deps.Limits.Comments); err != nil {
			return err
		}
		profile, err := ClaimProfile(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		parent := in.ParentID
		if parent != "" {
			p, err := lockLive(ctx, tx, item, parent, false)
			if err != nil {
				return err
			}
			if p.ParentID != "" {
				if p, err = lockLive(ctx, tx, item, p.ParentID, false); err != nil {
					return err
				}
			}
			parent = p.ID
		}
		id := userd.NewID(tx.Now)
		_, err = tx.Exec(ctx, `INSERT INTO comments (id, user_id, item_id, parent_id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
			id, profile, item, sqldb.Nullable(parent), in.Body, tx.Now)
		if err != nil {
			return fmt.Errorf("write comment: %w", err)
		}
		if err := bump(ctx, tx, item, Delta{Comments: 1}); err != nil {
			return err
		}
		if err := record(ctx, tx, a.UserID, profile, c, audit.Commented, item, map[string]any{"comment_id": id, "parent_id": parent}); err != nil {
			return err
		}
		out, err = find(ctx, tx, item, id)
		return err
	})
	return out, err
}

// owned is a comment as its writers see it: whose it is.
type owned struct {
	ID, ParentID, ProfileID, UserID string
	Hidden                          bool
	CreatedAt                       time.Time // the day its count was added on
}

// lockLive locks a live comment of item and returns it, or
// ErrCommentNotFound (a tombstone is no comment to write to, and a hidden
// one is none but to a moderator).
func lockLive(ctx context.Context, tx *sqldb.Tx, item, id string, moderator bool) (m owned, err error) {
	ok, err := tx.LockRow(ctx, "comments", "id", id)
	if err != nil {
		return m, err
	}
	if !ok {
		return m, ErrCommentNotFound
	}
	err = tx.QueryRow(ctx, `SELECT m.id, COALESCE(CAST(m.parent_id AS TEXT), ''), m.user_id, c.user_id, m.hidden IS NOT NULL, m.created_at
		FROM comments m JOIN client_profiles c ON c.id = m.user_id
		WHERE m.id = $1 AND m.item_id = $2 AND m.deleted_at IS NULL`, id, item).Scan(&m.ID, &m.ParentID, &m.ProfileID, &m.UserID, &m.Hidden, &m.CreatedAt)
	if err == nil && m.Hidden && !moderator {
		err = sql.ErrNoRows
	}
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrCommentNotFound
	}
	if err != nil {
		return m, fmt.Errorf("read comment: %w", err)
	}
	return m, nil
}

// find returns one comment of item as anyone sees it.
func find(ctx context.Context, tx *sqldb.Tx, item, id string) (Comment, error) {
	m, err := scanComment(tx.QueryRow(ctx, `SELECT `+commentColumns+` WHERE m.id = $1 AND m.item_id = $2`, id, item))
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrCommentNotFound
	}
	if err != nil {
		return m, fmt.Errorf("read comment: %w", err)
	}
	return m, nil
}

// writable locks a live comment that the actor may change: their own (a
// hidden one only to delete it), or with ModeratePermission anyone's whose
// grants the actor covers (rbac.ErrInsufficientPrivilege otherwise: a
// moderator does not put words in an administrator's mouth). Anyone else's
// is ErrCommentNotFound, as a missing one is.
func writable(ctx context.Context, tx *sqldb.Tx, a userd.Actor, item, id string, deleting bool) (owned, error) {
	id, ok := userd.ParseID(id)
	if !ok {
		return owned{}, ErrCommentNotFound
	}
	moderator := a.Grants.Has(ModeratePermission)
	m, err := lockLive(ctx, tx, item, id, true)
	if err != nil {
		return m, err
	}
	switch {
	case m.UserID == a.UserID && (!m.Hidden || deleting || moderator):
		return m, nil
	case m.UserID == a.UserID || !moderator:
		return m, ErrCommentNotFound
	}
	return m, rbac.CheckUser(ctx, tx, a.Grants, m.UserID)
}

// EditComment replaces a comment's body; the author may, and so may a
// moderator. The change goes to the author's activity log (naming the
// moderator as actor when one made it).
func (s *Service) EditComment(ctx context.Context, a userd.Actor, c userd.Client, item, id, body string) (out Comment, err error) {
	if err := CheckItem(item); err != nil {
		return out, err
	}
	if err := checkBody(body); err != nil {
		return out, err
	}
	// System: a moderator changes another user's row.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		m, err := writable(ctx, tx, a, item, id, false)
		if err != nil {
			return err
		}
		id = m.ID
		if _, err := tx.Exec(ctx, `UPDATE comments SET body = $2, edited_at = $3, updated_at = $3 WHERE id = $1`, id, body, tx.Now); err != nil {
			return fmt.Errorf("edit comment: %w", err)
		}
		if err := recordBy(ctx, tx, a, m.UserID, m.ProfileID, c, audit.CommentEdited, item, map[string]any{"comment_id": id}); err != nil {
			return err
		}
		out, err = find(ctx, tx, item, id)
		return err
	})
	return out, err
}

// DeleteComment deletes a comment; the author may, and so may a moderator.
// A comment that has replies stays as a tombstone (no body, no author); one
// without goes, and so does the tombstone of its parent when it was that
// tombstone's last reply. The item's comments_count loses one.
func (s *Service) DeleteComment(ctx context.Context, a userd.Actor, c userd.Client, item, id string) error {
	if err := CheckItem(item); err != nil {
		return err
	}
	// System: a moderator deletes another user's row, and a tombstone is
	// anyone's.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		m, err := writable(ctx, tx, a, item, id, true)
		if err != nil {
			return err
		}
		id = m.ID
		if m.ParentID != "" {
			// Before its last reply goes, so that two deletions of the
			// last replies cannot both leave the tombstone: the second
			// waits, then sees the first's.
			if _, err := tx.LockRow(ctx, "comments", "id", m.ParentID); err != nil {
				return err
			}
		}
		var replies int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM comments WHERE parent_id = $1`, id).Scan(&replies); err != nil {
			return fmt.Errorf("count replies: %w", err)
		}
		if replies > 0 {
			_, err = tx.Exec(ctx, `UPDATE comments SET body = '', deleted_at = $2, updated_at = $2 WHERE id = $1`, id, tx.Now)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM comments WHERE id = $1`, id)
		}
		if err != nil {
			return fmt.Errorf("delete comment: %w", err)
		}
		if m.ParentID != "" {
			// A tombstone gains no replies (a reply's parent is live).
			_, err = tx.Exec(ctx, `DELETE FROM comments WHERE id = $1 AND deleted_at IS NOT NULL
				AND NOT EXISTS (SELECT 1 FROM comments r WHERE r.parent_id = $1)`, m.ParentID)
			if err != nil {
				return fmt.Errorf("delete tombstone: %w", err)
			}
		}
		if !m.Hidden { // a hidden comment is counted no more
			// Off the day it was counted on, as a deletion of its author does.
			if err := add(ctx, tx, item, Day(m.CreatedAt), shard(), Delta{Comments: -1}); err != nil {
				return err
			}
		}
		return recordBy(ctx, tx, a, m.UserID, m.ProfileID, c, audit.CommentDeleted, item, map[string]any{"comment_id": id, "tombstone": replies > 0})
	})
}

// MyComments returns up to limit of the actor's comments on every item,
// newest first, after the comment with id before; a tombstone of theirs
// comes without its body.
func (s *Service) MyComments(ctx context.Context, a userd.Actor, before string, limit int) (list []Comment, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		list, err = sqldb.All(ctx, tx, scanComment, `SELECT `+commentColumns+` WHERE c.user_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3`,
			a.UserID, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list my comments: %w", err)
		}
		return nil
	})
	return list, err
}
