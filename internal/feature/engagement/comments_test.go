package engagement_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// bodies returns the comments' bodies, "†" for a tombstone.
func bodies(list []engagement.Comment) string {
	var b []string
	for _, m := range list {
		if m.Deleted {
			b = append(b, "†")
		} else {
			b = append(b, m.Body)
		}
	}
	return strings.Join(b, ",")
}

func page(t *testing.T, s *engagement.Service, item string, q engagement.CommentQuery) []engagement.Comment {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	list, err := s.Comments(context.Background(), userd.Actor{}, item, q)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestComments: comments and replies, newest and oldest first, pages,
// replies one level deep, and the item's count.
func TestComments(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), remembering(t, db, engagement.Deps{})
		u := users(t, db, 2, "c")
		say := func(a userd.Actor, item, body, parent string) engagement.Comment {
			t.Helper()
			m, err := s.Comment(ctx, a, userd.Client{IP: "192.0.2.1"}, item, engagement.CommentInput{Body: body, ParentID: parent})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		first := say(u[0], "post", "first", "")
		if first.AuthorID != u[0].UserID || first.Body != "first" || first.ParentID != "" || first.Item != "post" || first.Deleted {
			t.Fatalf("comment = %+v", first)
		}
		second := say(u[1], "post", "<b>second</b>", "")
		say(u[0], "other", "elsewhere", "")
		reply := say(u[1], "post", "re: first", first.ID)
		deeper := say(u[0], "post", "re: re: first", reply.ID) // one level: it answers first
		if reply.ParentID != first.ID || deeper.ParentID != first.ID {
			t.Fatalf("parents %q and %q; want %q", reply.ParentID, deeper.ParentID, first.ID)
		}
		if got := bodies(page(t, s, "post", engagement.CommentQuery{})); got != "<b>second</b>,first" {
			t.Fatalf("newest first = %s", got)
		}
		top := page(t, s, "post", engagement.CommentQuery{Oldest: true})
		if bodies(top) != "first,<b>second</b>" || top[0].Replies != 2 || top[1].Replies != 0 {
			t.Fatalf("oldest first = %s, replies %d, %d", bodies(top), top[0].Replies, top[1].Replies)
		}
		if got := bodies(page(t, s, "post", engagement.CommentQuery{ParentID: first.ID, Oldest: true})); got != "re: first,re: re: first" {
			t.Fatalf("replies = %s", got)
		}
		p1 := page(t, s, "post", engagement.CommentQuery{Limit: 1})
		p2 := page(t, s, "post", engagement.CommentQuery{Limit: 1, After: p1[0].ID})
		p3 := page(t, s, "post", engagement.CommentQuery{Limit: 1, After: p2[0].ID})
		if bodies(p1) != "<b>second</b>" || bodies(p2) != "first" || len(p3) != 0 {
			t.Fatalf("pages %s | %s | %s", bodies(p1), bodies(p2), bodies(p3))
		}
		if st := exact(t, db, s, "post"); st.Comments != 4 {
			t.Fatalf("comments_count %d; want 4", st.Comments)
		}
		if _, err := s.Comment(ctx, u[0], userd.Client{}, "other", engagement.CommentInput{Body: "x", ParentID: second.ID}); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("reply to another item's comment: %v", err)
		}
		if _, err := s.Comments(ctx, userd.Actor{}, "other", engagement.CommentQuery{ParentID: first.ID, Limit: 10}); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("replies of another item's comment: %v", err)
		}
		// Each comment is in its author's activity, under their client profile.
		var n int
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs a JOIN client_profiles c ON c.id = a.client_id
			WHERE a.user_id = $1 AND c.user_id = $1 AND a.action = 'engagement.commented' AND a.ip = '192.0.2.1'`, u[0].UserID).Scan(&n)
		if n != 3 {
			t.Fatalf("%d activity entries; want 3", n)
		}
	})
}

// TestCommentOwnership: another user's comment cannot be edited or
// deleted (404, as a missing one); a moderator's can.
func TestCommentOwnership(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), remembering(t, db, engagement.Deps{})
		u := users(t, db, 3, "o")
		mod := u[2]
		mod.Grants = userd.Grants{Permissions: []string{engagement.ModeratePermission}}
		m, err := s.Comment(ctx, u[0], userd.Client{}, "item", engagement.CommentInput{Body: "mine"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.EditComment(ctx, u[1], userd.Client{}, "item", m.ID, "theirs now"); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("edit by another: %v", err)
		}
		if err := s.DeleteComment(ctx, u[1], userd.Client{}, "item", m.ID); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("delete by another: %v", err)
		}
		if _, err := s.EditComment(ctx, u[0], userd.Client{}, "elsewhere", m.ID, "moved"); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("edit under another item: %v", err)
		}
		for _, id := range []string{"nope", "00000000-0000-7000-8000-000000000000"} {
			if _, err := s.EditComment(ctx, u[0], userd.Client{}, "item", id, "x"); !errors.Is(err, engagement.ErrCommentNotFound) {
				t.Fatalf("edit %s: %v", id, err)
			}
		}
		if got := bodies(page(t, s, "item", engagement.CommentQuery{})); got != "mine" {
			t.Fatalf("after refusals: %s", got)
		}
		edited, err := s.EditComment(ctx, u[0], userd.Client{}, "item", m.ID, "mine, edited")
		if err != nil || edited.Body != "mine, edited" || edited.EditedAt == nil || edited.AuthorID != u[0].UserID {
			t.Fatalf("edit by author = %+v, %v", edited, err)
		}
		byMod, err := s.EditComment(ctx, mod, userd.Client{}, "item", m.ID, "[removed link]")
		if err != nil || byMod.Body != "[removed link]" || byMod.AuthorID != u[0].UserID {
			t.Fatalf("edit by moderator = %+v, %v", byMod, err)
		}
		var actor string
		db.SQL().QueryRow(`SELECT actor_user_id FROM activity_logs WHERE user_id = $1 AND action = 'engagement.comment_edited' ORDER BY id DESC LIMIT 1`, u[0].UserID).Scan(&actor)
		if actor != mod.UserID {
			t.Fatalf("the moderator's edit is logged with actor %q; want %q", actor, mod.UserID)
		}
		// A moderator does not put words in an administrator's mouth.
		boss := dbtest.User(t, db, "boss@example.com")
		if _, err := db.SQL().Exec(`INSERT INTO user_roles (user_id, role_id, created_at) SELECT $1, id, $2 FROM roles WHERE name = 'ADMIN'`, boss.UserID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		theirs, _ := s.Comment(ctx, boss, userd.Client{}, "item", engagement.CommentInput{Body: "official"})
		if _, err := s.EditComment(ctx, mod, userd.Client{}, "item", theirs.ID, "forged"); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
			t.Fatalf("a moderator edits an administrator's comment: %v", err)
		}
		if err := s.DeleteComment(ctx, boss, userd.Client{}, "item", theirs.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteComment(ctx, mod, userd.Client{}, "item", m.ID); err != nil {
			t.Fatal(err)
		}
		if st := exact(t, db, s, "item"); st.Comments != 0 || len(page(t, s, "item", engagement.CommentQuery{})) != 0 {
			t.Fatalf("after delete: %d comments", st.Comments)
		}
	})
}

// TestTombstones: a deleted comment with replies stays as a tombstone,
// without body or author; it cannot be edited, deleted again or replied
// to; its last reply's deletion takes it away.
func TestTombstones(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), remembering(t, db, engagement.Deps{})
		u := users(t, db, 2, "t")
		parent, _ := s.Comment(ctx, u[0], userd.Client{}, "i", engagement.CommentInput{Body: "parent"})
		r1, _ := s.Comment(ctx, u[1], userd.Client{}, "i", engagement.CommentInput{Body: "r1", ParentID: parent.ID})
		r2, _ := s.Comment(ctx, u[1], userd.Client{}, "i", engagement.CommentInput{Body: "r2", ParentID: parent.ID})
		if err := s.DeleteComment(ctx, u[0], userd.Client{}, "i", parent.ID); err != nil {
			t.Fatal(err)
		}
		top := page(t, s, "i", engagement.CommentQuery{})
		if len(top) != 1 || !top[0].Deleted || top[0].Body != "" || top[0].AuthorID != "" || top[0].Replies != 2 {
			t.Fatalf("tombstone = %+v", top)
		}
		var stored string
		db.SQL().QueryRow(`SELECT body FROM comments WHERE id = $1`, parent.ID).Scan(&stored)
		if stored != "" {
			t.Fatalf("the tombstone keeps its body %q", stored)
		}
		if st := exact(t, db, s, "i"); st.Comments != 2 {
			t.Fatalf("comments_count %d; want 2", st.Comments)
		}
		if _, err := s.EditComment(ctx, u[0], userd.Client{}, "i", parent.ID, "back"); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("edit a tombstone: %v", err)
		}
		if err := s.DeleteComment(ctx, u[0], userd.Client{}, "i", parent.ID); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("delete a tombstone: %v", err)
		}
		if _, err := s.Comment(ctx, u[1], userd.Client{}, "i", engagement.CommentInput{Body: "r3", ParentID: parent.ID}); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("reply to a tombstone: %v", err)
		}
		// The last two replies go at once: the tombstone goes with the last.
		errs := dbtest.AtOnce(2, func(i int) error {
			return s.DeleteComment(ctx, u[1], userd.Client{}, "i", []string{r1.ID, r2.ID}[i])
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		var rows int
		db.SQL().QueryRow(`SELECT count(*) FROM comments`).Scan(&rows)
		if st := exact(t, db, s, "i"); rows != 0 || st.Comments != 0 {
			t.Fatalf("%d rows, comments_count %d; want none", rows, st.Comments)
		}
	})
}

// TestCommentInput: bodies of 1 to 10,000 characters of text, not only
// blanks, on a valid item; anything else changes nothing.
func TestCommentInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), remembering(t, db, engagement.Deps{})
		a := users(t, db, 1, "in")[0]
		for _, body := range []string{"", " \n\t", strings.Repeat("é", engagement.MaxCommentBody+1), "a\x00b", "\xff"} {
			_, err := s.Comment(ctx, a, userd.Client{}, "i", engagement.CommentInput{Body: body})
			if userd.ErrorKind(err) != userd.KindInvalid {
				t.Fatalf("body of %d bytes: %v", len(body), err)
			}
		}
		if _, err := s.Comment(ctx, a, userd.Client{}, "bad slug", engagement.CommentInput{Body: "x"}); !errors.Is(err, engagement.ErrInvalidItem) {
			t.Fatalf("bad slug: %v", err)
		}
		if _, err := s.Comment(ctx, a, userd.Client{}, "i", engagement.CommentInput{Body: "x", ParentID: "../1"}); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("bad parent: %v", err)
		}
		var rows, profiles int
		db.SQL().QueryRow(`SELECT count(*) FROM comments`).Scan(&rows)
		db.SQL().QueryRow(`SELECT count(*) FROM client_profiles`).Scan(&profiles)
		if rows != 0 || profiles != 0 {
			t.Fatalf("%d comments, %d client profiles after refusals", rows, profiles)
		}
		long := strings.Repeat("é", engagement.MaxCommentBody)
		if m, err := s.Comment(ctx, a, userd.Client{}, "i", engagement.CommentInput{Body: long}); err != nil || m.Body != long {
			t.Fatalf("10,000 characters: %v", err)
		}
	})
}

// TestCommentRateLimit: beyond the limit a comment is refused (429) and
// nothing of it is written; votes have their own limit.
func TestCommentRateLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := engagement.NewService(db, engagement.Deps{Limiter: ratelimit.New(db, true), Limits: engagement.Limits{
			Comments: ratelimit.Rule{Max: 2, Window: time.Hour}, Votes: ratelimit.Rule{Max: 3, Window: time.Hour}}})
		u := users(t, db, 2, "rl")
		for i := range 3 {
			_, err := s.Comment(ctx, u[0], userd.Client{}, "i", engagement.CommentInput{Body: fmt.Sprint(i)})
			if want := i < 2; (err == nil) != want || (!want && userd.ErrorKind(err) != userd.KindRateLimited) {
				t.Fatalf("comment %d: %v", i, err)
			}
		}
		if _, err := s.Comment(ctx, u[1], userd.Client{}, "i", engagement.CommentInput{Body: "other user"}); err != nil {
			t.Fatalf("another user is not limited: %v", err)
		}
		for i := range 4 {
			err := s.Vote(ctx, u[0], userd.Client{}, fmt.Sprint("item-", i), 1)
			if want := i < 3; (err == nil) != want || (!want && userd.ErrorKind(err) != userd.KindRateLimited) {
				t.Fatalf("vote %d: %v", i, err)
			}
		}
		if st := exact(t, db, s, "i"); st.Comments != 3 {
			t.Fatalf("comments_count %d; want 3", st.Comments)
		}
		if st := exact(t, db, s, "item-3"); st.Upvotes != 0 {
			t.Fatalf("the refused vote counted: %+v", st)
		}
	})
}

// TestCommentsAndDeletion: deleting a user deletes their comments and takes
// them off the counts (on the days they were made); other users' replies to
// them stay, as top-level comments; a storm of comments and deletions
// leaves the count equal to the live rows.
func TestCommentsAndDeletion(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s := context.Background(), remembering(t, db, engagement.Deps{})
		u := users(t, db, 40, "d")
		clk := dbtest.NewClock(db, june)
		root, err := s.Comment(ctx, u[0], userd.Client{}, "x", engagement.CommentInput{Body: "yesterday"})
		if err != nil {
			t.Fatal(err)
		}
		clk.Set(clk.Now().Add(24 * time.Hour))
		reply, _ := s.Comment(ctx, u[1], userd.Client{}, "x", engagement.CommentInput{Body: "reply", ParentID: root.ID})
		errs := dbtest.AtOnce(len(u), func(i int) error {
			if i%8 == 0 { // five deletions, u[0] among them, while the others write
				return db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return lifecycle.DeleteUser(ctx, tx, u[i].UserID) })
			}
			for k := range 3 {
				m, err := s.Comment(ctx, u[i], userd.Client{}, "x", engagement.CommentInput{Body: fmt.Sprint(i, k)})
				if err != nil {
					return err
				}
				if k == 1 {
					if err := s.DeleteComment(ctx, u[i], userd.Client{}, "x", m.ID); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		st := exact(t, db, s, "x")
		if st.Comments != 35*2+1 {
			t.Fatalf("comments_count %d; want %d", st.Comments, 35*2+1)
		}
		got, err := s.Comments(ctx, userd.Actor{}, "x", engagement.CommentQuery{ParentID: "", Oldest: true, Limit: 1})
		if err != nil || len(got) != 1 || got[0].ID != reply.ID || got[0].ParentID != "" {
			t.Fatalf("the orphaned reply = %+v, %v; want it first at the top level", got, err)
		}
	})
}
