package moderation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// LiftKind is the kind of the job that lifts a timed suspension.
const LiftKind = "moderation.lift_suspension"

// What the history says besides Actions: content held by reports, and a
// timed suspension that ended.
const (
	HistoryHold   = "hold"
	HistoryLifted = "suspension_lifted"
)

// Errors of actions.
var (
	ErrReportMismatch = &userd.Error{Kind: userd.KindInvalid, Code: "validation_failed", Message: "The report is not about this user or content.",
		Fields: []userd.FieldError{{Field: "report_id", Code: "report_mismatch", Message: "The report is about another user or content."}}}
	ErrResolveForbidden = userd.Errorf(userd.KindForbidden, "forbidden", "Resolving a report takes the permission reports:review.")
	ErrContentMismatch  = &userd.Error{Kind: userd.KindInvalid, Code: "validation_failed", Message: "The content is not the user's.",
		Fields: []userd.FieldError{{Field: "content_id", Code: "not_users_content", Message: "The comment is not the user's."}}}
)

// ActionInput is a moderator's action on a user.
type ActionInput struct {
	UserID, Action, Reason string
	ReportID               string     // the report the action resolves, if any
	ContentType, ContentID string     // for remove_content and restore_content: a comment or an item
	Until                  *time.Time // for suspend: when it lifts itself (nil: until unbanned)
}

// Entry is a line of a user's moderation history.
type Entry struct {
	ID, UserID, Action, Reason string
	PerformedBy                string // "" for the system, an API key, or a deleted moderator
	ReportID                   string
	ContentType, ContentID     string
	Until                      *time.Time
	CreatedAt                  time.Time
}

func (in ActionInput) check(now time.Time) error {
	var fs []userd.FieldError
	fs = oneOf(fs, "action", in.Action, Actions)
	fs = required(fs, "reason", in.Reason)
	fs = userd.CheckText(fs, "reason", in.Reason, 2000)
	content := in.Action == "remove_content" || in.Action == "restore_content"
	switch {
	case content && in.ContentType != "comment" && in.ContentType != "item":
		fs = append(fs, userd.FieldError{Field: "content_type", Code: "invalid_content_type", Message: "remove_content and restore_content act on a comment or an item."})
	case content && in.ContentID == "":
		fs = append(fs, userd.FieldError{Field: "content_id", Code: "required", Message: "Required."})
	case !content && (in.ContentType != "" || in.ContentID != ""):
		fs = append(fs, userd.FieldError{Field: "content_type", Code: "unexpected", Message: "Only remove_content and restore_content name content."})
	}
	if in.Until != nil && (in.Action != "suspend" || !in.Until.After(now)) {
		fs = append(fs, userd.FieldError{Field: "until", Code: "invalid_until", Message: "until is for a suspension, and in the future."})
	}
	return userd.Invalid(fs)
}

// historyRow is a line to write in a user's history.
type historyRow struct {
	Action, Reason, PerformedBy, ReportID, ContentType, ContentID string
	Until                                                         *time.Time
}

// write adds a line to the history of the user (whose client profile it
// makes on first use), and returns its id.
func write(ctx context.Context, tx *sqldb.Tx, userID string, h historyRow) (string, error) {
	profile, err := engagement.ClaimProfile(ctx, tx, userID)
	if err != nil {
		return "", err
	}
	id := userd.NewID(tx.Now)
	_, err = tx.Exec(ctx, `INSERT INTO moderation_history (id, user_id, action, reason, performed_by, report_id, content_type, content_id, until, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, id, profile, h.Action, h.Reason, sqldb.Nullable(h.PerformedBy), sqldb.Nullable(h.ReportID),
		sqldb.Nullable(h.ContentType), sqldb.Nullable(h.ContentID), sqldb.Stored(h.Until), tx.Now)
	if err != nil {
		return "", fmt.Errorf("write moderation history: %w", err)
	}
	return id, nil
}

// liftKey names a user's pending lift job: one per user, replaced by a new
// suspension, cancelled by a ban or an unban.
func liftKey(userID string) string { return "moderation.lift:" + userID }

// CancelLift cancels the user's pending lift of a timed suspension, in the
// caller's transaction: an administrator who sets the user's status decides
// it alone.
func CancelLift(ctx context.Context, tx *sqldb.Tx, userID string) error {
	return jobs.Cancel(ctx, tx, liftKey(userID))
}

// setStatus sets the user's status; any status but active ends their
// sessions, and with them their tokens' and streams' credentials.
func setStatus(ctx context.Context, tx *sqldb.Tx, userID string, st account.Status) error {
	if _, err := account.Update(ctx, tx, userID, account.Patch{Status: &st}); err != nil {
		return err
	}
	if st == account.StatusActive {
		return nil
	}
	_, err := auth.RevokeAll(ctx, tx, userID)
	return err
}

// Act takes a moderator's action on a user, in one transaction with its
// line in the user's moderation history: warn notifies the user; suspend
// and ban set their status and end their sessions at once (a suspension
// with Until is lifted by a job then); unban makes them active;
// remove_content hides a comment of theirs (or an item) from everyone but
// moderators, restore_content shows it again. An action with a ReportID
// resolves that report. The moderator must hold at least the user's
// grants (rbac.ErrInsufficientPrivilege). It returns account.ErrNotFound,
// ErrReportNotFound, engagement.ErrCommentNotFound and ErrContentMismatch.
func (s *Service) Act(ctx context.Context, a userd.Actor, c userd.Client, in ActionInput) (out Entry, err error) {
	if err := in.check(s.db.Now()); err != nil {
		return out, err
	}
	var ok bool
	if in.UserID, ok = userd.ParseID(in.UserID); !ok {
		return out, account.ErrNotFound
	}
	if in.ReportID != "" {
		if in.ReportID, ok = userd.ParseID(in.ReportID); !ok {
			return out, ErrReportNotFound
		}
	}
	if in.ContentType == "comment" {
		if in.ContentID, ok = userd.ParseID(in.ContentID); !ok {
			return out, engagement.ErrCommentNotFound
		}
	}
	// System: the user's rows and others' (reports, counters).
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		// Locks the user's row: no other action on them commits meanwhile.
		if err := rbac.CheckUser(ctx, tx, a.Grants, in.UserID); err != nil {
			return err
		}
		if _, err := account.Get(ctx, tx, in.UserID); err != nil {
			return err
		}
		if err := s.apply(ctx, tx, in); err != nil {
			return err
		}
		if in.ReportID != "" {
			if err := resolves(ctx, tx, a, in); err != nil {
				return err
			}
			if _, err := review(ctx, tx, a, in.ReportID, "resolved", nil); err != nil {
				return err
			}
		}
		id, err := write(ctx, tx, in.UserID, historyRow{Action: in.Action, Reason: in.Reason, PerformedBy: a.UserID, ReportID: in.ReportID,
			ContentType: in.ContentType, ContentID: in.ContentID, Until: in.Until})
		if err != nil {
			return err
		}
		meta := map[string]any{"action": in.Action, "history_id": id}
		if in.ReportID != "" {
			meta["report_id"] = in.ReportID
		}
		if in.Until != nil {
			meta["until"] = in.Until.UTC()
		}
		if err := audit.Record(ctx, tx, audit.Event{UserID: in.UserID, ActorUserID: a.UserID, APIKeyID: a.APIKeyID, Action: audit.ActionTaken,
			TargetType: "user", TargetID: in.UserID, IP: c.IP, UserAgent: c.UserAgent, Metadata: meta}); err != nil {
			return err
		}
		out, err = entry(ctx, tx, id)
		return err
	})
	return out, err
}

// resolves returns nil when the actor may resolve the action's report with
// it: they review reports, and the report is about the user, the action's
// content, or a comment of the user's.
func resolves(ctx context.Context, tx *sqldb.Tx, a userd.Actor, in ActionInput) error {
	if !a.Grants.Has(ReviewPermission) {
		return ErrResolveForbidden
	}
	var kind, id string
	err := tx.QueryRow(ctx, `SELECT content_type, content_id FROM reports WHERE id = $1`, in.ReportID).Scan(&kind, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrReportNotFound
	}
	if err != nil {
		return fmt.Errorf("read report: %w", err)
	}
	switch {
	case kind == "user" && id == in.UserID, kind == in.ContentType && id == in.ContentID:
		return nil
	case kind == "comment":
		m, err := engagement.LockComment(ctx, tx, id)
		if err == nil && m.AuthorUserID == in.UserID {
			return nil
		}
		if err != nil && !errors.Is(err, engagement.ErrCommentNotFound) {
			return err
		}
	}
	return ErrReportMismatch
}

// apply does what the action does to the user or their content.
func (s *Service) apply(ctx context.Context, tx *sqldb.Tx, in ActionInput) error {
	switch in.Action {
	case "warn":
		_, err := notify.Create(ctx, tx, in.UserID, notify.New{Type: "moderation.warning", Title: "A moderator warned you", Description: in.Reason})
		return err
	case "suspend":
		if err := setStatus(ctx, tx, in.UserID, account.StatusSuspended); err != nil {
			return err
		}
		if in.Until == nil {
			return CancelLift(ctx, tx, in.UserID)
		}
		return jobs.Enqueue(ctx, tx, LiftKind, liftKey(in.UserID), lift{UserID: in.UserID, Until: in.Until.UTC()}, *in.Until)
	case "ban", "unban":
		st := account.StatusBanned
		if in.Action == "unban" {
			st = account.StatusActive
		}
		if err := setStatus(ctx, tx, in.UserID, st); err != nil {
			return err
		}
		return CancelLift(ctx, tx, in.UserID)
	}
	hidden := engagement.Removed
	if in.Action == "restore_content" {
		hidden = ""
	}
	if in.ContentType == "item" {
		_, err := engagement.SetItemHidden(ctx, tx, in.ContentID, hidden)
		return err
	}
	m, err := engagement.LockComment(ctx, tx, in.ContentID)
	if err != nil {
		return err
	}
	if m.AuthorUserID != in.UserID {
		return ErrContentMismatch
	}
	_, err = engagement.SetCommentHidden(ctx, tx, in.ContentID, hidden)
	return err
}

// lift is the payload of a LiftKind job.
type lift struct {
	UserID string    `json:"user_id"`
	Until  time.Time `json:"until"`
}

// Register makes runner lift timed suspensions when they end: a user still
// suspended becomes active, with a line in their history and the audit
// trail that no moderator performed.
func Register(runner *jobs.Runner, db *sqldb.DB) {
	runner.Handle(LiftKind, func(ctx context.Context, j jobs.Job) (time.Time, error) {
		var p lift
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return time.Time{}, fmt.Errorf("job %s: payload: %w", j.ID, err)
		}
		return time.Time{}, db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			if ok, err := tx.LockRow(ctx, "users", "id", p.UserID); err != nil || !ok {
				return err // deleted meanwhile: nothing to lift
			}
			u, err := account.Get(ctx, tx, p.UserID)
			if err != nil || u.Status != account.StatusSuspended {
				return err
			}
			// Only the suspension this job was made for: one that came
			// after it (or a ban, an unban) decides alone.
			var last string
			var until sql.NullTime
			err = tx.QueryRow(ctx, `SELECT h.action, h.until FROM moderation_history h JOIN client_profiles c ON c.id = h.user_id
				WHERE c.user_id = $1 AND h.action IN ('suspend', 'ban', 'unban', 'suspension_lifted') ORDER BY h.id DESC LIMIT 1`, p.UserID).Scan(&last, &until)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("read moderation history: %w", err)
			}
			if last != "suspend" || !until.Valid || !until.Time.Equal(p.Until.Truncate(time.Microsecond)) || until.Time.After(tx.Now) {
				return nil
			}
			if err := setStatus(ctx, tx, p.UserID, account.StatusActive); err != nil {
				return err
			}
			id, err := write(ctx, tx, p.UserID, historyRow{Action: HistoryLifted, Reason: "The suspension ended.", Until: &p.Until})
			if err != nil {
				return err
			}
			return audit.Record(ctx, tx, audit.Event{UserID: p.UserID, Action: audit.SuspensionLifted, TargetType: "user", TargetID: p.UserID,
				Metadata: map[string]any{"history_id": id, "until": p.Until}})
		})
	})
}

const entryColumns = `h.id, c.user_id, h.action, h.reason, h.performed_by, h.report_id, h.content_type, h.content_id, h.until, h.created_at
	FROM moderation_history h JOIN client_profiles c ON c.id = h.user_id`

func scanEntry(row sqldb.Scanner) (Entry, error) {
	var e Entry
	var by, report, ctype, cid sql.NullString
	var until sql.NullTime
	err := row.Scan(&e.ID, &e.UserID, &e.Action, &e.Reason, &by, &report, &ctype, &cid, &until, &e.CreatedAt)
	e.PerformedBy, e.ReportID, e.ContentType, e.ContentID, e.Until = by.String, report.String, ctype.String, cid.String, sqldb.TimeOf(until)
	e.CreatedAt = e.CreatedAt.UTC()
	return e, err
}

func entry(ctx context.Context, tx *sqldb.Tx, id string) (Entry, error) {
	e, err := scanEntry(tx.QueryRow(ctx, `SELECT `+entryColumns+` WHERE h.id = $1`, id))
	if err != nil {
		return e, fmt.Errorf("read moderation history: %w", err)
	}
	return e, nil
}

// History returns up to limit lines of a user's moderation history, newest
// first, after the line before. The user sees their own without who
// performed each action (self); a moderator sees it whole.
func (s *Service) History(ctx context.Context, userID string, self bool, before string, limit int) (list []Entry, err error) {
	scope := sqldb.System(ctx)
	if self {
		scope = sqldb.AsUser(ctx, userID)
	}
	id, ok := userd.ParseID(userID)
	if !ok {
		return nil, account.ErrNotFound
	}
	err = s.db.View(scope, func(tx *sqldb.Tx) (err error) {
		if !self {
			if _, err := account.Get(ctx, tx, id); err != nil {
				return err
			}
		}
		list, err = sqldb.All(ctx, tx, scanEntry, `SELECT `+entryColumns+` WHERE c.user_id = $1 AND h.id < $2 ORDER BY h.id DESC LIMIT $3`,
			id, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list moderation history: %w", err)
		}
		return nil
	})
	if self {
		for i := range list {
			list[i].PerformedBy = ""
		}
	}
	return list, err
}
