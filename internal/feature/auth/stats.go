package auth

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// LiveSessions returns how many sessions are live now (not expired, used
// within the idle limit), in the caller's transaction (across users: a
// system one).
func (s *Service) LiveSessions(ctx context.Context, tx *sqldb.Tx) (n int, err error) {
	err = tx.QueryRow(ctx, `SELECT COUNT(*) FROM sessions s WHERE s.created_at <= $1 AND `+validSession,
		tx.Now, tx.Now, tx.Now.Add(-s.cfg.SessionIdle)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}

// The outcomes of a log-in or a sign-up, as OutcomeNames names them.
const (
	outSuccess            = iota // signed in, or signed up and in
	outInvalidCredentials        // log-in: a wrong identifier or password
	outSecondFactor              // log-in: the password was right; a second factor is asked
	outRefused                   // log-in: the account is suspended or banned
	outInvalid                   // sign-up: a field breaks a rule
	outTaken                     // sign-up: the email, username or phone number is taken
	outRateLimited               // past a brute-force limit
	outFailed                    // anything else: an error
	outcomes
)

// OutcomeNames names the outcomes: Counts' arrays are indexed by them.
var OutcomeNames = [outcomes]string{outSuccess: "success", outInvalidCredentials: "invalid_credentials", outSecondFactor: "second_factor_required",
	outRefused: "refused", outInvalid: "invalid", outTaken: "taken", outRateLimited: "rate_limited", outFailed: "error"}

// Counts are how many log-ins (with a password) and sign-ups a Service saw
// since it was made, by outcome (see OutcomeNames).
type Counts struct {
	Logins, Signups [outcomes]uint64
}

// tally counts log-ins and sign-ups by outcome.
type tally struct {
	logins, signups [outcomes]atomic.Uint64
}

// Counts returns how many log-ins and sign-ups the Service saw, by outcome.
func (s *Service) Counts() Counts {
	var c Counts
	for i := range outcomes {
		c.Logins[i] = s.tally.logins[i].Load()
		c.Signups[i] = s.tally.signups[i].Load()
	}
	return c
}

// outcome classifies the error of a log-in or sign-up.
func outcome(err error) int {
	var second *MFARequired
	switch {
	case err == nil:
		return outSuccess
	case errors.Is(err, ErrInvalidCredentials):
		return outInvalidCredentials
	case errors.As(err, &second):
		return outSecondFactor
	}
	switch userd.ErrorKind(err) {
	case userd.KindForbidden:
		return outRefused
	case userd.KindInvalid:
		return outInvalid
	case userd.KindConflict:
		return outTaken
	case userd.KindRateLimited:
		return outRateLimited
	}
	return outFailed
}
