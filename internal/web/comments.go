package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
)

// CommentAuthor is who wrote a comment.
type CommentAuthor struct {
	UserID      string `json:"user_id"`
	DisplayName string `json:"display_name" doc:"The author's client profile display name (may be empty)."`
}

// ItemComment is a comment on an item. Its body is the text as written:
// userd never renders it, and a client shows it as text.
type ItemComment struct {
	ID           string         `json:"id"`
	Item         string         `json:"item"`
	ParentID     *string        `json:"parent_id" doc:"The top-level comment this replies to; null for a top-level comment."`
	Author       *CommentAuthor `json:"author" doc:"null for a deleted comment's tombstone."`
	Body         string         `json:"body" doc:"Plain text, 1 to 10,000 characters; empty for a tombstone."`
	Deleted      bool           `json:"deleted" doc:"true for the tombstone of a deleted comment kept for its replies."`
	Hidden       string         `json:"hidden,omitempty" enum:"held,removed" doc:"Why the comment is hidden from everyone but moderators: held by reports pending review, or removed by a moderator. Only moderators see hidden comments (and their authors, in their export)."`
	RepliesCount int64          `json:"replies_count" doc:"Live replies of a top-level comment."`
	EditedAt     *time.Time     `json:"edited_at"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

func commentOf(m engagement.Comment) ItemComment {
	out := ItemComment{ID: m.ID, Item: m.Item, Body: m.Body, Deleted: m.Deleted, Hidden: m.Hidden, RepliesCount: m.Replies, EditedAt: m.EditedAt,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if m.ParentID != "" {
		out.ParentID = &m.ParentID
	}
	if !m.Deleted {
		out.Author = &CommentAuthor{UserID: m.AuthorID, DisplayName: m.AuthorName}
	}
	return out
}

type listCommentsInput struct {
	Item string `path:"item" doc:"The item's slug."`
	Paging
	ParentID string `query:"parent_id" doc:"List this top-level comment's replies instead of the top-level comments (404 comment_not_found when it is not one of the item's)."`
	Order    string `query:"order" enum:"newest,oldest" default:"newest" doc:"newest first, or oldest first."`
}

type commentsOutput struct {
	Body struct {
		Comments   []ItemComment `json:"comments"`
		NextCursor *string       `json:"next_cursor"`
	}
}

func (s *Server) listComments(ctx context.Context, in *listCommentsInput) (*commentsOutput, error) {
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.items.Comments(ctx, userd.ActorFrom(ctx), in.Item, engagement.CommentQuery{ParentID: in.ParentID, Oldest: in.Order == "oldest", After: after, Limit: in.Limit + 1})
	if err != nil {
		return nil, err
	}
	out := &commentsOutput{}
	out.Body.Comments, out.Body.NextCursor = mapPage(list, in.Limit, func(m engagement.Comment) string { return m.ID }, commentOf)
	return out, nil
}

type postCommentInput struct {
	Item string `path:"item" doc:"The item's slug."`
	Body struct {
		Body     string `json:"body" doc:"Plain text, 1 to 10,000 characters, not only blanks."`
		ParentID string `json:"parent_id,omitempty" doc:"The comment replied to, a live comment on the same item (404 comment_not_found otherwise). Replies are one level deep: a reply to a reply answers its top-level comment."`
	}
}

type commentOutput struct {
	Body ItemComment
}

func (s *Server) postComment(ctx context.Context, in *postCommentInput) (*commentOutput, error) {
	m, err := s.items.Comment(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item, engagement.CommentInput{Body: in.Body.Body, ParentID: in.Body.ParentID})
	if err != nil {
		return nil, err
	}
	return &commentOutput{Body: commentOf(m)}, nil
}

type commentInput struct {
	Item string `path:"item" doc:"The item's slug."`
	ID   string `path:"id" doc:"The comment's id."`
}

type patchCommentInput struct {
	Item string `path:"item" doc:"The item's slug."`
	ID   string `path:"id" doc:"The comment's id."`
	Body struct {
		Body string `json:"body" doc:"The new text: plain text, 1 to 10,000 characters, not only blanks."`
	}
}

func (s *Server) patchComment(ctx context.Context, in *patchCommentInput) (*commentOutput, error) {
	m, err := s.items.EditComment(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item, in.ID, in.Body.Body)
	if err != nil {
		return nil, err
	}
	return &commentOutput{Body: commentOf(m)}, nil
}

func (s *Server) deleteComment(ctx context.Context, in *commentInput) (*struct{}, error) {
	return nil, s.items.DeleteComment(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Item, in.ID)
}
