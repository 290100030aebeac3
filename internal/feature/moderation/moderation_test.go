package moderation_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// moderator returns a user holding the moderation permissions (and no
// role: they cover users without roles).
func moderator(t *testing.T, db *sqldb.DB, email string) userd.Actor {
	a := dbtest.User(t, db, email)
	a.Grants = userd.Grants{Permissions: []string{moderation.ReviewPermission, moderation.ModeratePermission}}
	return a
}

func comment(t *testing.T, e *engagement.Service, a userd.Actor, item, body string) engagement.Comment {
	t.Helper()
	m, err := e.Comment(context.Background(), a, userd.Client{}, item, engagement.CommentInput{Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReporting: one open report per reporter and content; what does not
// exist cannot be reported; bad input changes nothing; the reporter sees
// the outcome but not the reviewer.
func TestReporting(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s, e := context.Background(), moderation.NewService(db, moderation.Deps{}), engagement.NewService(db, engagement.Deps{})
		ann, bob, mod := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com"), moderator(t, db, "mod@example.com")
		m := comment(t, e, bob, "post", "spam spam")
		const none = "00000000-0000-7000-8000-000000000000"
		for _, in := range []moderation.ReportInput{
			{ContentType: "post", ContentID: "x", Reason: "spam"},
			{ContentType: "item", ContentID: "x", Reason: "boring"},
			{ContentType: "item", ContentID: "", Reason: "spam"},
			{ContentType: "item", ContentID: "bad slug", Reason: "spam"},
			{ContentType: "item", ContentID: "x", Reason: "spam", Details: string(make([]byte, 2001))},
		} {
			if _, err := s.Report(ctx, ann, userd.Client{}, in); userd.ErrorKind(err) != userd.KindInvalid {
				t.Fatalf("report %+v: %v", in, err)
			}
		}
		for _, in := range []moderation.ReportInput{
			{ContentType: "comment", ContentID: none, Reason: "spam"},
			{ContentType: "comment", ContentID: "nope", Reason: "spam"},
			{ContentType: "user", ContentID: none, Reason: "abuse"},
		} {
			if _, err := s.Report(ctx, ann, userd.Client{}, in); !errors.Is(err, moderation.ErrContentNotFound) {
				t.Fatalf("report %+v: %v", in, err)
			}
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM reports`); n != 0 {
			t.Fatalf("%d reports after refusals", n)
		}
		r, err := s.Report(ctx, ann, userd.Client{IP: "192.0.2.7"}, moderation.ReportInput{ContentType: "comment", ContentID: m.ID, Reason: "spam", Details: "<b>ads</b>"})
		if err != nil || r.Status != "pending" || r.ContentID != m.ID || r.Details != "<b>ads</b>" || r.ReporterUserID != ann.UserID {
			t.Fatalf("report = %+v, %v", r, err)
		}
		if _, err := s.Report(ctx, ann, userd.Client{}, moderation.ReportInput{ContentType: "comment", ContentID: m.ID, Reason: "abuse"}); !errors.Is(err, moderation.ErrAlreadyReported) {
			t.Fatalf("second report: %v", err)
		}
		if _, err := s.Report(ctx, ann, userd.Client{}, moderation.ReportInput{ContentType: "user", ContentID: bob.UserID, Reason: "harassment"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Report(ctx, ann, userd.Client{}, moderation.ReportInput{ContentType: "item", ContentID: "guide:v1", Reason: "misinformation"}); err != nil {
			t.Fatal(err)
		}
		note := "Removed, thanks."
		if _, err := s.Review(ctx, mod, userd.Client{}, r.ID, moderation.ReviewInput{Status: "resolved", ResolutionNote: &note}); err != nil {
			t.Fatal(err)
		}
		// Closed, so the reporter may report it again.
		if _, err := s.Report(ctx, ann, userd.Client{}, moderation.ReportInput{ContentType: "comment", ContentID: m.ID, Reason: "spam"}); err != nil {
			t.Fatalf("report after the first closed: %v", err)
		}
		mine, err := s.Mine(ctx, ann, "", 10)
		if err != nil || len(mine) != 4 {
			t.Fatalf("mine = %+v, %v", mine, err)
		}
		if got := mine[3]; got.ID != r.ID || got.Status != "resolved" || got.ResolutionNote != note || got.ReviewedBy != "" || got.ReviewedAt == nil {
			t.Fatalf("the reporter sees %+v", got)
		}
		all, err := s.Reports(ctx, moderation.ReportFilter{Status: "resolved", Limit: 10})
		if err != nil || len(all) != 1 || all[0].ReviewedBy != mod.UserID {
			t.Fatalf("resolved reports = %+v, %v", all, err)
		}
		groups, err := s.Grouped(ctx, "", 10, 0)
		if err != nil || len(groups) != 3 || groups[0].OpenReports != 1 {
			t.Fatalf("groups = %+v, %v", groups, err)
		}
		var logged int
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE user_id = $1 AND action = 'moderation.report_created'`, ann.UserID).Scan(&logged)
		if logged != 4 {
			t.Fatalf("%d reports audited; want 4", logged)
		}
		// A deleted reporter's reports go with them, and from the queue.
		if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return lifecycle.DeleteUser(ctx, tx, ann.UserID) }); err != nil {
			t.Fatal(err)
		}
		if groups, err := s.Grouped(ctx, "", 10, 0); err != nil || len(groups) != 0 {
			t.Fatalf("groups after the reporter's deletion = %+v, %v", groups, err)
		}
	})
}

// TestGroupedQueue: the grouped queue names whom an action acts on (a
// comment's author, the reported user, nobody for an item) and carries
// each content's newest open reports, as many as asked for; closed reports
// are not among them.
func TestGroupedQueue(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, s, e := context.Background(), moderation.NewService(db, moderation.Deps{}), engagement.NewService(db, engagement.Deps{})
		ann, bob, cat, mod := dbtest.User(t, db, "ann@example.com"), dbtest.User(t, db, "bob@example.com"), dbtest.User(t, db, "cat@example.com"),
			moderator(t, db, "mod@example.com")
		m := comment(t, e, bob, "post", "spam spam")
		file := func(a userd.Actor, kind, id, reason string) moderation.Report {
			t.Helper()
			r, err := s.Report(ctx, a, userd.Client{}, moderation.ReportInput{ContentType: kind, ContentID: id, Reason: reason})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		file(ann, "comment", m.ID, "spam")
		last := file(cat, "comment", m.ID, "abuse")
		closed := file(ann, "user", bob.UserID, "harassment")
		open := file(cat, "user", bob.UserID, "abuse")
		item := file(ann, "item", "guide", "misinformation")
		if _, err := s.Review(ctx, mod, userd.Client{}, closed.ID, moderation.ReviewInput{Status: "dismissed"}); err != nil {
			t.Fatal(err)
		}
		groups, err := s.Grouped(ctx, "", 10, 1)
		if err != nil || len(groups) != 3 {
			t.Fatalf("groups = %+v, %v", groups, err)
		}
		type got struct {
			kind, author string
			open         int64
			reports      []string
		}
		for i, want := range []got{
			{"comment", bob.UserID, 2, []string{last.ID}},
			{"item", "", 1, []string{item.ID}},
			{"user", bob.UserID, 1, []string{open.ID}},
		} {
			g := groups[i]
			var ids []string
			for _, r := range g.Reports {
				ids = append(ids, r.ID)
			}
			if g.ContentType != want.kind || g.AuthorUserID != want.author || g.OpenReports != want.open || fmt.Sprint(ids) != fmt.Sprint(want.reports) {
				t.Errorf("group %d = %+v; want %+v", i, g, want)
			}
		}
		if groups[1].ContentID != "guide" || groups[1].Reports[0].ReporterUserID != ann.UserID {
			t.Errorf("the item's group = %+v", groups[1])
		}
		all, err := s.Grouped(ctx, "comment", 10, 10)
		if err != nil || len(all) != 1 || len(all[0].Reports) != 2 || all[0].Reports[1].Reason != "spam" {
			t.Fatalf("the comment's group with every report = %+v, %v", all, err)
		}
	})
}

// TestHoldRace: twenty reporters race on one comment with a threshold of
// five: the comment is held exactly once (one history line, one off the
// item's count) by the fifth report, and the fifteen after it find no
// comment to report (it is hidden to them).
func TestHoldRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, e := context.Background(), engagement.NewService(db, engagement.Deps{})
		s := moderation.NewService(db, moderation.Deps{HoldThreshold: 5})
		author := dbtest.User(t, db, "author@example.com")
		m := comment(t, e, author, "post", "contested")
		comment(t, e, author, "post", "fine")
		reporters := make([]userd.Actor, 20)
		for i := range reporters {
			reporters[i] = dbtest.User(t, db, fmt.Sprintf("r%d@example.com", i))
		}
		errs := dbtest.AtOnce(len(reporters), func(i int) error {
			_, err := s.Report(ctx, reporters[i], userd.Client{}, moderation.ReportInput{ContentType: "comment", ContentID: m.ID, Reason: "abuse"})
			return err
		})
		filed := 0
		for _, err := range errs {
			switch {
			case err == nil:
				filed++
			case !errors.Is(err, moderation.ErrContentNotFound): // held meanwhile: hidden to them
				t.Fatal(err)
			}
		}
		holds := dbtest.Count(t, db, `SELECT count(*) FROM moderation_history WHERE action = 'hold' AND content_id = $1`, m.ID)
		groups, err := s.Grouped(ctx, "comment", 10, 0)
		if err != nil || len(groups) != 1 {
			t.Fatalf("groups = %+v, %v", groups, err)
		}
		tally := int(groups[0].OpenReports)
		hidden := dbtest.Count(t, db, `SELECT count(*) FROM comments WHERE id = $1 AND hidden = 'held'`, m.ID)
		items, _ := e.Items(ctx, userd.Actor{}, []string{"post"})
		if holds != 1 || filed != 5 || tally != 5 || hidden != 1 || items[0].Comments != 1 {
			t.Fatalf("%d holds, %d filed, %d open, hidden %d, comments_count %d; want 1, 5, 5, 1, 1", holds, filed, tally, hidden, items[0].Comments)
		}
		list, _ := e.Comments(ctx, userd.Actor{}, "post", engagement.CommentQuery{Limit: 10})
		if len(list) != 1 || list[0].Body != "fine" {
			t.Fatalf("anyone sees %+v", list)
		}
		if _, err := e.EditComment(ctx, author, userd.Client{}, "post", m.ID, "edited"); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("its author edits a held comment: %v", err)
		}
		if _, err := e.Comments(ctx, userd.Actor{}, "post", engagement.CommentQuery{ParentID: m.ID, Limit: 10}); !errors.Is(err, engagement.ErrCommentNotFound) {
			t.Fatalf("the replies of a held comment: %v", err)
		}
		mod := userd.Actor{Grants: userd.Grants{Permissions: []string{engagement.ModeratePermission}}}
		list, _ = e.Comments(ctx, mod, "post", engagement.CommentQuery{Limit: 10})
		if len(list) != 2 || list[1].Hidden != engagement.Held {
			t.Fatalf("a moderator sees %+v", list)
		}
	})
}

// TestActions: warn notifies; suspend ends the user's sessions; remove and
// restore move the comment and its count; an action resolves its report;
// a moderator cannot act on a user holding more than they do.
func TestActions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, e := context.Background(), engagement.NewService(db, engagement.Deps{})
		s := moderation.NewService(db, moderation.Deps{})
		a := authtest.New(t, db, authtest.Options{})
		mod, bob, ann := moderator(t, db, "mod@example.com"), dbtest.User(t, db, "bob@example.com"), dbtest.User(t, db, "ann@example.com")
		if _, err := a.OpenMany(ctx, []string{bob.UserID, bob.UserID}); err != nil {
			t.Fatal(err)
		}
		m := comment(t, e, bob, "post", "rude")
		r, err := s.Report(ctx, ann, userd.Client{}, moderation.ReportInput{ContentType: "comment", ContentID: m.ID, Reason: "abuse"})
		if err != nil {
			t.Fatal(err)
		}
		act := func(in moderation.ActionInput) (moderation.Entry, error) {
			return s.Act(ctx, mod, userd.Client{}, in)
		}
		for _, in := range []moderation.ActionInput{
			{UserID: bob.UserID, Action: "shame", Reason: "x"},
			{UserID: bob.UserID, Action: "warn", Reason: " "},
			{UserID: bob.UserID, Action: "remove_content", Reason: "x"},
			{UserID: bob.UserID, Action: "warn", Reason: "x", ContentType: "comment", ContentID: m.ID},
			{UserID: bob.UserID, Action: "ban", Reason: "x", Until: new(time.Time)},
		} {
			if _, err := act(in); userd.ErrorKind(err) != userd.KindInvalid {
				t.Fatalf("act %+v: %v", in, err)
			}
		}
		if _, err := act(moderation.ActionInput{UserID: ann.UserID, Action: "remove_content", Reason: "x", ContentType: "comment", ContentID: m.ID}); !errors.Is(err, moderation.ErrContentMismatch) {
			t.Fatalf("remove another's comment under ann: %v", err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM moderation_history`); n != 0 {
			t.Fatalf("%d history lines after refusals", n)
		}
		onlyActs := dbtest.User(t, db, "acts@example.com")
		onlyActs.Grants = userd.Grants{Permissions: []string{moderation.ModeratePermission}}
		if _, err := s.Act(ctx, onlyActs, userd.Client{}, moderation.ActionInput{UserID: bob.UserID, Action: "warn", Reason: "x", ReportID: r.ID}); !errors.Is(err, moderation.ErrResolveForbidden) {
			t.Fatalf("resolve without reports:review: %v", err)
		}
		if _, err := act(moderation.ActionInput{UserID: ann.UserID, Action: "warn", Reason: "x", ReportID: r.ID}); !errors.Is(err, moderation.ErrReportMismatch) {
			t.Fatalf("resolve a report about another user: %v", err)
		}
		w, err := act(moderation.ActionInput{UserID: bob.UserID, Action: "warn", Reason: "Be civil."})
		if err != nil || w.Action != "warn" || w.PerformedBy != mod.UserID || w.UserID != bob.UserID {
			t.Fatalf("warn = %+v, %v", w, err)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM notifications WHERE user_id = $1 AND type = 'moderation.warning' AND description = 'Be civil.'`, bob.UserID); n != 1 {
			t.Fatalf("%d warnings notified", n)
		}
		rm, err := act(moderation.ActionInput{UserID: bob.UserID, Action: "remove_content", Reason: "Abuse.", ReportID: r.ID, ContentType: "comment", ContentID: m.ID})
		if err != nil || rm.ReportID != r.ID || rm.ContentID != m.ID {
			t.Fatalf("remove = %+v, %v", rm, err)
		}
		items, _ := e.Items(ctx, userd.Actor{}, []string{"post"})
		reports, _ := s.Reports(ctx, moderation.ReportFilter{Limit: 10})
		if items[0].Comments != 0 || reports[0].Status != "resolved" || reports[0].ReviewedBy != mod.UserID ||
			dbtest.Count(t, db, `SELECT count(*) FROM reports WHERE status IN ('pending', 'reviewed')`) != 0 {
			t.Fatalf("after removal: %d comments, report %+v", items[0].Comments, reports[0])
		}
		if _, err := act(moderation.ActionInput{UserID: bob.UserID, Action: "restore_content", Reason: "On appeal.", ContentType: "comment", ContentID: m.ID}); err != nil {
			t.Fatal(err)
		}
		if items, _ = e.Items(ctx, userd.Actor{}, []string{"post"}); items[0].Comments != 1 {
			t.Fatalf("after restoring: %d comments", items[0].Comments)
		}
		if _, err := act(moderation.ActionInput{UserID: bob.UserID, Action: "suspend", Reason: "Cool off."}); err != nil {
			t.Fatal(err)
		}
		var st string
		db.SQL().QueryRow(`SELECT status FROM users WHERE id = $1`, bob.UserID).Scan(&st)
		if st != "suspended" || dbtest.Count(t, db, `SELECT count(*) FROM sessions WHERE user_id = $1`, bob.UserID) != 0 {
			t.Fatalf("suspended: status %s, sessions left", st)
		}
		// An administrator is beyond a moderator who is not one.
		admin := dbtest.User(t, db, "admin@example.com")
		if _, err := db.SQL().Exec(`INSERT INTO user_roles (user_id, role_id, created_at) SELECT $1, id, $2 FROM roles WHERE name = 'ADMIN'`, admin.UserID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if _, err := act(moderation.ActionInput{UserID: admin.UserID, Action: "ban", Reason: "x"}); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
			t.Fatalf("ban an administrator: %v", err)
		}
		hist, err := s.History(ctx, bob.UserID, true, "", 10)
		if err != nil || len(hist) != 4 || hist[0].Action != "suspend" || hist[0].PerformedBy != "" {
			t.Fatalf("bob's own history = %+v, %v", hist, err)
		}
		var logged int
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE user_id = $1 AND actor_user_id = $2 AND action = 'moderation.action_taken'`, bob.UserID, mod.UserID).Scan(&logged)
		if logged != 4 {
			t.Fatalf("%d actions audited; want 4", logged)
		}
	})
}

// TestTimedSuspension: a suspension with until is lifted by a job then,
// with a line in the history that no moderator performed; a ban before
// then cancels it.
func TestTimedSuspension(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := dbtest.NewClock(db, time.Now().UTC().Truncate(time.Second))
		s := moderation.NewService(db, moderation.Deps{})
		runner := jobs.NewRunner(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		moderation.Register(runner, db)
		mod, bob, ann := moderator(t, db, "mod@example.com"), dbtest.User(t, db, "bob@example.com"), dbtest.User(t, db, "ann@example.com")
		until := clk.Now().Add(time.Hour)
		for _, u := range []userd.Actor{bob, ann} {
			if _, err := s.Act(ctx, mod, userd.Client{}, moderation.ActionInput{UserID: u.UserID, Action: "suspend", Reason: "A day off.", Until: &until}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Act(ctx, mod, userd.Client{}, moderation.ActionInput{UserID: ann.UserID, Action: "ban", Reason: "Worse."}); err != nil {
			t.Fatal(err)
		}
		if n, err := runner.RunDue(ctx); err != nil || n != 0 {
			t.Fatalf("ran %d jobs early, %v", n, err)
		}
		clk.Set(until.Add(time.Second))
		if n, err := runner.RunDue(ctx); err != nil || n != 1 {
			t.Fatalf("ran %d jobs, %v; want 1", n, err)
		}
		status := func(id string) (st string) {
			db.SQL().QueryRow(`SELECT status FROM users WHERE id = $1`, id).Scan(&st)
			return st
		}
		if status(bob.UserID) != string(account.StatusActive) || status(ann.UserID) != string(account.StatusBanned) {
			t.Fatalf("bob %s, ann %s; want active, banned", status(bob.UserID), status(ann.UserID))
		}
		hist, _ := s.History(ctx, bob.UserID, false, "", 10)
		if len(hist) != 2 || hist[0].Action != "suspension_lifted" || hist[0].PerformedBy != "" {
			t.Fatalf("bob's history = %+v", hist)
		}
		if n := dbtest.Count(t, db, `SELECT count(*) FROM activity_logs WHERE user_id = $1 AND action = 'moderation.suspension_lifted'`, bob.UserID); n != 1 {
			t.Fatalf("%d lifts audited", n)
		}
	})
}

// TestHistoryOutlivesModerator: deleting the moderator leaves their
// reviews and actions with no one as reviewer or performer; deleting a
// reporter deletes their reports, and the history lines that resolved them
// lose their report; deleting the moderated user deletes their history.
func TestHistoryOutlivesModerator(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx, e := context.Background(), engagement.NewService(db, engagement.Deps{})
		s := moderation.NewService(db, moderation.Deps{})
		mod, bob, ann := moderator(t, db, "mod@example.com"), dbtest.User(t, db, "bob@example.com"), dbtest.User(t, db, "ann@example.com")
		m := comment(t, e, bob, "post", "x")
		r, _ := s.Report(ctx, ann, userd.Client{}, moderation.ReportInput{ContentType: "comment", ContentID: m.ID, Reason: "spam"})
		if _, err := s.Act(ctx, mod, userd.Client{}, moderation.ActionInput{UserID: bob.UserID, Action: "warn", Reason: "Spam.", ReportID: r.ID}); err != nil {
			t.Fatal(err)
		}
		del := func(a userd.Actor) {
			t.Helper()
			if err := db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error { return lifecycle.DeleteUser(ctx, tx, a.UserID) }); err != nil {
				t.Fatal(err)
			}
		}
		del(mod)
		if dbtest.Count(t, db, `SELECT count(*) FROM reports WHERE reviewed_by IS NULL AND status = 'resolved'`) != 1 ||
			dbtest.Count(t, db, `SELECT count(*) FROM moderation_history WHERE performed_by IS NULL AND report_id = $1`, r.ID) != 1 {
			t.Fatal("the moderator's deletion took their work with it")
		}
		del(ann)
		if dbtest.Count(t, db, `SELECT count(*) FROM reports`) != 0 || dbtest.Count(t, db, `SELECT count(*) FROM moderation_history WHERE report_id IS NULL`) != 1 {
			t.Fatal("the reporter's deletion: reports left, or the history lost")
		}
		del(bob)
		if n := dbtest.Count(t, db, `SELECT count(*) FROM moderation_history`); n != 0 {
			t.Fatalf("%d history lines left after the user's deletion", n)
		}
	})
}
