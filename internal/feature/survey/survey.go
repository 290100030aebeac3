// Package survey owns surveys and survey_responses (seed 001's surveys): the
// questions an administrator publishes under a slug, the answers that
// respondents give while a survey is open (one response per signed-in user,
// or per anonymous respondent named by a keyed hash of the anonymous id their
// client sends), and the results.
package survey

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/ratelimit"
)

// Permissions of the administration (the migrations seed them).
const (
	// WritePermission lets an administrator create, change and delete
	// surveys.
	WritePermission = "surveys:write"
	// ReadPermission lets an administrator read surveys of every status,
	// their responses and their results.
	ReadPermission = "surveys:read"
)

// The statuses of a survey.
const (
	Draft  = "draft"  // not shown, not answered
	Open   = "open"   // shown and answered
	Closed = "closed" // no longer shown or answered; its results stay
)

// Statuses are the values of a survey's status.
var Statuses = []string{Draft, Open, Closed}

// The types of a question, and the answer each takes.
const (
	SingleChoice   = "single_choice"   // one of the options, a string
	MultipleChoice = "multiple_choice" // distinct options, an array of strings
	Text           = "text"            // a string of at most max_length characters
	Rating         = "rating"          // an integer from min to max (1 to 5 by default)
	Number         = "number"          // a number, within min and max when they are set
)

// Types are the types of a question.
var Types = []string{SingleChoice, MultipleChoice, Text, Rating, Number}

// Bounds of a survey.
const (
	MaxSlug        = 100   // the longest slug, in bytes
	MaxTitle       = 200   // the longest title, in characters
	MaxDescription = 2000  // the longest description, in characters
	MaxQuestions   = 100   // the most questions of a survey
	MaxQuestionID  = 50    // the longest question id, in bytes
	MaxLabel       = 500   // the longest label of a question, in characters
	MaxOptions     = 50    // the most options of a choice
	MaxOption      = 200   // the longest option, in characters
	MaxTextAnswer  = 10000 // the largest max_length of a text question, in characters
	DefaultText    = 2000  // a text question's max_length when it sets none
	MaxRatingSpan  = 10    // the most steps from a rating's min to its max
	MaxNumber      = 1e15  // the largest magnitude of a number's bounds and answers
)

// DefaultResponseLimit is how many anonymous responses one address may send
// (--survey-response-limit).
var DefaultResponseLimit = ratelimit.Rule{Max: 20, Window: time.Hour}

// Errors of the Service.
var (
	ErrNotFound        = userd.Errorf(userd.KindNotFound, "survey_not_found", "No such survey.")
	ErrSlugTaken       = userd.Errorf(userd.KindConflict, "slug_taken", "Another survey has this slug.")
	ErrClosed          = userd.Errorf(userd.KindConflict, "survey_closed", "This survey is closed: it takes no more responses.")
	ErrAlreadyAnswered = userd.Errorf(userd.KindConflict, "already_answered", "This survey has your response already.")
	// ErrSignInRequired answers an anonymous response to a survey that
	// does not allow them.
	ErrSignInRequired = userd.Errorf(userd.KindUnauthenticated, "unauthenticated", "Sign in to answer this survey.")
	ErrWriteForbidden = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+WritePermission+".")
	ErrReadForbidden  = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+ReadPermission+".")
)

// Question is one question of a survey, as stored in surveys.questions.
// Options are a choice's; Min and Max a rating's (1 and 5 when unset) or a
// number's bounds (none when unset); MaxLength a text's (DefaultText when
// 0).
type Question struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Label     string   `json:"label"`
	Required  bool     `json:"required"`
	Options   []string `json:"options,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	MaxLength int      `json:"max_length,omitempty"`
}

// Survey is a row of surveys.
type Survey struct {
	ID, Slug, Title, Description string
	Questions                    []Question
	Status                       string
	AllowAnonymous               bool
	CreatedAt, UpdatedAt         time.Time
}

// New is what an administrator creates: Status is Draft when "".
type New struct {
	Slug, Title, Description string
	Questions                []Question
	Status                   string
	AllowAnonymous           bool
}

// Change is a change to a survey: nil fields stay as they are.
type Change struct {
	Slug, Title, Description, Status *string
	Questions                        *[]Question
	AllowAnonymous                   *bool
}

// slugPattern is a survey's slug.
var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,99}$`)

// questionID is a question's id.
var questionID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,50}$`)

// validSlug reports whether slug is a survey's slug: 1 to 100 of a-z 0-9
// and -, starting with a letter or a digit.
func validSlug(slug string) bool { return slugPattern.MatchString(slug) }

// fieldError is a FieldError.
func fieldError(field, code, message string) userd.FieldError {
	return userd.FieldError{Field: field, Code: code, Message: message}
}

// check returns the field errors of a survey's fields.
func check(slug, title, description, status string, questions []Question) error {
	var fs []userd.FieldError
	if !validSlug(slug) {
		fs = append(fs, fieldError("slug", "invalid_slug", "A slug is 1 to 100 of a-z 0-9 and -, starting with a letter or a digit."))
	}
	if strings.TrimSpace(title) == "" {
		fs = append(fs, fieldError("title", "required", "A title has 1 to 200 characters."))
	}
	fs = userd.CheckText(fs, "title", title, MaxTitle)
	fs = userd.CheckText(fs, "description", description, MaxDescription)
	if !slices.Contains(Statuses, status) {
		fs = append(fs, fieldError("status", "invalid_status", "The status is draft, open or closed."))
	}
	return userd.Invalid(append(fs, checkQuestions(questions)...))
}

// checkQuestions returns the field errors of a list of questions.
func checkQuestions(qs []Question) []userd.FieldError {
	switch {
	case len(qs) == 0:
		return []userd.FieldError{fieldError("questions", "required", "A survey has at least one question.")}
	case len(qs) > MaxQuestions:
		return []userd.FieldError{fieldError("questions", "too_many_questions", "A survey has at most "+strconv.Itoa(MaxQuestions)+" questions.")}
	}
	var fs []userd.FieldError
	seen := map[string]bool{}
	for i, q := range qs {
		at := fmt.Sprintf("questions[%d]", i)
		switch {
		case !questionID.MatchString(q.ID):
			fs = append(fs, fieldError(at+".id", "invalid_question_id", "A question's id is 1 to 50 of A-Z a-z 0-9 _ and -."))
		case seen[q.ID]:
			fs = append(fs, fieldError(at+".id", "duplicate_question_id", "Two questions have the id "+q.ID+"."))
		}
		seen[q.ID] = true
		if strings.TrimSpace(q.Label) == "" {
			fs = append(fs, fieldError(at+".label", "required", "A question's label has 1 to 500 characters."))
		}
		fs = userd.CheckText(fs, at+".label", q.Label, MaxLabel)
		fs = append(fs, checkType(at, q)...)
	}
	return fs
}

// checkType returns the field errors of a question's type and of the
// fields that its type takes or refuses.
func checkType(at string, q Question) []userd.FieldError {
	var fs []userd.FieldError
	choice := q.Type == SingleChoice || q.Type == MultipleChoice
	ranged := q.Type == Rating || q.Type == Number
	switch {
	case !slices.Contains(Types, q.Type):
		return []userd.FieldError{fieldError(at+".type", "invalid_type", "The type is single_choice, multiple_choice, text, rating or number.")}
	case choice:
		fs = append(fs, checkOptions(at, q.Options)...)
	case len(q.Options) > 0:
		fs = append(fs, fieldError(at+".options", "not_allowed", "Only a choice has options."))
	}
	if !ranged && (q.Min != nil || q.Max != nil) {
		fs = append(fs, fieldError(at+".min", "not_allowed", "Only a rating or a number has min and max."))
	}
	if q.Type != Text && q.MaxLength != 0 {
		fs = append(fs, fieldError(at+".max_length", "not_allowed", "Only a text has max_length."))
	}
	if q.Type == Text && (q.MaxLength < 0 || q.MaxLength > MaxTextAnswer) {
		fs = append(fs, fieldError(at+".max_length", "invalid_max_length", "max_length is 1 to "+strconv.Itoa(MaxTextAnswer)+"."))
	}
	if ranged {
		fs = append(fs, checkRange(at, q)...)
	}
	return fs
}

// checkOptions returns the field errors of a choice's options.
func checkOptions(at string, options []string) []userd.FieldError {
	if len(options) < 2 || len(options) > MaxOptions {
		return []userd.FieldError{fieldError(at+".options", "invalid_options", "A choice has 2 to "+strconv.Itoa(MaxOptions)+" options.")}
	}
	var fs []userd.FieldError
	for j, o := range options {
		field := fmt.Sprintf("%s.options[%d]", at, j)
		if strings.TrimSpace(o) == "" {
			fs = append(fs, fieldError(field, "required", "An option has 1 to 200 characters."))
		}
		fs = userd.CheckText(fs, field, o, MaxOption)
		if slices.Index(options, o) < j {
			fs = append(fs, fieldError(field, "duplicate_option", "Two options read "+strconv.Quote(o)+"."))
		}
	}
	return fs
}

// checkRange returns the field errors of a rating's or a number's bounds.
func checkRange(at string, q Question) []userd.FieldError {
	for _, b := range []*float64{q.Min, q.Max} {
		if b != nil && (math.IsNaN(*b) || math.Abs(*b) > MaxNumber) {
			return []userd.FieldError{fieldError(at+".min", "invalid_range", "min and max are numbers of magnitude at most 1e15.")}
		}
	}
	if q.Type == Rating {
		lo, hi := bounds(q)
		if lo != math.Trunc(lo) || hi != math.Trunc(hi) || hi <= lo || hi-lo > MaxRatingSpan {
			return []userd.FieldError{fieldError(at+".max", "invalid_range", "A rating's min and max are integers, max above min by at most 10.")}
		}
	}
	if q.Min != nil && q.Max != nil && *q.Max < *q.Min {
		return []userd.FieldError{fieldError(at+".max", "invalid_range", "max is at least min.")}
	}
	return nil
}

// bounds returns a rating's bounds, 1 and 5 when unset.
func bounds(q Question) (lo, hi float64) {
	lo, hi = 1, 5
	if q.Min != nil {
		lo = *q.Min
	}
	if q.Max != nil {
		hi = *q.Max
	}
	return lo, hi
}

// errAnswered refuses (409 survey_answered) a change of the questions of a
// survey that has responses beyond what keeps its answers meaningful: every
// question stays with its id, type, bounds and options (options may be
// added; labels, required and max_length may change; questions may be
// added).
func errAnswered(fields []userd.FieldError) error {
	return &userd.Error{Kind: userd.KindConflict, Code: "survey_answered",
		Message: "This survey has responses: its questions may be added to, relabelled or have options added, not removed or changed in kind.", Fields: fields}
}

// compatible returns the field errors of new questions that would change
// what the answers to old ones mean (see errAnswered).
func compatible(old, next []Question) []userd.FieldError {
	var fs []userd.FieldError
	for _, o := range old {
		i := slices.IndexFunc(next, func(n Question) bool { return n.ID == o.ID })
		if i < 0 {
			fs = append(fs, fieldError("questions", "question_removed", "The question "+o.ID+" has answers: it stays."))
			continue
		}
		n, at := next[i], fmt.Sprintf("questions[%d]", i)
		switch {
		case n.Type != o.Type:
			fs = append(fs, fieldError(at+".type", "question_retyped", "The question "+o.ID+" has answers: its type stays "+o.Type+"."))
		case !sameBound(n.Min, o.Min) || !sameBound(n.Max, o.Max):
			fs = append(fs, fieldError(at+".min", "range_changed", "The question "+o.ID+" has answers: its min and max stay."))
		case slices.ContainsFunc(o.Options, func(opt string) bool { return !slices.Contains(n.Options, opt) }):
			fs = append(fs, fieldError(at+".options", "option_removed", "The question "+o.ID+" has answers: its options stay (new ones may be added)."))
		}
	}
	return fs
}

func sameBound(a, b *float64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
