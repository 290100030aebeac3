package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/platform/memo"
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

// The outcomes of a log-in or a sign-up, as outcomeNames names them.
const (
	outSuccess            = iota // signed in, or signed up and in
	outInvalidCredentials        // log-in: a wrong identifier or password
	outSecondFactor              // log-in: the password was right; a second factor is asked
	outRefused                   // log-in: the account is suspended or banned
	outInvalid                   // sign-up: a field breaks a rule
	outTaken                     // sign-up: the email, username or phone number is taken
	outInvalidCode               // second factor: a wrong, expired or used code
	outInvalidChallenge          // second factor: an unknown, spent or expired challenge
	outRateLimited               // past a brute-force limit
	outFailed                    // anything else: an error
	outcomes
)

var outcomeNames = [outcomes]string{outSuccess: "success", outInvalidCredentials: "invalid_credentials", outSecondFactor: "second_factor_required",
	outRefused: "refused", outInvalid: "invalid", outTaken: "taken", outInvalidCode: "invalid_code", outInvalidChallenge: "invalid_challenge",
	outRateLimited: "rate_limited", outFailed: "error"}

// The outcomes that a log-in, its second factor and a sign-up may have.
var (
	loginOutcomes  = []int{outSuccess, outInvalidCredentials, outSecondFactor, outRefused, outRateLimited, outFailed}
	secondOutcomes = []int{outSuccess, outInvalidCode, outInvalidChallenge, outRefused, outRateLimited, outFailed}
	signupOutcomes = []int{outSuccess, outInvalid, outTaken, outRateLimited, outFailed}
)

// Counts are how many log-ins (with a password), second factors given to
// finish one (VerifyMFA) and sign-ups a Service saw since it was made, by
// outcome. Log-ins' are success, invalid_credentials,
// second_factor_required, refused (a suspended or banned account),
// rate_limited and error; second factors' are success, invalid_code,
// invalid_challenge, refused, rate_limited and error; sign-ups' are
// success, invalid (a field breaks a rule), taken (the email, username or
// phone number), rate_limited and error.
type Counts struct {
	Logins, SecondFactors, Signups map[string]uint64
}

// tally counts log-ins and sign-ups by outcome, and the reads of the
// access tokens verified.
type tally struct {
	logins, seconds, signups     [outcomes]atomic.Uint64
	verifiedHits, verifiedMisses atomic.Uint64
}

// VerifiedStats returns the counts of the access tokens that Authenticate
// remembers as verified: an entry is never invalidated (a token's session
// is checked at each use), only evicted or expired.
func (s *Service) VerifiedStats() memo.Stats {
	return memo.Stats{Hits: s.tally.verifiedHits.Load(), Misses: s.tally.verifiedMisses.Load(), Entries: s.verified.Len()}
}

// Counts returns how many log-ins and sign-ups the Service saw, by outcome.
func (s *Service) Counts() Counts {
	read := func(n *[outcomes]atomic.Uint64, kinds []int) map[string]uint64 {
		out := make(map[string]uint64, len(kinds))
		for _, k := range kinds {
			out[outcomeNames[k]] = n[k].Load()
		}
		return out
	}
	return Counts{Logins: read(&s.tally.logins, loginOutcomes), SecondFactors: read(&s.tally.seconds, secondOutcomes),
		Signups: read(&s.tally.signups, signupOutcomes)}
}

// countLogin counts a log-in by the error it returns.
func (s *Service) countLogin(err error) { s.tally.logins[outcome(err, loginOutcomes)].Add(1) }

// countSecond counts a second factor given to finish a log-in by the error
// it returns.
func (s *Service) countSecond(err error) { s.tally.seconds[outcome(err, secondOutcomes)].Add(1) }

// countSignup counts a sign-up by the error it returns.
func (s *Service) countSignup(err error) { s.tally.signups[outcome(err, signupOutcomes)].Add(1) }

// outcome classifies the error of a log-in or sign-up among those it may
// have: any other is an error.
func outcome(err error, may []int) int {
	out := outFailed
	var second *MFARequired
	switch {
	case err == nil:
		out = outSuccess
	case errors.Is(err, ErrInvalidCredentials):
		out = outInvalidCredentials
	case errors.As(err, &second):
		out = outSecondFactor
	case errors.Is(err, mfa.ErrInvalidCode):
		out = outInvalidCode
	case errors.Is(err, mfa.ErrChallenge):
		out = outInvalidChallenge
	default:
		switch userd.ErrorKind(err) {
		case userd.KindForbidden:
			out = outRefused
		case userd.KindInvalid:
			out = outInvalid
		case userd.KindConflict:
			out = outTaken
		case userd.KindRateLimited:
			out = outRateLimited
		}
	}
	if !slices.Contains(may, out) {
		return outFailed
	}
	return out
}
