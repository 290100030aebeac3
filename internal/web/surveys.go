package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/survey"
)

// SurveyQuestion is a question of a survey. Its fields are those of
// survey.Question, in the same order.
type SurveyQuestion struct {
	ID        string   `json:"id" doc:"The question's id, the key of its answer: 1 to 50 of A-Z a-z 0-9 _ and -; unique in the survey."`
	Type      string   `json:"type" enum:"single_choice,multiple_choice,text,rating,number" doc:"What the answer is: one option (a string), distinct options (an array of strings), text (a string), an integer from min to max (a rating), or a number."`
	Label     string   `json:"label" doc:"The question as respondents read it: 1 to 500 characters."`
	Required  bool     `json:"required,omitempty" doc:"Whether every response must answer it."`
	Options   []string `json:"options,omitempty" doc:"A choice's options: 2 to 50 distinct strings of 1 to 200 characters."`
	Min       *float64 `json:"min,omitempty" doc:"A rating's lowest value (an integer, 1 when absent), or a number's lowest accepted (none when absent)."`
	Max       *float64 `json:"max,omitempty" doc:"A rating's highest value (an integer, 5 when absent; at most 10 above min), or a number's highest accepted (none when absent)."`
	MaxLength int      `json:"max_length,omitempty" doc:"A text's longest answer, in characters: 1 to 10000, 2000 when absent."`
}

func questionsOf(qs []survey.Question) []SurveyQuestion {
	return mapAll(qs, func(q survey.Question) SurveyQuestion { return SurveyQuestion(q) })
}

func questionsIn(qs []SurveyQuestion) []survey.Question {
	return mapAll(qs, func(q SurveyQuestion) survey.Question { return survey.Question(q) })
}

// PublicSurvey is an open survey as respondents see it.
type PublicSurvey struct {
	ID             string           `json:"id"`
	Slug           string           `json:"slug"`
	Title          string           `json:"title"`
	Description    string           `json:"description"`
	Questions      []SurveyQuestion `json:"questions"`
	AllowAnonymous bool             `json:"allow_anonymous" doc:"Whether a response may come without signing in, with an anonymous_id."`
	AnsweredByMe   *bool            `json:"answered_by_me,omitempty" doc:"For a signed-in caller: whether they have answered it."`
}

type surveySlugInput struct {
	Slug string `path:"slug" doc:"The survey's slug (404 survey_not_found when there is none)."`
}

type publicSurveyOutput struct {
	Body PublicSurvey
}

func (s *Server) getSurvey(ctx context.Context, in *surveySlugInput) (*publicSurveyOutput, error) {
	sv, answered, err := s.surveys.Published(ctx, userd.ActorFrom(ctx), in.Slug)
	if err != nil {
		return nil, err
	}
	return &publicSurveyOutput{Body: PublicSurvey{ID: sv.ID, Slug: sv.Slug, Title: sv.Title, Description: sv.Description, Questions: questionsOf(sv.Questions),
		AllowAnonymous: sv.AllowAnonymous, AnsweredByMe: answered}}, nil
}

// SurveyResponse is a response to a survey.
type SurveyResponse struct {
	ID        string         `json:"id"`
	Survey    string         `json:"survey" doc:"The survey's slug."`
	UserID    *string        `json:"user_id" doc:"The respondent; null for an anonymous response."`
	Answers   map[string]any `json:"answers" doc:"The answers by question id, as given; unanswered questions are absent."`
	CreatedAt time.Time      `json:"created_at"`
}

func surveyResponseOf(r survey.Response) SurveyResponse {
	return SurveyResponse{ID: r.ID, Survey: r.SurveySlug, UserID: optional(r.UserID), Answers: r.Answers, CreatedAt: r.CreatedAt}
}

type respondInput struct {
	Slug string `path:"slug" doc:"The survey's slug (404 survey_not_found unless it is open or closed)."`
	Body struct {
		Answers     map[string]any `json:"answers" doc:"The answers by question id: a string for single_choice and text, an array of strings for multiple_choice, a number for rating and number; null or absent for none."`
		AnonymousID *string        `json:"anonymous_id,omitempty" doc:"Without a signed-in user, on a survey that allows anonymous responses: the respondent's stable anonymous id (1 to 200 printable characters, e.g. a random id kept by the client). Only a keyed hash of it is stored, and it answers once. Ignored for a signed-in user."`
	}
}

type surveyResponseOutput struct {
	Body SurveyResponse
}

func (s *Server) respondToSurvey(ctx context.Context, in *respondInput) (*surveyResponseOutput, error) {
	r, err := s.surveys.Respond(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Slug, in.Body.AnonymousID, in.Body.Answers)
	if err != nil {
		return nil, err
	}
	return &surveyResponseOutput{Body: surveyResponseOf(r)}, nil
}

// ManagedSurvey is a survey as administrators see it.
type ManagedSurvey struct {
	ID             string           `json:"id"`
	Slug           string           `json:"slug"`
	Title          string           `json:"title"`
	Description    string           `json:"description"`
	Questions      []SurveyQuestion `json:"questions"`
	Status         string           `json:"status" enum:"draft,open,closed"`
	AllowAnonymous bool             `json:"allow_anonymous"`
	ResponsesCount int64            `json:"responses_count"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
}

func managedSurveyOf(m survey.Managed) ManagedSurvey {
	return ManagedSurvey{ID: m.ID, Slug: m.Slug, Title: m.Title, Description: m.Description, Questions: questionsOf(m.Questions), Status: m.Status,
		AllowAnonymous: m.AllowAnonymous, ResponsesCount: m.Responses, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

type createSurveyInput struct {
	Body struct {
		Slug           string           `json:"slug" doc:"1 to 100 of a-z 0-9 and -, starting with a letter or a digit; unique (409 slug_taken)."`
		Title          string           `json:"title" doc:"1 to 200 characters."`
		Description    string           `json:"description,omitempty" doc:"At most 2000 characters."`
		Questions      []SurveyQuestion `json:"questions" doc:"1 to 100 questions."`
		Status         string           `json:"status,omitempty" enum:"draft,open,closed" doc:"draft (the default) is not shown; open is shown and answered; closed is neither."`
		AllowAnonymous bool             `json:"allow_anonymous,omitempty" doc:"Whether respondents may answer without signing in."`
	}
}

type managedSurveyOutput struct {
	Body ManagedSurvey
}

func (s *Server) createSurvey(ctx context.Context, in *createSurveyInput) (*managedSurveyOutput, error) {
	b := in.Body
	m, err := s.surveys.Create(ctx, userd.ActorFrom(ctx), s.client(ctx), survey.New{Slug: b.Slug, Title: b.Title, Description: b.Description,
		Questions: questionsIn(b.Questions), Status: b.Status, AllowAnonymous: b.AllowAnonymous})
	if err != nil {
		return nil, err
	}
	return &managedSurveyOutput{Body: managedSurveyOf(m)}, nil
}

type managedSurveysOutput struct {
	Body struct {
		Items      []ManagedSurvey `json:"items"`
		NextCursor *string         `json:"next_cursor"`
	}
}

func (s *Server) listSurveys(ctx context.Context, in *Paging) (*managedSurveysOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.surveys.List(ctx, userd.ActorFrom(ctx), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &managedSurveysOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, func(m survey.Managed) string { return m.ID }, managedSurveyOf)
	return out, nil
}

func (s *Server) adminGetSurvey(ctx context.Context, in *surveySlugInput) (*managedSurveyOutput, error) {
	m, err := s.surveys.Get(ctx, userd.ActorFrom(ctx), in.Slug)
	if err != nil {
		return nil, err
	}
	return &managedSurveyOutput{Body: managedSurveyOf(m)}, nil
}

type patchSurveyInput struct {
	Slug string `path:"slug" doc:"The survey's slug."`
	Body struct {
		Slug           *string           `json:"slug,omitempty" doc:"A new slug (409 slug_taken)."`
		Title          *string           `json:"title,omitempty"`
		Description    *string           `json:"description,omitempty"`
		Questions      *[]SurveyQuestion `json:"questions,omitempty" doc:"Every question, replacing the list. Once the survey has responses, each question stays with its id, type, min, max and options: questions and options may be added, labels, required and max_length changed (else 409 survey_answered)."`
		Status         *string           `json:"status,omitempty" enum:"draft,open,closed"`
		AllowAnonymous *bool             `json:"allow_anonymous,omitempty"`
	}
}

func (s *Server) patchSurvey(ctx context.Context, in *patchSurveyInput) (*managedSurveyOutput, error) {
	b := in.Body
	ch := survey.Change{Slug: b.Slug, Title: b.Title, Description: b.Description, Status: b.Status, AllowAnonymous: b.AllowAnonymous}
	if b.Questions != nil {
		qs := questionsIn(*b.Questions)
		ch.Questions = &qs
	}
	m, err := s.surveys.Update(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Slug, ch)
	if err != nil {
		return nil, err
	}
	return &managedSurveyOutput{Body: managedSurveyOf(m)}, nil
}

func (s *Server) deleteSurvey(ctx context.Context, in *surveySlugInput) (*struct{}, error) {
	return nil, s.surveys.Delete(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Slug)
}

// SurveyQuestionResults summarise the answers to one question.
type SurveyQuestionResults struct {
	ID           string              `json:"id"`
	Type         string              `json:"type" enum:"single_choice,multiple_choice,text,rating,number"`
	Label        string              `json:"label"`
	Answered     int64               `json:"answered" doc:"How many responses answered it (for a text, how many text answers there are)."`
	Options      []SurveyOptionCount `json:"options,omitempty" doc:"A choice's: how many responses picked each option, in the question's order."`
	Distribution []SurveyValueCount  `json:"distribution,omitempty" doc:"A rating's: how many gave each value from min to max; a number's: how many gave each distinct value, ascending."`
	Average      *float64            `json:"average,omitempty" doc:"A rating's or a number's average answer; absent without answers."`
}

// SurveyOptionCount is how many responses picked an option.
type SurveyOptionCount struct {
	Option string `json:"option"`
	Count  int64  `json:"count"`
}

// SurveyValueCount is how many responses gave a value.
type SurveyValueCount struct {
	Value float64 `json:"value"`
	Count int64   `json:"count"`
}

type surveyResultsOutput struct {
	Body struct {
		Survey         string                  `json:"survey" doc:"The survey's slug."`
		ResponsesCount int64                   `json:"responses_count"`
		Questions      []SurveyQuestionResults `json:"questions" doc:"In the survey's order."`
	}
}

func (s *Server) surveyResults(ctx context.Context, in *surveySlugInput) (*surveyResultsOutput, error) {
	sv, r, err := s.surveys.Results(ctx, userd.ActorFrom(ctx), in.Slug)
	if err != nil {
		return nil, err
	}
	out := &surveyResultsOutput{}
	out.Body.Survey, out.Body.ResponsesCount = sv.Slug, r.Responses
	out.Body.Questions = mapAll(r.Questions, func(q survey.QuestionResults) SurveyQuestionResults {
		return SurveyQuestionResults{ID: q.Question.ID, Type: q.Question.Type, Label: q.Question.Label, Answered: q.Answered, Average: q.Average,
			Options:      mapAll(q.Options, func(o survey.OptionCount) SurveyOptionCount { return SurveyOptionCount(o) }),
			Distribution: mapAll(q.Distribution, func(v survey.ValueCount) SurveyValueCount { return SurveyValueCount(v) })}
	})
	return out, nil
}

type surveyResponsesInput struct {
	Slug string `path:"slug" doc:"The survey's slug."`
	Paging
}

type surveyResponsesOutput struct {
	Body struct {
		Items      []SurveyResponse `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
}

func (s *Server) surveyResponses(ctx context.Context, in *surveyResponsesInput) (*surveyResponsesOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.surveys.Responses(ctx, userd.ActorFrom(ctx), in.Slug, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &surveyResponsesOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, responseID, surveyResponseOf)
	return out, nil
}

func responseID(r survey.Response) string { return r.ID }

// surveyCSV serves GET /v1/admin/surveys/{slug}/responses.csv: every
// response to a survey, oldest first, as CSV written as it is read: id,
// user_id (empty for an anonymous response), created_at, then one column
// per question, named by its id.
func (s *Server) surveyCSV(ctx context.Context, in *surveySlugInput) (*huma.StreamResponse, error) {
	a := userd.ActorFrom(ctx)
	m, err := s.surveys.Get(ctx, a, in.Slug)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		_, w := humago.Unwrap(hctx)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="survey-`+m.Slug+`.csv"`)
		w.WriteHeader(http.StatusOK)
		cw := csv.NewWriter(w)
		head := []string{"id", "user_id", "created_at"}
		for _, q := range m.Questions {
			head = append(head, csvCell(q.ID)) // an id may start with -
		}
		err := cw.Write(head)
		if err == nil {
			err = s.surveys.EachResponse(ctx, a, m.Survey, func(r survey.Response) error {
				row := []string{r.ID, r.UserID, r.CreatedAt.Format(time.RFC3339Nano)}
				for _, q := range m.Questions {
					row = append(row, answerCell(r.Answers[q.ID]))
				}
				return cw.Write(row)
			})
		}
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if err != nil {
			s.log.ErrorContext(ctx, "survey responses as CSV", "err", err)
		}
	}}, nil
}

// answerCell writes an answer as a cell: a string as csvCell keeps it from
// being read as a formula; a number in the shortest form that reads back
// the same; distinct options as a JSON array; nothing for no answer.
func answerCell(v any) string {
	switch v := v.(type) {
	case string:
		return csvCell(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v) // an array of strings, as stored
	return string(b)
}

// csvResponses documents the CSV of a survey's responses.
func csvResponses(*Server) *huma.Response {
	return &huma.Response{
		Description: "CSV (RFC 4180) with a header row: id, user_id (empty for an anonymous response), created_at, then one column per question named by its id. " +
			"A choice is its option, several options a JSON array, a number in its shortest form; a text (and a question id) that starts with = + - @ gets a leading ' so that spreadsheets do not run it.",
		Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}},
	}
}
