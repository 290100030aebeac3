package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/feature/ratelimit"
)

// TestOutcome: the errors of log-ins and sign-ups, wrapped as they come
// back, each under the outcome that it is, and an error where the call
// cannot have that outcome.
func TestOutcome(t *testing.T) {
	limited := &ratelimit.Error{Err: userd.Errorf(userd.KindRateLimited, "rate_limited", "Slow down.")}
	tests := []struct {
		err                   error
		login, second, signup string
	}{
		{nil, "success", "success", "success"},
		{ErrInvalidCredentials, "invalid_credentials", "error", "error"},
		{&MFARequired{Token: "t"}, "second_factor_required", "error", "error"},
		{ErrSuspended, "refused", "refused", "error"},
		{ErrBanned, "refused", "refused", "error"},
		{limited, "rate_limited", "rate_limited", "rate_limited"},
		{mfa.ErrInvalidCode, "error", "invalid_code", "error"},
		{mfa.ErrChallenge, "error", "invalid_challenge", "error"},
		{fmt.Errorf("signup: %w", account.ErrEmailTaken), "error", "error", "taken"},
		{userd.Invalid([]userd.FieldError{{Field: "email", Code: "invalid"}}), "error", "error", "invalid"},
		{fmt.Errorf("login: %w", context.DeadlineExceeded), "error", "error", "error"},
		{errors.New("boom"), "error", "error", "error"},
	}
	for _, tt := range tests {
		if got := outcomeNames[outcome(tt.err, loginOutcomes)]; got != tt.login {
			t.Errorf("log-in %v: %s; want %s", tt.err, got, tt.login)
		}
		if got := outcomeNames[outcome(tt.err, secondOutcomes)]; got != tt.second {
			t.Errorf("second factor %v: %s; want %s", tt.err, got, tt.second)
		}
		if got := outcomeNames[outcome(tt.err, signupOutcomes)]; got != tt.signup {
			t.Errorf("sign-up %v: %s; want %s", tt.err, got, tt.signup)
		}
	}
}
