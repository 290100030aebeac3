package sqldb

import (
	"errors"
	"fmt"
)

// ConstraintKind is the kind of constraint that a statement violated.
type ConstraintKind int

// The constraint kinds that engines report.
const (
	Unique ConstraintKind = iota + 1
	ForeignKey
	Check
	NotNull
)

func (k ConstraintKind) String() string {
	switch k {
	case Unique:
		return "unique"
	case ForeignKey:
		return "foreign key"
	case Check:
		return "check"
	case NotNull:
		return "not null"
	}
	return "unknown"
}

// ConstraintError is a constraint violation, classified by the engine from
// its error code. Name is the constraint or index name as the migrations
// write it (idx_users_email), identical on both engines; it may be empty when
// the engine cannot tell.
type ConstraintError struct {
	Kind ConstraintKind
	Name string
	Err  error
}

func (e *ConstraintError) Error() string {
	return fmt.Sprintf("%s constraint %q violated: %v", e.Kind, e.Name, e.Err)
}

// Unwrap returns the driver's error.
func (e *ConstraintError) Unwrap() error { return e.Err }

// Violated reports whether err is a violation of the constraint of the given
// kind and name.
func Violated(err error, kind ConstraintKind, name string) bool {
	var c *ConstraintError
	return errors.As(err, &c) && c.Kind == kind && c.Name == name
}

// ViolatedKind returns the constraint error in err's chain, or nil.
func ViolatedKind(err error) *ConstraintError {
	var c *ConstraintError
	if errors.As(err, &c) {
		return c
	}
	return nil
}
