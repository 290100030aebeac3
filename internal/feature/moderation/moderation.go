// Package moderation owns reports and moderation_history: users report
// items, comments and users; moderators review the reports and act on users
// and their content. What a moderator did outlives them (seed 001's SET NULL
// rules). Content reported by enough distinct users is held (hidden) once,
// pending review: a report counts its content's open reports with the
// table's writes locked, so exactly one report reaches the threshold.
package moderation

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Permissions (the migrations seed them).
const (
	// ReviewPermission reads and reviews reports.
	ReviewPermission = "reports:review"
	// ModeratePermission acts on users and their content.
	ModeratePermission = "users:moderate"
)

// The values of a report's fields.
var (
	ContentTypes = []string{"item", "comment", "user"}
	Reasons      = []string{"spam", "abuse", "harassment", "illegal", "misinformation", "other"}
	Statuses     = []string{"pending", "reviewed", "resolved", "dismissed"}
	Actions      = []string{"warn", "suspend", "ban", "unban", "remove_content", "restore_content"}
)

// openStatuses are the statuses of an open report, in SQL: a reporter has
// one open report per content, and their number is the content's count of
// distinct reporters.
const openStatuses = `('pending', 'reviewed')`

// Errors of moderation.
var (
	ErrAlreadyReported = userd.Errorf(userd.KindConflict, "already_reported", "You have an open report on this already.")
	ErrContentNotFound = userd.Errorf(userd.KindNotFound, "content_not_found", "No such content to report.")
	ErrReportNotFound  = userd.Errorf(userd.KindNotFound, "report_not_found", "No such report.")
	ErrReportConflict  = userd.Errorf(userd.KindConflict, "report_conflict", "The reporter has another open report on this content.")
)

// Deps are what a Service works with.
type Deps struct {
	// Limiter counts ReportLimit; nil limits nothing.
	Limiter     *ratelimit.Limiter
	ReportLimit ratelimit.Rule
	// HoldThreshold is how many distinct reporters hold content (hide it
	// pending review); 0 holds nothing.
	HoldThreshold int
}

// DefaultReportLimit is how many reports one user may file unless the
// operator says otherwise.
var DefaultReportLimit = ratelimit.Rule{Max: 20, Window: time.Hour}

// DefaultHoldThreshold is the default of Deps.HoldThreshold.
const DefaultHoldThreshold = 5

// Service serves reports, their review, and moderators' actions.
type Service struct {
	db   *sqldb.DB
	deps Deps
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, d Deps) *Service { return &Service{db: db, deps: d} }

// oneOf checks that v is one of values.
func oneOf(fs []userd.FieldError, field, v string, values []string) []userd.FieldError {
	if slices.Contains(values, v) {
		return fs
	}
	return append(fs, userd.FieldError{Field: field, Code: "invalid_" + field,
		Message: fmt.Sprintf("The %s is one of %s.", strings.ReplaceAll(field, "_", " "), strings.Join(values, ", "))})
}

// required checks that v is not blank.
func required(fs []userd.FieldError, field, v string) []userd.FieldError {
	if strings.TrimSpace(v) == "" {
		return append(fs, userd.FieldError{Field: field, Code: "required", Message: "Required."})
	}
	return fs
}

// userOrNull is the actor's user id for a reviewed_by or performed_by
// column, NULL for an API key.
func userOrNull(a userd.Actor) any { return sqldb.Nullable(a.UserID) }
