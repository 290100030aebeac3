// Package mfa owns the TOTP second factor: mfa_totp, mfa_recovery_codes and
// mfa_challenges. A code is good once (its time step must be newer than the
// last one used); recovery codes are stored hashed and good once.
package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// Errors that the functions of this package return.
var (
	ErrAlreadyEnabled = userd.Errorf(userd.KindConflict, "mfa_already_enabled", "A second factor is already enabled.")
	ErrNotEnrolled    = userd.Errorf(userd.KindConflict, "mfa_not_enrolled", "Start the enrolment first.")
	ErrNotEnabled     = userd.Errorf(userd.KindConflict, "mfa_not_enabled", "No second factor is enabled.")
	ErrInvalidCode    = userd.Invalid([]userd.FieldError{{Field: "code", Code: "invalid_code", Message: "This code is wrong, expired or used already."}})
	ErrChallenge      = userd.Errorf(userd.KindUnauthenticated, "invalid_mfa_token", "This sign-in attempt is not valid any more. Sign in again.")
)

const (
	period        = 30 // seconds per TOTP step
	challengeTTL  = 5 * time.Minute
	maxAttempts   = 5
	recoveryCount = 10
	// ChallengePrefix starts a challenge token.
	ChallengePrefix = "udm_"
)

func ad(userID string) []byte { return seal.AD("mfa_totp", "secret", userID, userID) }

// Sealed is the TOTP secrets' sealed column, for master key rotation.
var Sealed = sqldb.SealedColumn{Table: "mfa_totp", Column: "secret", IDColumn: "user_id", UserColumn: "user_id",
	AD: func(_, userID string) []byte { return ad(userID) }}

// Enabled reports whether the user has a confirmed TOTP.
func Enabled(ctx context.Context, tx *sqldb.Tx, userID string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL`, userID).Scan(&n)
	return n > 0, err
}

// State is a user's second factor as an administrator sees it: whether
// TOTP is enabled, and how many of its recovery codes are left unused.
type State struct {
	Enabled      bool
	RecoveryLeft int
}

// StateOf reads a user's second factor (see State).
func StateOf(ctx context.Context, tx *sqldb.Tx, userID string) (State, error) {
	on, err := Enabled(ctx, tx, userID)
	if err != nil {
		return State{}, fmt.Errorf("read second factor: %w", err)
	}
	st := State{Enabled: on}
	if on {
		err = tx.QueryRow(ctx, `SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&st.RecoveryLeft)
		if err != nil {
			return State{}, fmt.Errorf("count recovery codes: %w", err)
		}
	}
	return st, nil
}

// want returns ErrAlreadyEnabled or ErrNotEnabled unless the user's second
// factor is in the wanted state.
func want(ctx context.Context, tx *sqldb.Tx, userID string, enabled bool) error {
	on, err := Enabled(ctx, tx, userID)
	switch {
	case err != nil:
		return err
	case on && !enabled:
		return ErrAlreadyEnabled
	case !on && enabled:
		return ErrNotEnabled
	}
	return nil
}

// Enroll starts (or restarts) an unconfirmed enrolment and returns the
// secret and its otpauth:// URL for an authenticator app. It returns
// ErrAlreadyEnabled.
func Enroll(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID, issuer, accountName string) (secret, url string, err error) {
	if err := want(ctx, tx, userID, false); err != nil {
		return "", "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: accountName, Period: period})
	if err != nil {
		return "", "", fmt.Errorf("make totp secret: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO mfa_totp (user_id, secret, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed_at = NULL, last_step = 0, created_at = excluded.created_at`,
		userID, ring.Seal([]byte(key.Secret()), ad(userID)), tx.Now)
	if err != nil {
		return "", "", fmt.Errorf("store totp: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

// check finds the step of a code within one step of now, newer than the
// last used one, and records it.
func check(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID, code string) error {
	var sealed []byte
	var last int64
	err := tx.QueryRow(ctx, `SELECT secret, last_step FROM mfa_totp WHERE user_id = $1`, userID).Scan(&sealed, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotEnrolled
	}
	if err != nil {
		return err
	}
	secret, err := ring.Open(sealed, ad(userID))
	if err != nil {
		return err
	}
	now := tx.Now.Unix() / period
	code = strings.TrimSpace(code)
	for _, step := range []int64{now - 1, now, now + 1} {
		want, err := totp.GenerateCodeCustom(string(secret), time.Unix(step*period, 0), totp.ValidateOpts{Period: period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil || step <= last || subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		_, err = tx.Exec(ctx, `UPDATE mfa_totp SET last_step = $1 WHERE user_id = $2`, step, userID)
		return err
	}
	return ErrInvalidCode
}

func hashCode(code string) []byte {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))))
	return sum[:]
}

// Confirm enables an enrolment with a first code and returns ten recovery
// codes, shown only now. It returns ErrNotEnrolled, ErrAlreadyEnabled or
// ErrInvalidCode.
func Confirm(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID, code string) ([]string, error) {
	if err := want(ctx, tx, userID, false); err != nil {
		return nil, err
	}
	if err := check(ctx, tx, ring, userID, code); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE mfa_totp SET confirmed_at = $1 WHERE user_id = $2`, tx.Now, userID); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM mfa_recovery_codes WHERE user_id = $1`, userID); err != nil {
		return nil, err
	}
	codes := make([]string, recoveryCount)
	for i := range codes {
		raw := strings.ToLower(rand.Text()[:10])
		codes[i] = raw[:5] + "-" + raw[5:]
		if _, err := tx.Exec(ctx, `INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)`,
			userd.NewID(tx.Now), userID, hashCode(codes[i]), tx.Now); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// Verify checks a second factor: a TOTP code, or else a recovery code
// (used up). It returns ErrInvalidCode.
func Verify(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID, code, recovery string) error {
	if code != "" {
		return check(ctx, tx, ring, userID, code)
	}
	res, err := tx.Exec(ctx, `UPDATE mfa_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`,
		tx.Now, userID, hashCode(recovery))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 || recovery == "" {
		return ErrInvalidCode
	}
	return nil
}

// Disable removes the second factor after a fresh code or a recovery code.
// It returns ErrNotEnabled or ErrInvalidCode.
func Disable(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID, code, recovery string) error {
	if err := want(ctx, tx, userID, true); err != nil {
		return err
	}
	if err := Verify(ctx, tx, ring, userID, code, recovery); err != nil {
		return err
	}
	return Remove(ctx, tx, userID)
}

// Remove deletes a user's second factor and recovery codes, whatever their
// state: for an account whose control passes to someone else.
func Remove(ctx context.Context, tx *sqldb.Tx, userID string) error {
	for _, q := range []string{`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, `DELETE FROM mfa_totp WHERE user_id = $1`} {
		if _, err := tx.Exec(ctx, q, userID); err != nil {
			return fmt.Errorf("remove second factor: %w", err)
		}
	}
	return nil
}

// Challenge starts the second step of a log-in and returns its token.
func Challenge(ctx context.Context, tx *sqldb.Tx, userID string) (string, error) {
	tok, hash := token.New(ChallengePrefix)
	_, err := tx.Exec(ctx, `INSERT INTO mfa_challenges (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)`,
		hash, userID, tx.Now.Add(challengeTTL), tx.Now)
	return tok, err
}

// Redeem finds the user of a live challenge and counts an attempt; a
// challenge past its attempts or its life is gone. It returns ErrChallenge.
func Redeem(ctx context.Context, tx *sqldb.Tx, tok string) (string, error) {
	hash, ok := token.Parse(ChallengePrefix, tok)
	if !ok {
		return "", ErrChallenge
	}
	var userID string
	err := tx.QueryRow(ctx, `UPDATE mfa_challenges SET attempts = attempts + 1 WHERE token_hash = $1 AND expires_at > $2 AND attempts < $3
		RETURNING user_id`, hash, tx.Now, maxAttempts).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrChallenge
	}
	return userID, err
}

// Spend deletes a challenge once it has served.
func Spend(ctx context.Context, tx *sqldb.Tx, tok string) error {
	hash, _ := token.Parse(ChallengePrefix, tok)
	_, err := tx.Exec(ctx, `DELETE FROM mfa_challenges WHERE token_hash = $1`, hash)
	return err
}

// Expire deletes second-factor challenges past their expiry.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM mfa_challenges WHERE expires_at < $1`, now)
}
