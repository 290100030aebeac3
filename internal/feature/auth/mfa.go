package auth

import (
	"context"
	"errors"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/sqldb"
)

// errMFARequired is the kind and code of MFARequired.
var errMFARequired = userd.Errorf(userd.KindUnauthenticated, "mfa_required", "Give the code of your authenticator app (or a recovery code) to finish signing in.")

// MFARequired is Login's answer for a right password of a user with a
// second factor: Token names the challenge that VerifyMFA completes.
type MFARequired struct{ Token string }

func (e *MFARequired) Error() string { return errMFARequired.Error() }

// Unwrap returns the *userd.Error, for its kind and code.
func (e *MFARequired) Unwrap() error { return errMFARequired }

// challenge answers a password log-in of a user with a second factor.
func (s *Service) challenge(ctx context.Context, u account.User, c Client) error {
	var tok string
	err := s.DB.Tx(sqldb.AsUser(ctx, u.ID), func(tx *sqldb.Tx) (err error) {
		tok, err = mfa.Challenge(ctx, tx, u.ID)
		return err
	})
	if err != nil {
		return err
	}
	return &MFARequired{Token: tok}
}

// VerifyMFA completes a log-in with a TOTP code or a recovery code. Every
// attempt counts against the challenge (5), and is counted before it is
// checked against the account and the address (see Limits), across
// challenges: a new password log-in gives no new guesses. It returns
// mfa.ErrChallenge for an unknown, spent, expired or overused challenge,
// mfa.ErrInvalidCode for a wrong or reused code, and a rate-limit error.
func (s *Service) VerifyMFA(ctx context.Context, challenge, code, recovery string, c Client) (Login, error) {
	l, err := s.verifyMFA(ctx, challenge, code, recovery, c)
	s.countSecond(err)
	return l, err
}

func (s *Service) verifyMFA(ctx context.Context, challenge, code, recovery string, c Client) (Login, error) {
	var userID string
	// System: the challenge names the user.
	err := s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		userID, err = mfa.Redeem(ctx, tx, challenge)
		return err
	})
	if err != nil {
		return Login{}, err
	}
	err = s.secondFactor(ctx, userID, c, func(tx *sqldb.Tx) error {
		if err := mfa.Verify(ctx, tx, s.Keyring, userID, code, recovery); err != nil {
			return err
		}
		return mfa.Spend(ctx, tx, challenge)
	})
	if err != nil {
		return Login{}, err
	}
	method := "password+totp"
	if code == "" {
		method = "password+recovery_code"
	}
	return s.SignIn(ctx, userID, c, method)
}

// secondFactor reserves an attempt at a user's second factor from the
// client's address, runs check in the user's transaction, and gives the
// attempt back when it passes. A wrong code is audited.
func (s *Service) secondFactor(ctx context.Context, userID string, c Client, check func(tx *sqldb.Tx) error) error {
	// The address first: an address past its limit spends nothing of the
	// account's.
	keys := []string{"mfa:ip:" + c.IP, "mfa:user:" + userID}
	for i, rule := range []ratelimit.Rule{s.cfg.Limits.MFAPerIP, s.cfg.Limits.MFAFailures} {
		if err := s.Limiter.Hit(ctx, keys[i], rule); err != nil {
			return s.limited(ctx, err, userID, "second_factor", c)
		}
	}
	err := s.DB.Tx(sqldb.AsUser(ctx, userID), check)
	if errors.Is(err, mfa.ErrInvalidCode) {
		aerr := s.DB.Tx(sqldb.AsUser(ctx, userID), func(tx *sqldb.Tx) error {
			return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.LoginFailed, TargetType: "user", TargetID: userID,
				IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"reason": "second factor"}})
		})
		if aerr != nil {
			return aerr
		}
	}
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.Limiter.Refund(ctx, k); err != nil {
			s.Log.WarnContext(ctx, "refund rate limit", "err", err)
		}
	}
	return nil
}

// Enrollment is a TOTP secret to put in an authenticator app.
type Enrollment struct {
	Secret, URL string
}

// EnrollTOTP starts a TOTP enrolment for the actor. It returns
// ErrReauthenticate unless they signed in recently, and
// mfa.ErrAlreadyEnabled.
func (s *Service) EnrollTOTP(ctx context.Context, a userd.Actor) (Enrollment, error) {
	if err := s.RequireRecent(a); err != nil {
		return Enrollment{}, err
	}
	var e Enrollment
	err := s.DB.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		u, err := account.Get(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		name := u.ID
		for _, p := range []*string{u.Email, u.Username, u.PhoneNumber} {
			if p != nil {
				name = *p
				break
			}
		}
		e.Secret, e.URL, err = mfa.Enroll(ctx, tx, s.Keyring, a.UserID, "userd", name)
		return err
	})
	return e, err
}

// ConfirmTOTP enables the actor's enrolment with a first code and returns
// the recovery codes; the owner is told (see Tell). It returns
// ErrReauthenticate unless they signed in recently, mfa.ErrNotEnrolled,
// mfa.ErrAlreadyEnabled or mfa.ErrInvalidCode.
func (s *Service) ConfirmTOTP(ctx context.Context, a userd.Actor, code string, c Client) ([]string, error) {
	if err := s.RequireRecent(a); err != nil {
		return nil, err
	}
	var codes []string
	err := s.DB.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		if codes, err = mfa.Confirm(ctx, tx, s.Keyring, a.UserID, code); err != nil {
			return err
		}
		if err := s.Tell(ctx, tx, a.UserID, NoticeMFAEnabled, c, ""); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.MFAEnabled, TargetType: "user", TargetID: a.UserID, IP: c.IP, UserAgent: c.UserAgent})
	})
	return codes, err
}

// DisableTOTP removes the actor's second factor after a fresh code or a
// recovery code, counted as VerifyMFA counts them; the owner is told (see
// Tell). It returns ErrReauthenticate unless they signed in recently,
// mfa.ErrNotEnabled, mfa.ErrInvalidCode or a rate-limit error.
func (s *Service) DisableTOTP(ctx context.Context, a userd.Actor, code, recovery string, c Client) error {
	if err := s.RequireRecent(a); err != nil {
		return err
	}
	return s.secondFactor(ctx, a.UserID, c, func(tx *sqldb.Tx) error {
		if err := mfa.Disable(ctx, tx, s.Keyring, a.UserID, code, recovery); err != nil {
			return err
		}
		if err := s.Tell(ctx, tx, a.UserID, NoticeMFADisabled, c, ""); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.MFADisabled, TargetType: "user", TargetID: a.UserID, IP: c.IP, UserAgent: c.UserAgent})
	})
}
