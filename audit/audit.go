// Package audit owns activity_logs, the append-only trail of security and
// administrative events. Events are recorded in the transaction of the change
// they describe, so the trail and the data never disagree.
package audit

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/sqldb"
)

// Actions: stable dotted codes that clients and operators filter on.
const (
	Signup                 = "auth.signup"
	Login                  = "auth.login"
	LoginFailed            = "auth.login_failed"
	Logout                 = "auth.logout"
	SessionRevoked         = "auth.session_revoked"
	RefreshReuse           = "auth.refresh_token_reused"
	PasswordChanged        = "auth.password_changed"
	PasswordResetRequested = "auth.password_reset_requested"
	PasswordReset          = "auth.password_reset"
	EmailVerificationSent  = "auth.email_verification_sent"
	EmailVerified          = "auth.email_verified"
	RateLimited            = "auth.rate_limited"
	UserDeleted            = "user.deleted"
	UserImported           = "user.imported"
)

// Event is one entry of the trail. UserID is the user it belongs to ("" for
// an anonymous event, such as a failed log-in for an unknown identifier).
type Event struct {
	UserID     string
	Action     string
	TargetType string
	TargetID   string
	IP         string
	UserAgent  string
	Metadata   map[string]any
}

// Record appends e to the trail within tx.
func Record(ctx context.Context, tx *sqldb.Tx, e Event) error {
	meta := []byte("{}")
	if len(e.Metadata) > 0 {
		var err error
		if meta, err = json.Marshal(e.Metadata); err != nil {
			return fmt.Errorf("audit %s: metadata: %w", e.Action, err)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO activity_logs (id, user_id, action, target_type, target_id, ip, user_agent, metadata, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		userd.NewID(tx.Now), sqldb.Nullable(e.UserID), e.Action, sqldb.Nullable(e.TargetType), sqldb.Nullable(e.TargetID),
		sqldb.Nullable(e.IP), sqldb.Nullable(e.UserAgent), string(meta), tx.Now)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}
