package userd

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind classifies an Error by what the caller can do about it. The zero value
// is KindInternal: an unexpected failure whose detail is not shown to clients.
type Kind int

// The kinds of Error. The web package holds the only table that maps them to
// HTTP statuses.
const (
	KindInternal           Kind = iota // a bug or an outage: 500, detail hidden
	KindMalformed                      // the request cannot be read: 400
	KindInvalid                        // a value breaks a rule: 422
	KindUnauthenticated                // no or bad credentials: 401
	KindForbidden                      // authenticated but not allowed: 403
	KindNotFound                       // missing, or another user's: 404
	KindConflict                       // uniqueness or state conflict: 409
	KindPreconditionFailed             // a stale If-Match: 412
	KindRateLimited                    // too many attempts: 429
	KindUnavailable                    // a service userd needs is down for now: 503
)

// Error is the error type that crosses package boundaries. Code is a stable,
// snake_case machine code (such as "email_taken"); Message is a sentence a
// person can read; Fields lists per-field problems of a KindInvalid error;
// Err is the underlying cause, never shown to clients.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	Err     error
}

// FieldError describes one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Code != "" {
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Message)
	}
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(" [")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(f.Field + ": " + f.Code)
		if i == len(e.Fields)-1 {
			b.WriteString("]")
		}
	}
	if e.Err != nil {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf is a shorthand for an Error of the given kind, code and message.
func Errorf(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// CheckText appends to fs the error of the text field v, if it has one:
// too_long past max characters, invalid when it is not UTF-8 or holds a NUL.
func CheckText(fs []FieldError, field, v string, max int) []FieldError {
	switch {
	case utf8.RuneCountInString(v) > max:
		return append(fs, FieldError{Field: field, Code: "too_long", Message: fmt.Sprintf("At most %d characters.", max)})
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return append(fs, FieldError{Field: field, Code: "invalid", Message: "Not valid text."})
	}
	return fs
}

// Invalid returns a KindInvalid error that lists the given field errors. It
// returns nil when fields is empty, so callers can collect and return.
func Invalid(fields []FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	msg := fields[0].Message
	if len(fields) > 1 {
		msg = "Some fields are invalid."
	}
	return &Error{Kind: KindInvalid, Code: "validation_failed", Message: msg, Fields: fields}
}

// ErrorOf returns the first *Error in err's chain, or nil.
func ErrorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ErrorKind returns the kind of the first *Error in err's chain, and
// KindInternal when there is none.
func ErrorKind(err error) Kind {
	if e := ErrorOf(err); e != nil {
		return e.Kind
	}
	return KindInternal
}
