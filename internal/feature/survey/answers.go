package survey

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/userd/userd"
)

// maxErrors bounds the field errors of one response's answers.
const maxErrors = 100

// checkAnswers checks given (answers by question id, as JSON decodes them:
// strings, arrays and float64 numbers) against the questions and returns the
// answers to store: those given, without nulls and blanks. Its validation
// error has one entry per failing question (answers.ID): an unknown
// question, a required one left out, or an answer that its type refuses.
func checkAnswers(qs []Question, given map[string]any) (map[string]any, error) {
	var fs []userd.FieldError
	var unknown []string
	for id := range given {
		if !slices.ContainsFunc(qs, func(q Question) bool { return q.ID == id }) {
			unknown = append(unknown, id)
		}
	}
	slices.Sort(unknown)
	for _, id := range unknown {
		field := "answers." + id
		if !questionID.MatchString(id) {
			field = "answers"
		}
		fs = append(fs, fieldError(field, "unknown_question", "The survey has no question "+strconv.Quote(cut(id))+"."))
	}
	out := map[string]any{}
	for _, q := range qs {
		v := given[q.ID]
		if blank(v) {
			if q.Required {
				fs = append(fs, fieldError("answers."+q.ID, "required", "The question "+q.ID+" needs an answer."))
			}
			continue
		}
		stored, f := checkAnswer(q, v)
		if f != nil {
			fs = append(fs, *f)
			continue
		}
		out[q.ID] = stored
	}
	return out, userd.Invalid(fs[:min(len(fs), maxErrors)])
}

// cut shortens an unknown question id for its error message.
func cut(id string) string {
	if len(id) <= MaxQuestionID {
		return id
	}
	return strings.ToValidUTF8(id[:MaxQuestionID], "") + "…"
}

// blank reports whether v answers nothing: null, a string of spaces, an
// empty array.
func blank(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case []any:
		return len(v) == 0
	}
	return false
}

// checkAnswer checks v, not blank, against q, and returns the answer to
// store or the field error of the question.
func checkAnswer(q Question, v any) (any, *userd.FieldError) {
	field := "answers." + q.ID
	bad := func(code, message string) (any, *userd.FieldError) {
		f := fieldError(field, code, message)
		return nil, &f
	}
	switch q.Type {
	case SingleChoice:
		if s, ok := v.(string); ok && slices.Contains(q.Options, s) {
			return s, nil
		}
		return bad("invalid_choice", "The answer to "+q.ID+" is one of its options.")
	case MultipleChoice:
		picked, ok := choices(q.Options, v)
		if !ok {
			return bad("invalid_choice", "The answer to "+q.ID+" is an array of distinct options of its.")
		}
		return picked, nil
	case Text:
		s, ok := v.(string)
		if !ok {
			return bad("invalid_answer", "The answer to "+q.ID+" is a string.")
		}
		if fs := userd.CheckText(nil, field, s, cmp.Or(q.MaxLength, DefaultText)); fs != nil {
			return nil, &fs[0]
		}
		return s, nil
	}
	n, ok := v.(float64)
	if !ok || math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > MaxNumber {
		return bad("invalid_answer", "The answer to "+q.ID+" is a number.")
	}
	lo, hi := bounds(q)
	if q.Type == Rating && (n != math.Trunc(n) || n < lo || n > hi) {
		return bad("out_of_range", "The answer to "+q.ID+" is an integer from "+num(lo)+" to "+num(hi)+".")
	}
	if q.Type == Number && ((q.Min != nil && n < *q.Min) || (q.Max != nil && n > *q.Max)) {
		return bad("out_of_range", "The answer to "+q.ID+" is out of its range.")
	}
	return n, nil
}

// choices returns v as distinct options, or false when it is not an array
// of them.
func choices(options []string, v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	picked := make([]string, 0, len(arr))
	for _, x := range arr {
		s, ok := x.(string)
		if !ok || !slices.Contains(options, s) || slices.Contains(picked, s) {
			return nil, false
		}
		picked = append(picked, s)
	}
	return picked, true
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Results summarise a survey's responses.
type Results struct {
	Responses int64
	Questions []QuestionResults
}

// QuestionResults summarise the answers to one question: how many
// responses answered it; for a choice, how many picked each option (in the
// question's order); for a rating, how many gave each value from min to max
// and the average; for a number, how many gave each distinct value (in
// ascending order) and the average. Average is nil without answers.
type QuestionResults struct {
	Question     Question
	Answered     int64
	Options      []OptionCount
	Distribution []ValueCount
	Average      *float64
}

// OptionCount is how many responses picked an option.
type OptionCount struct {
	Option string
	Count  int64
}

// ValueCount is how many responses gave a value.
type ValueCount struct {
	Value float64
	Count int64
}

// tally counts a survey's answers, one response after another.
type tally struct {
	qs        []Question
	responses int64
	answered  []int64
	options   []map[string]int64
	values    []map[float64]int64
	sums      []float64
}

func newTally(qs []Question) *tally {
	t := &tally{qs: qs, answered: make([]int64, len(qs)), options: make([]map[string]int64, len(qs)),
		values: make([]map[float64]int64, len(qs)), sums: make([]float64, len(qs))}
	for i := range qs {
		t.options[i], t.values[i] = map[string]int64{}, map[float64]int64{}
	}
	return t
}

// add counts one response's stored answers.
func (t *tally) add(answers map[string]any) {
	t.responses++
	for i, q := range t.qs {
		v, ok := answers[q.ID]
		if !ok {
			continue
		}
		t.answered[i]++
		switch v := v.(type) {
		case string:
			t.options[i][v]++
		case []any:
			for _, o := range v {
				if s, ok := o.(string); ok {
					t.options[i][s]++
				}
			}
		case float64:
			t.values[i][v]++
			t.sums[i] += v
		}
	}
}

// results returns the summary of what was added.
func (t *tally) results() Results {
	r := Results{Responses: t.responses, Questions: make([]QuestionResults, len(t.qs))}
	for i, q := range t.qs {
		qr := QuestionResults{Question: q, Answered: t.answered[i]}
		switch q.Type {
		case SingleChoice, MultipleChoice:
			qr.Options = make([]OptionCount, len(q.Options))
			for j, o := range q.Options {
				qr.Options[j] = OptionCount{o, t.options[i][o]}
			}
		case Rating:
			lo, hi := bounds(q)
			for v := lo; v <= hi; v++ {
				qr.Distribution = append(qr.Distribution, ValueCount{v, t.values[i][v]})
			}
		case Number:
			qr.Distribution = []ValueCount{}
			for _, v := range slices.Sorted(maps.Keys(t.values[i])) {
				qr.Distribution = append(qr.Distribution, ValueCount{v, t.values[i][v]})
			}
		}
		if (q.Type == Rating || q.Type == Number) && t.answered[i] > 0 {
			avg := t.sums[i] / float64(t.answered[i])
			qr.Average = &avg
		}
		r.Questions[i] = qr
	}
	return r
}
