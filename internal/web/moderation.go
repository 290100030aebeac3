package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/moderation"
)

// ContentReport is a report of an item, a comment or a user.
type ContentReport struct {
	ID             string     `json:"id"`
	ReporterID     string     `json:"reporter_id,omitempty" doc:"The reporting user (reviewers only)."`
	ContentType    string     `json:"content_type" enum:"item,comment,user"`
	ContentID      string     `json:"content_id" doc:"The item's slug, or the comment's or user's id."`
	Reason         string     `json:"reason" enum:"spam,abuse,harassment,illegal,misinformation,other"`
	Details        string     `json:"details" doc:"The reporter's words, as written (plain text)."`
	Status         string     `json:"status" enum:"pending,reviewed,resolved,dismissed"`
	ResolutionNote string     `json:"resolution_note" doc:"The reviewer's note; the reporter sees it too."`
	ReviewedBy     *string    `json:"reviewed_by,omitempty" doc:"The reviewing user (reviewers only); null once that user is deleted, or for an application's review."`
	ReviewedAt     *time.Time `json:"reviewed_at"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func reportOf(r moderation.Report, reviewer bool) ContentReport {
	out := ContentReport{ID: r.ID, ContentType: r.ContentType, ContentID: r.ContentID, Reason: r.Reason, Details: r.Details, Status: r.Status,
		ResolutionNote: r.ResolutionNote, ReviewedAt: r.ReviewedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if reviewer {
		out.ReporterID, out.ReviewedBy = r.ReporterUserID, optional(r.ReviewedBy)
	}
	return out
}

type postReportInput struct {
	Body struct {
		ContentType string `json:"content_type" doc:"item, comment or user (422 validation_failed otherwise)."`
		ContentID   string `json:"content_id" doc:"The item's slug, or the comment's or user's id (404 content_not_found for a comment or user that does not exist)."`
		Reason      string `json:"reason" doc:"spam, abuse, harassment, illegal, misinformation or other."`
		Details     string `json:"details,omitempty" doc:"At most 2,000 characters."`
	}
}

type reportOutput struct {
	Body ContentReport
}

func (s *Server) postReport(ctx context.Context, in *postReportInput) (*reportOutput, error) {
	b := in.Body
	r, err := s.moderation.Report(ctx, userd.ActorFrom(ctx), s.client(ctx), moderation.ReportInput{ContentType: b.ContentType, ContentID: b.ContentID,
		Reason: b.Reason, Details: b.Details})
	if err != nil {
		return nil, err
	}
	return &reportOutput{Body: reportOf(r, false)}, nil
}

type reportsOutput struct {
	Body struct {
		Reports    []ContentReport `json:"reports"`
		NextCursor *string         `json:"next_cursor"`
	}
}

func reportsPage(list []moderation.Report, limit int, reviewer bool) *reportsOutput {
	out := &reportsOutput{}
	out.Body.Reports, out.Body.NextCursor = mapPage(list, limit, func(r moderation.Report) string { return r.ID },
		func(r moderation.Report) ContentReport { return reportOf(r, reviewer) })
	return out
}

func (s *Server) myReports(ctx context.Context, in *Paging) (*reportsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.moderation.Mine(ctx, userd.ActorFrom(ctx), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	return reportsPage(list, in.Limit, false), nil
}

// ReportedContent is a content in the grouped review queue.
type ReportedContent struct {
	ContentType string `json:"content_type" enum:"item,comment,user"`
	ContentID   string `json:"content_id"`
	Reporters   int64  `json:"reporters" doc:"Distinct users with an open (pending or reviewed) report on it."`
	Hidden      string `json:"hidden,omitempty" enum:"held,removed" doc:"Whether the content is hidden: held by reports pending review, or removed by a moderator."`
}

type adminReportsInput struct {
	Paging
	Status      string `query:"status" enum:"pending,reviewed,resolved,dismissed" doc:"Only reports of this status."`
	ContentType string `query:"content_type" enum:"item,comment,user" doc:"Only reports of this kind of content."`
	ContentID   string `query:"content_id" doc:"Only reports of this content."`
	Group       string `query:"group" enum:"content" doc:"content: one line per content with open reports, most reporters first (up to limit; no further pages), instead of the reports."`
}

type adminReportsOutput struct {
	Body struct {
		Reports    []ContentReport   `json:"reports,omitempty" doc:"Without group: the reports, newest first."`
		Contents   []ReportedContent `json:"contents,omitempty" doc:"With group=content: the reported contents."`
		NextCursor *string           `json:"next_cursor"`
	}
}

func (s *Server) adminReports(ctx context.Context, in *adminReportsInput) (*adminReportsOutput, error) {
	out := &adminReportsOutput{}
	if in.Group == "content" {
		list, err := s.moderation.Grouped(ctx, in.ContentType, in.Limit, 0)
		if err != nil {
			return nil, err
		}
		out.Body.Contents = mapAll(list, func(r moderation.Reported) ReportedContent {
			return ReportedContent{ContentType: r.ContentType, ContentID: r.ContentID, Reporters: r.OpenReports, Hidden: r.Hidden}
		})
		return out, nil
	}
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.moderation.Reports(ctx, moderation.ReportFilter{Status: in.Status, ContentType: in.ContentType, ContentID: in.ContentID,
		Before: before, Limit: in.Limit + 1})
	if err != nil {
		return nil, err
	}
	page := reportsPage(list, in.Limit, true)
	out.Body.Reports, out.Body.NextCursor = page.Body.Reports, page.Body.NextCursor
	return out, nil
}

type reviewReportInput struct {
	ID   string `path:"id" doc:"The report's id."`
	Body struct {
		Status         string  `json:"status" doc:"pending, reviewed, resolved or dismissed; resolved and dismissed close the report."`
		ResolutionNote *string `json:"resolution_note,omitempty" doc:"At most 2,000 characters; the reporter sees it."`
	}
}

func (s *Server) reviewReport(ctx context.Context, in *reviewReportInput) (*reportOutput, error) {
	r, err := s.moderation.Review(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, moderation.ReviewInput{Status: in.Body.Status, ResolutionNote: in.Body.ResolutionNote})
	if err != nil {
		return nil, err
	}
	return &reportOutput{Body: reportOf(r, true)}, nil
}

// ModerationEntry is a line of a user's moderation history.
type ModerationEntry struct {
	ID          string     `json:"id"`
	UserID      string     `json:"user_id"`
	Action      string     `json:"action" enum:"warn,suspend,ban,unban,remove_content,restore_content,hold,suspension_lifted" doc:"hold: content held by reports; suspension_lifted: a timed suspension ended."`
	Reason      string     `json:"reason"`
	PerformedBy *string    `json:"performed_by,omitempty" doc:"The moderator (moderators only); null for the system, an application, or a deleted moderator."`
	ReportID    *string    `json:"report_id" doc:"The report the action resolved; null once that report is deleted."`
	ContentType *string    `json:"content_type"`
	ContentID   *string    `json:"content_id"`
	Until       *time.Time `json:"until" doc:"When a suspension lifts itself."`
	CreatedAt   time.Time  `json:"created_at"`
}

func entryOf(e moderation.Entry) ModerationEntry {
	return ModerationEntry{ID: e.ID, UserID: e.UserID, Action: e.Action, Reason: e.Reason, PerformedBy: optional(e.PerformedBy),
		ReportID: optional(e.ReportID), ContentType: optional(e.ContentType), ContentID: optional(e.ContentID), Until: e.Until, CreatedAt: e.CreatedAt}
}

type actionInput struct {
	Body struct {
		UserID      string     `json:"user_id" doc:"The user acted on (404 user_not_found)."`
		Action      string     `json:"action" doc:"warn (a notification), suspend, ban, unban, remove_content or restore_content."`
		Reason      string     `json:"reason" doc:"1 to 2,000 characters; the user sees it in their history (and a warning in their notification)."`
		ReportID    string     `json:"report_id,omitempty" doc:"A report the action resolves (404 report_not_found)."`
		ContentType string     `json:"content_type,omitempty" doc:"For remove_content and restore_content: comment or item."`
		ContentID   string     `json:"content_id,omitempty" doc:"For remove_content and restore_content: the user's comment (422 when it is another's), or an item's slug."`
		Until       *time.Time `json:"until,omitempty" doc:"For suspend: when the suspension lifts itself (in the future); without it, it lasts until an unban."`
	}
}

type entryOutput struct {
	Body ModerationEntry
}

func (s *Server) moderate(ctx context.Context, in *actionInput) (*entryOutput, error) {
	b := in.Body
	e, err := s.moderation.Act(ctx, userd.ActorFrom(ctx), s.client(ctx), moderation.ActionInput{UserID: b.UserID, Action: b.Action, Reason: b.Reason,
		ReportID: b.ReportID, ContentType: b.ContentType, ContentID: b.ContentID, Until: b.Until})
	if err != nil {
		return nil, err
	}
	return &entryOutput{Body: entryOf(e)}, nil
}

type historyOutput struct {
	Body struct {
		Entries    []ModerationEntry `json:"entries"`
		NextCursor *string           `json:"next_cursor"`
	}
}

func historyPage(list []moderation.Entry, limit int) *historyOutput {
	out := &historyOutput{}
	out.Body.Entries, out.Body.NextCursor = mapPage(list, limit, func(e moderation.Entry) string { return e.ID }, entryOf)
	return out
}

type userHistoryInput struct {
	ID string `path:"id" doc:"The user's id."`
	Paging
}

func (s *Server) userHistory(ctx context.Context, in *userHistoryInput) (*historyOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	id, err := s.userID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	list, err := s.moderation.History(ctx, id, false, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	return historyPage(list, in.Limit), nil
}

func (s *Server) myHistory(ctx context.Context, in *Paging) (*historyOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.moderation.History(ctx, userd.ActorFrom(ctx).UserID, true, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	return historyPage(list, in.Limit), nil
}
