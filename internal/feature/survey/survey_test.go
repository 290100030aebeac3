package survey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/feature/survey"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var (
	ctx   = context.Background()
	admin = userd.Actor{Grants: userd.Grants{Permissions: []string{survey.WritePermission, survey.ReadPermission}}}
	key   = []byte("test survey respondent key")
)

func f(v float64) *float64 { return &v }

// questions are one question of every type.
func questions() []survey.Question {
	return []survey.Question{
		{ID: "color", Type: survey.SingleChoice, Label: "Favourite colour?", Required: true, Options: []string{"red", "green", "blue"}},
		{ID: "pets", Type: survey.MultipleChoice, Label: "Pets?", Options: []string{"cat", "dog", "fish"}},
		{ID: "why", Type: survey.Text, Label: "Why?", MaxLength: 10},
		{ID: "stars", Type: survey.Rating, Label: "Stars?", Required: true},
		{ID: "age", Type: survey.Number, Label: "Age?", Min: f(0), Max: f(150)},
	}
}

func newService(db *sqldb.DB, limit int) *survey.Service {
	d := survey.Deps{Key: key}
	if limit > 0 {
		d.Limiter, d.ResponseLimit = ratelimit.New(db, true), ratelimit.Rule{Max: limit, Window: time.Hour}
	}
	return survey.NewService(db, d)
}

func create(t *testing.T, s *survey.Service, slug, status string, anonymous bool) survey.Managed {
	t.Helper()
	m, err := s.Create(ctx, admin, userd.Client{}, survey.New{Slug: slug, Title: "Survey " + slug, Questions: questions(), Status: status, AllowAnonymous: anonymous})
	if err != nil {
		t.Fatalf("create %s: %v", slug, err)
	}
	return m
}

// fields returns the field and code of each field error of err.
func fields(err error) []string {
	e := userd.ErrorOf(err)
	if e == nil {
		return nil
	}
	var out []string
	for _, fe := range e.Fields {
		out = append(out, fe.Field+" "+fe.Code)
	}
	return out
}

// TestCreateChecksEveryField: each bad survey is refused with the field
// errors it earns, nothing is stored, a taken slug is 409 and a caller
// without surveys:write is refused.
func TestCreateChecksEveryField(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(db, 0)
		with := func(change func(*survey.New)) survey.New {
			n := survey.New{Slug: "ok", Title: "T", Questions: questions()}
			change(&n)
			return n
		}
		for _, tt := range []struct {
			name string
			n    survey.New
			want []string
		}{
			{"bad slug", with(func(n *survey.New) { n.Slug = "Bad Slug" }), []string{"slug invalid_slug"}},
			{"slug starting with -", with(func(n *survey.New) { n.Slug = "-x" }), []string{"slug invalid_slug"}},
			{"long slug", with(func(n *survey.New) { n.Slug = strings.Repeat("a", 101) }), []string{"slug invalid_slug"}},
			{"no title", with(func(n *survey.New) { n.Title = " " }), []string{"title required"}},
			{"bad status", with(func(n *survey.New) { n.Status = "live" }), []string{"status invalid_status"}},
			{"no questions", with(func(n *survey.New) { n.Questions = nil }), []string{"questions required"}},
			{"duplicate id", with(func(n *survey.New) { n.Questions[1].ID = "color" }), []string{"questions[1].id duplicate_question_id"}},
			{"bad id", with(func(n *survey.New) { n.Questions[0].ID = "a b" }), []string{"questions[0].id invalid_question_id"}},
			{"bad type", with(func(n *survey.New) { n.Questions[2].Type = "essay" }), []string{"questions[2].type invalid_type"}},
			{"no label", with(func(n *survey.New) { n.Questions[2].Label = "" }), []string{"questions[2].label required"}},
			{"one option", with(func(n *survey.New) { n.Questions[0].Options = []string{"red"} }), []string{"questions[0].options invalid_options"}},
			{"same option twice", with(func(n *survey.New) { n.Questions[1].Options = []string{"cat", "cat"} }), []string{"questions[1].options[1] duplicate_option"}},
			{"options on a text", with(func(n *survey.New) { n.Questions[2].Options = []string{"a", "b"} }), []string{"questions[2].options not_allowed"}},
			{"range on a choice", with(func(n *survey.New) { n.Questions[0].Max = f(3) }), []string{"questions[0].min not_allowed"}},
			{"max_length on a number", with(func(n *survey.New) { n.Questions[4].MaxLength = 3 }), []string{"questions[4].max_length not_allowed"}},
			{"huge max_length", with(func(n *survey.New) { n.Questions[2].MaxLength = 10001 }), []string{"questions[2].max_length invalid_max_length"}},
			{"fractional rating", with(func(n *survey.New) { n.Questions[3].Max = f(4.5) }), []string{"questions[3].max invalid_range"}},
			{"wide rating", with(func(n *survey.New) { n.Questions[3].Min, n.Questions[3].Max = f(0), f(11) }), []string{"questions[3].max invalid_range"}},
			{"inverted number", with(func(n *survey.New) { n.Questions[4].Min = f(200) }), []string{"questions[4].max invalid_range"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.Create(ctx, admin, userd.Client{}, tt.n)
				if userd.ErrorKind(err) != userd.KindInvalid || !slices.Equal(fields(err), tt.want) {
					t.Fatalf("create = %v %v; want %v", err, fields(err), tt.want)
				}
			})
		}
		var n int
		db.SQL().QueryRow(`SELECT count(*) FROM surveys`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d surveys stored from refused input", n)
		}
		m := create(t, s, "ok", "", false)
		if m.Status != survey.Draft || m.Responses != 0 || len(m.Questions) != 5 || *m.Questions[4].Max != 150 {
			t.Fatalf("created = %+v", m)
		}
		if _, err := s.Create(ctx, admin, userd.Client{}, with(func(*survey.New) {})); !errors.Is(err, survey.ErrSlugTaken) {
			t.Fatalf("same slug = %v", err)
		}
		reader := userd.Actor{Grants: userd.Grants{Permissions: []string{survey.ReadPermission}}}
		if _, err := s.Create(ctx, reader, userd.Client{}, with(func(n *survey.New) { n.Slug = "other" })); !errors.Is(err, survey.ErrWriteForbidden) {
			t.Fatalf("create without surveys:write = %v", err)
		}
		if _, err := s.List(ctx, userd.Actor{UserID: "x"}, "", 10); !errors.Is(err, survey.ErrReadForbidden) {
			t.Fatalf("list without surveys:read = %v", err)
		}
		var audited int
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'survey.created' AND target_id = $1`, m.ID).Scan(&audited)
		if audited != 1 {
			t.Fatalf("survey.created entries = %d", audited)
		}
	})
}

// TestAnswersCheckedByType: each answer is checked against its question's
// type, with one error per failing question; unknown questions are refused
// and required ones required; nothing is stored for a refused response.
func TestAnswersCheckedByType(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(db, 0)
		create(t, s, "types", survey.Open, false)
		ann := dbtest.User(t, db, "ann@example.com")
		base := func() map[string]any { return map[string]any{"color": "red", "stars": 3.0} }
		for _, tt := range []struct {
			name string
			set  map[string]any
			want []string
		}{
			{"required left out", map[string]any{"color": nil, "stars": nil}, []string{"answers.color required", "answers.stars required"}},
			{"blank required", map[string]any{"color": "  "}, []string{"answers.color required"}},
			{"unknown questions", map[string]any{"zzz": 1.0, "a b": "x"}, []string{"answers unknown_question", "answers.zzz unknown_question"}},
			{"choice not an option", map[string]any{"color": "pink"}, []string{"answers.color invalid_choice"}},
			{"choice not a string", map[string]any{"color": 1.0}, []string{"answers.color invalid_choice"}},
			{"choices not an array", map[string]any{"pets": "cat"}, []string{"answers.pets invalid_choice"}},
			{"choices repeated", map[string]any{"pets": []any{"cat", "cat"}}, []string{"answers.pets invalid_choice"}},
			{"choices not options", map[string]any{"pets": []any{"cat", "cow"}}, []string{"answers.pets invalid_choice"}},
			{"text not a string", map[string]any{"why": 3.0}, []string{"answers.why invalid_answer"}},
			{"text too long", map[string]any{"why": "eleven char"}, []string{"answers.why too_long"}},
			{"rating fractional", map[string]any{"stars": 2.5}, []string{"answers.stars out_of_range"}},
			{"rating above max", map[string]any{"stars": 6.0}, []string{"answers.stars out_of_range"}},
			{"rating not a number", map[string]any{"stars": "5"}, []string{"answers.stars invalid_answer"}},
			{"number below min", map[string]any{"age": -1.0}, []string{"answers.age out_of_range"}},
			{"number not a number", map[string]any{"age": []any{1.0}}, []string{"answers.age invalid_answer"}},
			{"every question wrong", map[string]any{"color": "x", "pets": []any{1.0}, "why": false, "stars": 0.0, "age": 151.0},
				[]string{"answers.color invalid_choice", "answers.pets invalid_choice", "answers.why invalid_answer", "answers.stars out_of_range", "answers.age out_of_range"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				answers := base()
				for k, v := range tt.set {
					answers[k] = v
				}
				_, err := s.Respond(ctx, ann, userd.Client{}, "types", nil, answers)
				if userd.ErrorKind(err) != userd.KindInvalid || !slices.Equal(fields(err), tt.want) {
					t.Fatalf("respond = %v %v; want %v", err, fields(err), tt.want)
				}
			})
		}
		var n int
		db.SQL().QueryRow(`SELECT count(*) FROM survey_responses`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d responses stored from refused answers", n)
		}
		r, err := s.Respond(ctx, ann, userd.Client{}, "types", nil, map[string]any{"color": "blue", "pets": []any{"fish", "cat"}, "why": "fun", "stars": 5.0, "age": 41.5})
		want := map[string]any{"color": "blue", "pets": []any{"fish", "cat"}, "why": "fun", "stars": 5.0, "age": 41.5}
		if err != nil || r.UserID != ann.UserID || r.SurveySlug != "types" {
			t.Fatalf("respond = %+v, %v", r, err)
		}
		mine, err := s.Mine(ctx, ann, "", 10)
		if err != nil || len(mine) != 1 || mine[0].SurveySlug != "types" || !cmp.Equal(mine[0].Answers, want) {
			t.Fatalf("mine = %+v, %v", mine, err)
		}
		if sv, answered, err := s.Published(ctx, ann, "types"); err != nil || answered == nil || !*answered || sv.Slug != "types" {
			t.Fatalf("published for ann = %v %v", answered, err)
		}
		if _, answered, err := s.Published(ctx, userd.Actor{}, "types"); err != nil || answered != nil {
			t.Fatalf("published for anyone = %v %v", answered, err)
		}
	})
}

// TestOneResponsePerUserUnderRace: 20 concurrent responses of one user
// store exactly one; the 19 others are already_answered.
func TestOneResponsePerUserUnderRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(db, 0)
		create(t, s, "race", survey.Open, false)
		ann := dbtest.User(t, db, "ann@example.com")
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.Respond(ctx, ann, userd.Client{}, "race", nil, map[string]any{"color": "red", "stars": float64(1 + i%5)})
			}()
		}
		wg.Wait()
		var ok, answered int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, survey.ErrAlreadyAnswered):
				answered++
			default:
				t.Errorf("respond: %v", err)
			}
		}
		var rows int
		db.SQL().QueryRow(`SELECT count(*) FROM survey_responses WHERE user_id = $1`, ann.UserID).Scan(&rows)
		if ok != 1 || answered != 19 || rows != 1 {
			t.Fatalf("%d stored, %d already_answered, %d rows; want 1, 19, 1", ok, answered, rows)
		}
	})
}

// TestAnonymousResponses: a survey that allows them takes one response per
// anonymous id, stored as a keyed hash that differs between surveys and
// never as the id; a survey that does not is refused without a user, and
// anonymous responses are limited per address.
func TestAnonymousResponses(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(db, 4)
		create(t, s, "anon-a", survey.Open, true)
		create(t, s, "anon-b", survey.Open, true)
		create(t, s, "signed", survey.Open, false)
		answers := map[string]any{"color": "green", "stars": 4.0}
		id := "anon-0123456789-secret"
		ip := func(n int) userd.Client { return userd.Client{IP: fmt.Sprintf("192.0.2.%d", n)} }
		for _, tt := range []struct {
			name string
			slug string
			id   *string
			c    userd.Client
			want error
		}{
			{"no anonymous_id", "anon-a", nil, ip(1), survey.ErrAnonymousIDRequired},
			{"bad anonymous_id", "anon-a", new(string), ip(1), engagement.ErrInvalidAnonymousID},
			{"signed-in survey", "signed", &id, ip(1), survey.ErrSignInRequired},
			{"first", "anon-a", &id, ip(2), nil},
			{"again, elsewhere", "anon-a", &id, ip(3), survey.ErrAlreadyAnswered},
			{"another survey", "anon-b", &id, ip(3), nil},
		} {
			if _, err := s.Respond(ctx, userd.Actor{}, tt.c, tt.slug, tt.id, answers); !errors.Is(err, tt.want) {
				t.Errorf("%s: respond = %v; want %v", tt.name, err, tt.want)
			}
		}
		var hashes []string
		rows, err := db.SQL().Query(`SELECT respondent_hash FROM survey_responses WHERE user_id IS NULL ORDER BY survey_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var h string
			rows.Scan(&h)
			hashes = append(hashes, h)
		}
		rows.Close()
		if len(hashes) != 2 || hashes[0] == hashes[1] || len(hashes[0]) != 43 || strings.Contains(hashes[0], id) {
			t.Fatalf("respondent hashes = %q", hashes)
		}
		var raw int
		err = db.SQL().QueryRow(`SELECT count(*) FROM survey_responses WHERE respondent_hash LIKE $1 OR CAST(answers AS TEXT) LIKE $1`, "%"+id+"%").Scan(&raw)
		if err != nil || raw != 0 {
			t.Fatalf("%d rows hold the anonymous id in clear", raw)
		}
		// The address 192.0.2.1 has used 3 of its 4; its fifth is refused.
		other := "another-respondent"
		if _, err := s.Respond(ctx, userd.Actor{}, ip(1), "anon-b", &other, answers); err != nil {
			t.Fatalf("fourth from one address = %v", err)
		}
		third := "third-respondent"
		if _, err := s.Respond(ctx, userd.Actor{}, ip(1), "anon-b", &third, answers); userd.ErrorKind(err) != userd.KindRateLimited {
			t.Fatalf("fifth from one address = %v", err)
		}
		if rs := responses(t, s, "anon-b"); len(rs) != 2 || rs[0].UserID != "" || rs[1].UserID != "" {
			t.Fatalf("anon-b's responses = %+v", rs)
		}
	})
}

func responses(t *testing.T, s *survey.Service, slug string) []survey.Response {
	t.Helper()
	rs, err := s.Responses(ctx, admin, slug, "", 100)
	if err != nil {
		t.Fatalf("responses of %s: %v", slug, err)
	}
	return rs
}

// TestStatusGatesResponses: a draft is not found, a closed survey is not
// shown and refuses responses, an open one takes them; an unknown or
// malformed slug is not found.
func TestStatusGatesResponses(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(db, 0)
		create(t, s, "draft", "", false)
		create(t, s, "closed", survey.Closed, false)
		ann := dbtest.User(t, db, "ann@example.com")
		answers := map[string]any{"color": "red", "stars": 1.0}
		for _, tt := range []struct {
			slug             string
			published, reply error
		}{
			{"draft", survey.ErrNotFound, survey.ErrNotFound},
			{"closed", survey.ErrNotFound, survey.ErrClosed},
			{"nothing", survey.ErrNotFound, survey.ErrNotFound},
			{"Not A Slug", survey.ErrNotFound, survey.ErrNotFound},
		} {
			if _, _, err := s.Published(ctx, ann, tt.slug); !errors.Is(err, tt.published) {
				t.Errorf("published %s = %v", tt.slug, err)
			}
			if _, err := s.Respond(ctx, ann, userd.Client{}, tt.slug, nil, answers); !errors.Is(err, tt.reply) {
				t.Errorf("respond to %s = %v", tt.slug, err)
			}
		}
		if _, err := s.Update(ctx, admin, userd.Client{}, "draft", survey.Change{Status: ptr(survey.Open)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Respond(ctx, ann, userd.Client{}, "draft", nil, answers); err != nil {
			t.Fatalf("respond once open = %v", err)
		}
		if _, err := s.Update(ctx, admin, userd.Client{}, "draft", survey.Change{Status: ptr(survey.Closed)}); err != nil {
			t.Fatal(err)
		}
		bob := dbtest.User(t, db, "bob@example.com")
		if _, err := s.Respond(ctx, bob, userd.Client{}, "draft", nil, answers); !errors.Is(err, survey.ErrClosed) {
			t.Fatalf("respond once closed = %v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestResultsAreExact: the summary counts every option, averages and
// distributes ratings and numbers and counts text answers, exactly.
func TestResultsAreExact(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(db, 0)
		create(t, s, "results", survey.Open, true)
		given := []map[string]any{
			{"color": "red", "pets": []any{"cat", "dog"}, "why": "because", "stars": 5.0, "age": 30.0},
			{"color": "red", "pets": []any{"cat"}, "stars": 4.0, "age": 40.0},
			{"color": "blue", "why": "", "stars": 4.0},
			{"color": "green", "pets": []any{"dog"}, "why": "so", "stars": 1.0, "age": 30.0},
		}
		for i, answers := range given {
			a := userd.Actor{}
			id := fmt.Sprintf("respondent-%d", i)
			if i%2 == 0 {
				a = dbtest.User(t, db, fmt.Sprintf("u%d@example.com", i))
			}
			if _, err := s.Respond(ctx, a, userd.Client{IP: "192.0.2.1"}, "results", &id, answers); err != nil {
				t.Fatalf("respond %d: %v", i, err)
			}
		}
		_, r, err := s.Results(ctx, admin, "results")
		if err != nil {
			t.Fatal(err)
		}
		type got struct {
			Answered     int64
			Options      []survey.OptionCount
			Distribution []survey.ValueCount
			Average      *float64
		}
		var all []got
		for _, q := range r.Questions {
			all = append(all, got{q.Answered, q.Options, q.Distribution, q.Average})
		}
		want := []got{
			{4, []survey.OptionCount{{"red", 2}, {"green", 1}, {"blue", 1}}, nil, nil},
			{3, []survey.OptionCount{{"cat", 2}, {"dog", 2}, {"fish", 0}}, nil, nil},
			{2, nil, nil, nil},
			{4, nil, []survey.ValueCount{{1, 1}, {2, 0}, {3, 0}, {4, 2}, {5, 1}}, f(3.5)},
			{3, nil, []survey.ValueCount{{30, 2}, {40, 1}}, f(100.0 / 3)},
		}
		if r.Responses != 4 || !cmp.Equal(all, want) {
			t.Fatalf("results: %d responses, %s", r.Responses, cmp.Diff(want, all))
		}
		if _, _, err := s.Results(ctx, userd.Actor{UserID: "x"}, "results"); !errors.Is(err, survey.ErrReadForbidden) {
			t.Fatalf("results without surveys:read = %v", err)
		}
	})
}

// TestQuestionsOfAnsweredSurvey: before any response the questions change
// freely; after one, questions and options may be added and labels
// changed, but no question is removed, retyped or re-ranged and no option
// removed (409 survey_answered), and the survey is left as it was.
func TestQuestionsOfAnsweredSurvey(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(db, 0)
		create(t, s, "evolving", survey.Open, false)
		qs := questions()[:4]
		if _, err := s.Update(ctx, admin, userd.Client{}, "evolving", survey.Change{Questions: &qs}); err != nil {
			t.Fatalf("drop a question before responses = %v", err)
		}
		ann := dbtest.User(t, db, "ann@example.com")
		if _, err := s.Respond(ctx, ann, userd.Client{}, "evolving", nil, map[string]any{"color": "red", "stars": 2.0}); err != nil {
			t.Fatal(err)
		}
		change := func(edit func([]survey.Question) []survey.Question) error {
			qs := edit(questions()[:4])
			_, err := s.Update(ctx, admin, userd.Client{}, "evolving", survey.Change{Questions: &qs})
			return err
		}
		for _, tt := range []struct {
			name string
			edit func([]survey.Question) []survey.Question
			want []string
		}{
			{"remove", func(qs []survey.Question) []survey.Question { return qs[1:] }, []string{"questions question_removed"}},
			{"retype", func(qs []survey.Question) []survey.Question { qs[1].Type = survey.SingleChoice; return qs }, []string{"questions[1].type question_retyped"}},
			{"re-range", func(qs []survey.Question) []survey.Question { qs[3].Max = f(10); return qs }, []string{"questions[3].min range_changed"}},
			{"drop an option", func(qs []survey.Question) []survey.Question { qs[0].Options = qs[0].Options[:2]; return qs }, []string{"questions[0].options option_removed"}},
		} {
			err := change(tt.edit)
			if e := userd.ErrorOf(err); e == nil || e.Code != "survey_answered" || e.Kind != userd.KindConflict || !slices.Equal(fields(err), tt.want) {
				t.Errorf("%s: update = %v %v; want survey_answered %v", tt.name, err, fields(err), tt.want)
			}
		}
		err := change(func(qs []survey.Question) []survey.Question {
			qs[0].Label, qs[0].Options = "Colour?", append(qs[0].Options, "black")
			return append([]survey.Question{{ID: "new", Type: survey.Text, Label: "New?"}}, qs...)
		})
		if err != nil {
			t.Fatalf("add a question and an option = %v", err)
		}
		m, err := s.Get(ctx, admin, "evolving")
		if err != nil || m.Responses != 1 || len(m.Questions) != 5 || m.Questions[1].Label != "Colour?" || len(m.Questions[1].Options) != 4 {
			t.Fatalf("after the changes = %+v, %v", m, err)
		}
		var audited int
		db.SQL().QueryRow(`SELECT count(*) FROM activity_logs WHERE action = 'survey.updated' AND target_id = $1`, m.ID).Scan(&audited)
		if audited != 2 {
			t.Fatalf("survey.updated entries = %d; want 2", audited)
		}
	})
}

// TestDeleteTakesResponses: deleting a survey deletes its responses and
// records how many went; the slug is then free.
func TestDeleteTakesResponses(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(db, 0)
		m := create(t, s, "gone", survey.Open, false)
		create(t, s, "kept", survey.Open, false)
		for _, email := range []string{"a@example.com", "b@example.com"} {
			for _, slug := range []string{"gone", "kept"} {
				if _, err := s.Respond(ctx, dbtest.User(t, db, slug+email), userd.Client{}, slug, nil, map[string]any{"color": "red", "stars": 2.0}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.Delete(ctx, userd.Actor{}, userd.Client{}, "gone"); !errors.Is(err, survey.ErrWriteForbidden) {
			t.Fatalf("delete without surveys:write = %v", err)
		}
		if err := s.Delete(ctx, admin, userd.Client{}, "gone"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, admin, userd.Client{}, "gone"); !errors.Is(err, survey.ErrNotFound) {
			t.Fatalf("delete again = %v", err)
		}
		var left, kept int
		var meta string
		db.SQL().QueryRow(`SELECT count(*) FROM survey_responses WHERE survey_id = $1`, m.ID).Scan(&left)
		db.SQL().QueryRow(`SELECT count(*) FROM survey_responses`).Scan(&kept)
		db.SQL().QueryRow(`SELECT metadata FROM activity_logs WHERE action = 'survey.deleted' AND target_id = $1`, m.ID).Scan(&meta)
		var audit map[string]any
		json.Unmarshal([]byte(meta), &audit)
		if left != 0 || kept != 2 || !cmp.Equal(audit, map[string]any{"responses": 2.0, "slug": "gone"}) {
			t.Fatalf("after delete: %d of its responses, %d others, audit %s", left, kept, meta)
		}
		list, err := s.List(ctx, admin, "", 10)
		if err != nil || len(list) != 1 || list[0].Slug != "kept" || list[0].Responses != 2 {
			t.Fatalf("list = %+v, %v", list, err)
		}
		create(t, s, "gone", survey.Draft, false)
	})
}
