package moderation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/platform/sqldb"
)

// ReportInput is a new report.
type ReportInput struct {
	ContentType, ContentID, Reason, Details string
}

// Report is a report as a reviewer sees it; its reporter sees it without
// ReporterUserID and ReviewedBy.
type Report struct {
	ID                      string
	ReporterUserID          string
	ContentType, ContentID  string
	Reason, Details, Status string
	ResolutionNote          string
	ReviewedBy              string // "" when no user reviewed it, or the reviewer was deleted
	ReviewedAt              *time.Time
	CreatedAt, UpdatedAt    time.Time
}

func (in ReportInput) check() error {
	var fs []userd.FieldError
	fs = oneOf(fs, "content_type", in.ContentType, ContentTypes)
	fs = oneOf(fs, "reason", in.Reason, Reasons)
	fs = required(fs, "content_id", in.ContentID)
	fs = userd.CheckText(fs, "details", in.Details, 2000)
	return userd.Invalid(fs)
}

const reportColumns = `r.id, c.user_id, r.content_type, r.content_id, r.reason, r.details, r.status, r.resolution_note,
	r.reviewed_by, r.reviewed_at, r.created_at, r.updated_at
	FROM reports r JOIN client_profiles c ON c.id = r.reported_by`

func scanReport(row sqldb.Scanner) (Report, error) {
	var r Report
	var by sql.NullString
	var at sql.NullTime
	err := row.Scan(&r.ID, &r.ReporterUserID, &r.ContentType, &r.ContentID, &r.Reason, &r.Details, &r.Status, &r.ResolutionNote,
		&by, &at, &r.CreatedAt, &r.UpdatedAt)
	r.ReviewedBy, r.ReviewedAt = by.String, sqldb.TimeOf(at)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, err
}

// Report files the actor's report on an item, a comment or a user, making
// their client profile on first use. A reporter has one open report per
// content (ErrAlreadyReported); a comment or user that does not exist is
// ErrContentNotFound. The report that brings its content's open reports to
// the hold threshold holds the content (hides it pending review). It returns a validation error for bad input and a
// rate-limit error beyond the reporter's limit.
func (s *Service) Report(ctx context.Context, a userd.Actor, c userd.Client, in ReportInput) (out Report, err error) {
	if err := in.check(); err != nil {
		return out, err
	}
	if in.ContentID, err = contentID(in.ContentType, in.ContentID); err != nil {
		return out, err
	}
	// System: the reported content and its other reports are others' rows.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if s.deps.Limiter != nil {
			if err := s.deps.Limiter.HitIn(ctx, tx, "report:"+a.UserID, s.deps.ReportLimit); err != nil {
				return err
			}
		}
		profile, err := engagement.ClaimProfile(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if err := exists(ctx, tx, a, in.ContentType, in.ContentID); err != nil {
			return err
		}
		// Reports count one after another (they are few: a user's rate-
		// limited action), so that the count below is exact at commit.
		if err := tx.LockWrites(ctx, "reports"); err != nil {
			return err
		}
		id := userd.NewID(tx.Now)
		_, err = tx.Exec(ctx, `INSERT INTO reports (id, reported_by, content_type, content_id, reason, details, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, id, profile, in.ContentType, in.ContentID, in.Reason, in.Details, tx.Now)
		if v := sqldb.ViolatedKind(err); v != nil && v.Kind == sqldb.Unique {
			return ErrAlreadyReported
		}
		if err != nil {
			return fmt.Errorf("file report: %w", err)
		}
		var reporters int64
		err = tx.QueryRow(ctx, `SELECT count(*) FROM reports WHERE content_type = $1 AND content_id = $2 AND status IN `+openStatuses,
			in.ContentType, in.ContentID).Scan(&reporters)
		if err != nil {
			return fmt.Errorf("count reports: %w", err)
		}
		if t := s.deps.HoldThreshold; t > 0 && reporters == int64(t) {
			if err := hold(ctx, tx, in.ContentType, in.ContentID, id); err != nil {
				return err
			}
		}
		if err := audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.ReportCreated, TargetType: in.ContentType, TargetID: in.ContentID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"report_id": id, "reason": in.Reason}}); err != nil {
			return err
		}
		out, err = scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` WHERE r.id = $1`, id))
		return err
	})
	return out, err
}

// contentID returns the id of the content as stored: an item's slug, or a
// comment's or user's id in canonical form.
func contentID(kind, id string) (string, error) {
	if kind == "item" {
		return id, engagement.CheckItem(id)
	}
	canonical, ok := userd.ParseID(id)
	if !ok {
		return "", ErrContentNotFound
	}
	return canonical, nil
}

// exists returns ErrContentNotFound unless the comment or user exists (an
// item, the application's, always may be reported); a hidden comment exists
// only for a moderator, as everywhere. A reported comment is locked until
// the transaction ends.
func exists(ctx context.Context, tx *sqldb.Tx, a userd.Actor, kind, id string) error {
	var err error
	switch kind {
	case "comment":
		var m engagement.CommentRef
		m, err = engagement.LockComment(ctx, tx, id)
		if err == nil && m.Hidden != "" && !a.Grants.Has(engagement.ModeratePermission) {
			err = engagement.ErrCommentNotFound
		}
	case "user":
		_, err = account.Get(ctx, tx, id)
	}
	if errors.Is(err, engagement.ErrCommentNotFound) || errors.Is(err, account.ErrNotFound) {
		return ErrContentNotFound
	}
	return err
}

// hold hides reported content pending review: a comment (with a line in
// its author's moderation history) or an item. Users are not held: only a
// moderator's action suspends or bans.
func hold(ctx context.Context, tx *sqldb.Tx, kind, id, reportID string) error {
	switch kind {
	case "comment":
		changed, err := engagement.SetCommentHidden(ctx, tx, id, engagement.Held)
		if err != nil || !changed {
			return err
		}
		m, err := engagement.LockComment(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = write(ctx, tx, m.AuthorUserID, historyRow{Action: HistoryHold, Reason: "Held for review: reported by several users.",
			ReportID: reportID, ContentType: kind, ContentID: id})
		return err
	case "item":
		_, err := engagement.SetItemHidden(ctx, tx, id, engagement.Held)
		return err
	}
	return nil
}

// Mine returns up to limit of the actor's reports, newest first, after the
// report before, with their outcome.
func (s *Service) Mine(ctx context.Context, a userd.Actor, before string, limit int) (list []Report, err error) {
	err = s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		list, err = sqldb.All(ctx, tx, scanReport, `SELECT `+reportColumns+` WHERE c.user_id = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3`,
			a.UserID, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list my reports: %w", err)
		}
		return nil
	})
	for i := range list {
		list[i].ReviewedBy = "" // the reporter is not told who reviewed
	}
	return list, err
}

// ReportFilter narrows the review queue; zero fields do not filter.
type ReportFilter struct {
	Status, ContentType, ContentID string
	Before                         string // the cursor
	Limit                          int
}

// Reports lists reports for review, newest first. The route asks for
// ReviewPermission.
func (s *Service) Reports(ctx context.Context, f ReportFilter) (list []Report, err error) {
	where, args := []string{"r.id < $1"}, []any{sqldb.Before(f.Before)}
	for _, c := range []struct{ column, v string }{{"r.status", f.Status}, {"r.content_type", f.ContentType}, {"r.content_id", f.ContentID}} {
		if c.v != "" {
			args = append(args, c.v)
			where = append(where, fmt.Sprintf("%s = $%d", c.column, len(args)))
		}
	}
	args = append(args, f.Limit)
	// System: every reporter's rows.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		list, err = sqldb.All(ctx, tx, scanReport, `SELECT `+reportColumns+` WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY r.id DESC LIMIT $%d`, len(args)), args...)
		if err != nil {
			return fmt.Errorf("list reports: %w", err)
		}
		return nil
	})
	return list, err
}

// Reported is a content's place in the grouped review queue.
type Reported struct {
	ContentType, ContentID string
	OpenReports            int64  // distinct reporters with an open report
	Hidden                 string // "", engagement.Held or engagement.Removed
	// AuthorUserID is whom an action on the content acts on: a comment's
	// author, the reported user; "" for an item (it has no author) or a
	// comment that is gone.
	AuthorUserID string
	// Reports are its newest open reports, as many as Grouped was asked for.
	Reports []Report
}

// Grouped lists the contents with open reports, most reported first (then
// by type and id), up to limit, each with up to reports of its open
// reports, newest first. The route asks for ReviewPermission.
func (s *Service) Grouped(ctx context.Context, contentType string, limit, reports int) (list []Reported, err error) {
	// System: every reporter's rows.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		list, err = sqldb.All(ctx, tx, func(row sqldb.Scanner) (r Reported, err error) {
			return r, row.Scan(&r.ContentType, &r.ContentID, &r.OpenReports)
		}, `SELECT content_type, content_id, count(*) FROM reports WHERE status IN `+openStatuses+` AND ($1 = '' OR content_type = $1)
			GROUP BY content_type, content_id ORDER BY count(*) DESC, content_type, content_id LIMIT $2`, contentType, limit)
		if err != nil {
			return fmt.Errorf("group reports: %w", err)
		}
		for i := range list {
			if err := reported(ctx, tx, &list[i], reports); err != nil {
				return err
			}
		}
		return nil
	})
	return list, err
}

// reported reads what the queue shows of a reported content besides its
// count: whether it is hidden, its author, and up to n of its open
// reports.
func reported(ctx context.Context, tx *sqldb.Tx, r *Reported, n int) (err error) {
	if r.Hidden, err = engagement.HiddenState(ctx, tx, r.ContentType, r.ContentID); err != nil {
		return err
	}
	switch r.ContentType {
	case "user":
		r.AuthorUserID = r.ContentID
	case "comment":
		if r.AuthorUserID, err = engagement.CommentAuthor(ctx, tx, r.ContentID); err != nil {
			return err
		}
	}
	if n <= 0 {
		return nil
	}
	r.Reports, err = sqldb.All(ctx, tx, scanReport, `SELECT `+reportColumns+` WHERE r.status IN `+openStatuses+`
		AND r.content_type = $1 AND r.content_id = $2 ORDER BY r.id DESC LIMIT $3`, r.ContentType, r.ContentID, n)
	if err != nil {
		return fmt.Errorf("list reports of a content: %w", err)
	}
	return nil
}

// ReviewInput is a reviewer's decision on a report.
type ReviewInput struct {
	Status         string
	ResolutionNote *string
}

// Review sets a report's status (and note), and who reviewed it and when;
// resolved and dismissed close it. It returns ErrReportNotFound and
// ErrReportConflict. The route asks for ReviewPermission.
func (s *Service) Review(ctx context.Context, a userd.Actor, c userd.Client, id string, in ReviewInput) (out Report, err error) {
	fs := oneOf(nil, "status", in.Status, Statuses)
	if in.ResolutionNote != nil {
		fs = userd.CheckText(fs, "resolution_note", *in.ResolutionNote, 2000)
	}
	if err := userd.Invalid(fs); err != nil {
		return out, err
	}
	id, ok := userd.ParseID(id)
	if !ok {
		return out, ErrReportNotFound
	}
	// System: the reporter's row.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		before, err := review(ctx, tx, a, id, in.Status, in.ResolutionNote)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.ReportReviewed, TargetType: "report", TargetID: id,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"from": before.Status, "to": in.Status}}); err != nil {
			return err
		}
		out, err = scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` WHERE r.id = $1`, id))
		return err
	})
	return out, err
}

// review changes a report's status in tx and returns the report as it was.
func review(ctx context.Context, tx *sqldb.Tx, a userd.Actor, id, status string, note *string) (Report, error) {
	ok, err := tx.LockRow(ctx, "reports", "id", id)
	if err != nil {
		return Report{}, err
	}
	if !ok {
		return Report{}, ErrReportNotFound
	}
	before, err := scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` WHERE r.id = $1`, id))
	if err != nil {
		return before, fmt.Errorf("read report: %w", err)
	}
	n := before.ResolutionNote
	if note != nil {
		n = *note
	}
	_, err = tx.Exec(ctx, `UPDATE reports SET status = $2, resolution_note = $3, reviewed_by = $4, reviewed_at = $5, updated_at = $5 WHERE id = $1`,
		id, status, n, userOrNull(a), tx.Now)
	if v := sqldb.ViolatedKind(err); v != nil && v.Kind == sqldb.Unique {
		return before, ErrReportConflict
	}
	if err != nil {
		return before, fmt.Errorf("review report: %w", err)
	}
	return before, nil
}
