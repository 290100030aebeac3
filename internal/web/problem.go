package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/collection"
	"github.com/userd/userd/internal/feature/ratelimit"
)

// Problem is an RFC 9457 problem document with userd's stable machine code
// and, for validation, the fields at fault.
type Problem struct {
	Type   string       `json:"type" doc:"Always about:blank: the code tells problems apart."`
	Title  string       `json:"title" doc:"The HTTP status text."`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty" doc:"A sentence for people."`
	Code   string       `json:"code" doc:"A stable snake_case machine code, such as email_taken."`
	Errors []FieldError `json:"errors,omitempty" doc:"The fields at fault, for validation problems."`
	// MFAToken is set with code mfa_required: POST it to /v1/auth/mfa/verify
	// with the second factor.
	MFAToken string `json:"mfa_token,omitempty" doc:"With mfa_required: the challenge that POST /v1/auth/mfa/verify completes."`
	// Count is set with records_invalid: how many records a declaration
	// would break (errors holds a sample).
	Count int `json:"count,omitempty" doc:"With records_invalid: how many records the new declaration would break; errors holds a sample."`

	headers http.Header
}

// FieldError is one field at fault.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// GetStatus returns the HTTP status; huma reads it.
func (p *Problem) GetStatus() int { return p.Status }

// GetHeaders returns the headers that go with the problem, such as
// Retry-After; huma reads it.
func (p *Problem) GetHeaders() http.Header { return p.headers }

// ContentType makes problems application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// kindStatus is the one table that maps error kinds to HTTP statuses.
var kindStatus = map[userd.Kind]int{
	userd.KindInternal:           http.StatusInternalServerError,
	userd.KindMalformed:          http.StatusBadRequest,
	userd.KindInvalid:            http.StatusUnprocessableEntity,
	userd.KindUnauthenticated:    http.StatusUnauthorized,
	userd.KindForbidden:          http.StatusForbidden,
	userd.KindNotFound:           http.StatusNotFound,
	userd.KindConflict:           http.StatusConflict,
	userd.KindPreconditionFailed: http.StatusPreconditionFailed,
	userd.KindRateLimited:        http.StatusTooManyRequests,
	userd.KindUnavailable:        http.StatusServiceUnavailable,
}

func newProblem(status int, code, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

// problemOf turns an error from a service into a problem. Errors that are not
// a *userd.Error, and internal ones, are logged here, once, and reach the
// client as a bare 500.
func problemOf(ctx context.Context, log *slog.Logger, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	e := userd.ErrorOf(err)
	if e == nil || e.Kind == userd.KindInternal {
		if errors.Is(err, context.Canceled) {
			return newProblem(499, "client_closed_request", "The client went away.")
		}
		log.ErrorContext(ctx, "internal error", "err", err)
		return newProblem(http.StatusInternalServerError, "internal", "Something went wrong on our side.")
	}
	p = newProblem(kindStatus[e.Kind], e.Code, e.Message)
	var second *auth.MFARequired
	if errors.As(err, &second) {
		p.MFAToken = second.Token
	}
	var inv *collection.InvalidRecords
	if errors.As(err, &inv) {
		p.Count = inv.Count
	}
	var rl *ratelimit.Error
	switch {
	case errors.As(err, &rl):
		p.headers = http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds())))}}
	case e.Kind == userd.KindRateLimited: // a limit that cannot say when, such as open streams
		p.headers = http.Header{"Retry-After": {strconv.Itoa(retryUnknown)}}
	case e.Kind == userd.KindUnavailable:
		p.headers = http.Header{"Retry-After": {strconv.Itoa(retryUnavailable)}}
	}
	for _, f := range e.Fields {
		p.Errors = append(p.Errors, FieldError(f))
	}
	return p
}

// retryUnknown is the Retry-After, in seconds, of a 429 whose limit does
// not say when it frees up.
const retryUnknown = 30

// retryUnavailable is the Retry-After, in seconds, of a 503 while the
// database does not answer: a restart or a fail-over takes seconds.
const retryUnavailable = 2

// typeMessages are huma's validation messages for a value of the wrong JSON
// type: a body that cannot be read as the request type, answered with 400.
var typeMessages = map[string]bool{
	validation.MsgExpectedBoolean: true, validation.MsgExpectedNumber: true, validation.MsgExpectedInteger: true,
	validation.MsgExpectedString: true, validation.MsgExpectedArray: true, validation.MsgExpectedObject: true,
}

// humaError builds the problem for an error that huma itself raises while
// reading a request: unreadable JSON and unknown fields or wrong types are
// 400, an oversized body 413, and schema violations 422 with their fields.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	switch status {
	case http.StatusBadRequest:
		if strings.Contains(msg, "request body is required") {
			return newProblem(status, "body_required", "The request needs a JSON body.")
		}
		return newProblem(status, "malformed_json", "The body is not valid JSON.")
	case http.StatusRequestEntityTooLarge:
		return newProblem(status, "body_too_large", "The body is larger than the limit of 1 MiB.")
	case http.StatusUnprocessableEntity:
		return validationProblem(errs)
	case http.StatusNotFound:
		return newProblem(status, "not_found", "No such resource.")
	case http.StatusMethodNotAllowed:
		return newProblem(status, "method_not_allowed", "This method is not allowed here.")
	case http.StatusUnsupportedMediaType:
		return newProblem(status, "unsupported_media_type", "Send application/json.")
	}
	if status >= 500 {
		return newProblem(status, "internal", "Something went wrong on our side.")
	}
	return newProblem(status, strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_"), msg)
}

func validationProblem(errs []error) *Problem {
	var fields []FieldError
	for _, err := range errs {
		var d *huma.ErrorDetail
		if !errors.As(err, &d) {
			continue
		}
		field := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(d.Location, "body"), "."), "query.")
		field = strings.TrimPrefix(strings.TrimPrefix(field, "path."), "header.")
		switch {
		case d.Message == validation.MsgUnexpectedProperty:
			return &Problem{Type: "about:blank", Title: http.StatusText(400), Status: 400, Code: "unknown_field",
				Detail: fmt.Sprintf("The field %q is not known here.", field),
				Errors: []FieldError{{Field: field, Code: "unknown_field", Message: "This field is not known here."}}}
		case typeMessages[d.Message]:
			return &Problem{Type: "about:blank", Title: http.StatusText(400), Status: 400, Code: "invalid_type",
				Detail: fmt.Sprintf("The field %q has the wrong type: %s.", field, d.Message),
				Errors: []FieldError{{Field: field, Code: "invalid_type", Message: d.Message}}}
		}
		code := "invalid"
		var name string
		if n, _ := fmt.Sscanf(d.Message, validation.MsgExpectedRequiredProperty, &name); n == 1 {
			field, code = name, "required"
		}
		fields = append(fields, FieldError{Field: field, Code: code, Message: d.Message})
	}
	p := newProblem(http.StatusUnprocessableEntity, "validation_failed", "Some fields are invalid.")
	p.Errors = fields
	return p
}
