package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/platform/sqldb"
)

// ForgotPassword mails a reset link when a user has this email, and does
// the same work either way: one look-up, the same rate-limit writes, a reset
// token, its mail queued and an audit entry stored (for an unknown address,
// a token nobody is sent, its mail written as skipped), the mail delivered
// after the answer. Neither the answer nor its timing tells who has an
// account. Past the limits (from one address, for
// one account or unknown address) it returns a rate-limit error.
func (s *Service) ForgotPassword(ctx context.Context, email string, c Client) error {
	if len(email) > 1024 { // no address is this long: nothing to do, nothing to write
		return nil
	}
	email = account.NormalizeEmail(email)
	if err := s.Limiter.Hit(ctx, "forgot:ip:"+c.IP, s.cfg.Limits.ForgotPerIP); err != nil {
		return err
	}
	if email == "" || len(email) > 254 {
		return nil
	}
	u, _, err := s.find(ctx, email)
	if err != nil {
		return fmt.Errorf("forgot password: %w", err)
	}
	if err := s.Limiter.Hit(ctx, accountKey("forgot", u.ID, email), s.cfg.Limits.ForgotPerEmail); err != nil {
		return err
	}
	to, ev := email, audit.Event{Action: audit.PasswordResetRequested, TargetType: "email", IP: c.IP, UserAgent: c.UserAgent}
	if u.Email != nil {
		to, ev.UserID, ev.TargetType, ev.TargetID = *u.Email, u.ID, "user", u.ID
	}
	// System: an email is all the request knows.
	err = s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		t, err := s.issue(ctx, tx, passwordReset, to, s.cfg.ResetTTL)
		if err != nil {
			return err
		}
		if err := s.queueToken(ctx, tx, t, mailq.Mail{UserID: ev.UserID, Skip: u.Email == nil}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("forgot password: %w", err)
	}
	return nil
}

// ResetPassword uses a reset token to set a new password, ends every
// session of the user, and marks their email verified (the mail reached
// them). It returns ErrInvalidToken, or a KindInvalid error for a password
// that breaks the policy, in which case the token stays usable.
func (s *Service) ResetPassword(ctx context.Context, tok, pw string, c Client) error {
	var u account.User
	// System: the token names an email, not yet a user.
	err := s.DB.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		email, err := peek(ctx, tx, passwordReset, tok)
		if err != nil {
			return err
		}
		if u, _, err = account.FindForLogin(ctx, tx, email); errors.Is(err, account.ErrNotFound) {
			return ErrInvalidToken
		}
		return err
	})
	if err != nil {
		return err
	}
	hash, err := s.hashNew(ctx, "password", pw, u)
	if err != nil {
		return err
	}
	return s.DB.Tx(sqldb.AsUser(ctx, u.ID), func(tx *sqldb.Tx) error {
		email, err := consume(ctx, tx, passwordReset, tok)
		if err != nil {
			return err
		}
		if u.Email == nil || email != *u.Email {
			return ErrInvalidToken
		}
		if _, err := tx.Exec(ctx, `DELETE FROM password_reset_tokens WHERE identifier = $1`, email); err != nil {
			return fmt.Errorf("delete reset tokens: %w", err)
		}
		if u.EmailVerifiedAt == nil {
			// The link reached the address that nobody had proven: the
			// account is the address owner's now (see Reclaim).
			meta, err := Reclaim(ctx, tx, u.ID, s.Unlink)
			if err != nil {
				return err
			}
			meta["by"] = "password_reset"
			if err := audit.Record(ctx, tx, audit.Event{UserID: u.ID, Action: audit.AccountReclaimed, TargetType: "user", TargetID: u.ID,
				IP: c.IP, UserAgent: c.UserAgent, Metadata: meta}); err != nil {
				return err
			}
		}
		if err := account.SetPasswordHash(ctx, tx, u.ID, hash); err != nil {
			return err
		}
		if err := account.MarkEmailVerified(ctx, tx, u.ID); err != nil {
			return err
		}
		n, err := revokeOthers(ctx, tx, u.ID, "")
		if err != nil {
			return err
		}
		if err := s.Tell(ctx, tx, u.ID, NoticePasswordReset, c, ""); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: u.ID, Action: audit.PasswordReset, TargetType: "user", TargetID: u.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"sessions_revoked": n}})
	})
}

func identityOf(u account.User) account.Identity {
	return account.Identity{Email: account.Deref(u.Email), Username: account.Deref(u.Username), PhoneNumber: account.Deref(u.PhoneNumber)}
}

// ChangePassword replaces the actor's password after checking the current
// one, and ends every other session of theirs. Each check is counted before
// it is made, so concurrent guesses cannot outrun the limit. It returns a
// KindInvalid error naming current_password when it is wrong, or
// new_password when the new one breaks the policy, and a rate-limit error
// after repeated failures.
func (s *Service) ChangePassword(ctx context.Context, a userd.Actor, current, next string, c Client) error {
	failKey := "password:user:" + a.UserID
	if err := s.Limiter.Hit(ctx, failKey, s.cfg.Limits.LoginFailures); err != nil {
		return s.limited(ctx, err, a.UserID, "current_password", c)
	}
	var u account.User
	var hash string
	err := s.DB.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		var err error
		if u, err = account.Get(ctx, tx, a.UserID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT COALESCE(password_hash, '') FROM users WHERE id = $1`, a.UserID).Scan(&hash)
	})
	if err != nil {
		return err
	}
	if match, _, err := s.verify(ctx, u, hash, current); err != nil || !match {
		if err != nil {
			return err
		}
		return userd.Invalid([]userd.FieldError{{Field: "current_password", Code: "incorrect", Message: "The current password is wrong."}})
	}
	s.resetLimit(ctx, failKey)
	newHash, err := s.hashNew(ctx, "new_password", next, u)
	if err != nil {
		return err
	}
	return s.DB.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		if err := account.SetPasswordHash(ctx, tx, u.ID, newHash); err != nil {
			return err
		}
		n, err := revokeOthers(ctx, tx, u.ID, a.SessionID)
		if err != nil {
			return err
		}
		if err := s.Tell(ctx, tx, u.ID, NoticePasswordChanged, c, ""); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: u.ID, Action: audit.PasswordChanged, TargetType: "user", TargetID: u.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"sessions_revoked": n}})
	})
}

// hashNew checks a new password (named field in errors) against the policy
// for u and hashes it.
func (s *Service) hashNew(ctx context.Context, field, pw string, u account.User) (string, error) {
	if err := userd.Invalid(CheckPassword(field, pw, identityOf(u))); err != nil {
		return "", err
	}
	return s.Hasher.Hash(ctx, pw)
}
