package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/feature/referral"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Password length bounds: at least 8 characters, at most 256 bytes.
const (
	minPasswordRunes = 8
	maxPasswordBytes = 256
)

// CheckPassword returns the field errors of a new password (in the given
// field) for a user with the given identity.
func CheckPassword(field, pw string, id account.Identity) []userd.FieldError {
	bad := func(code, msg string) []userd.FieldError {
		return []userd.FieldError{{Field: field, Code: code, Message: msg}}
	}
	switch {
	case !utf8.ValidString(pw) || utf8.RuneCountInString(pw) < minPasswordRunes:
		return bad("password_too_short", "Use at least 8 characters.")
	case len(pw) > maxPasswordBytes:
		return bad("password_too_long", "Use at most 256 bytes.")
	case password.IsCommon(pw):
		return bad("password_too_common", "This password is among the most common ones. Choose another.")
	}
	for _, own := range []string{id.Email, id.Username, id.PhoneNumber} {
		if own != "" && strings.EqualFold(pw, own) {
			return bad("password_is_identifier", "Do not use your email, username or phone number as your password.")
		}
	}
	return nil
}

// Signup creates a user and their first session in one transaction, with
// the event in the audit trail, and sends a verification mail when the user
// gave an email. The user gets the role they chose (Signup.Role) as their
// only role, or END_USER. It returns a KindInvalid error for bad fields
// (with the code role_not_allowed for a role that Config.SignupRoles does
// not list),
// account.ErrEmailTaken, account.ErrUsernameTaken or account.ErrPhoneTaken
// on a collision, and a rate-limit error past the sign-ups allowed from one
// address.
func (s *Service) Signup(ctx context.Context, in Signup, c Client) (Login, error) {
	if err := s.Limiter.Hit(ctx, "signup:ip:"+c.IP, s.cfg.Limits.SignupPerIP); err != nil {
		s.countSignup(err)
		return Login{}, err
	}
	l, err := s.register(ctx, in, c)
	s.countSignup(err)
	if err != nil {
		return Login{}, fmt.Errorf("signup: %w", err)
	}
	return l, nil
}

// register checks a sign-up, hashes its password outside any transaction,
// then inserts the user, gives them their role, audits it and opens their
// session, in one transaction. A verification mail follows the commit.
func (s *Service) register(ctx context.Context, in Signup, c Client) (Login, error) {
	fe := in.check()
	if in.Role != "" && !slices.Contains(s.cfg.SignupRoles, in.Role) {
		return Login{}, roleNotAllowed(fe)
	}
	if err := userd.Invalid(fe); err != nil {
		return Login{}, err
	}
	hash, err := s.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return Login{}, err
	}
	sg, err := s.signer(ctx)
	if err != nil {
		return Login{}, err
	}
	var out Login
	// System: the user does not exist until this transaction makes them.
	err = s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		u, err := account.Insert(ctx, tx, account.New{Identity: in.Identity, Profile: in.Profile, PasswordHash: hash})
		if err != nil {
			return err
		}
		ev := audit.Event{UserID: u.ID, Action: audit.Signup, TargetType: "user", TargetID: u.ID, IP: c.IP, UserAgent: c.UserAgent}
		if in.Role != "" {
			ev.Metadata = map[string]any{"role": in.Role}
		}
		if err := audit.Record(ctx, tx, ev); err != nil {
			return err
		}
		if err := giveRole(ctx, tx, u.ID, in.Role); err != nil {
			return err
		}
		if in.ReferralSlug != "" {
			if err := referral.Record(ctx, tx, in.ReferralSlug, u.ID); err != nil {
				return err
			}
		}
		if u.Email != nil {
			if err := s.issueVerification(ctx, tx, u); err != nil {
				return err
			}
		}
		out, err = s.open(ctx, tx, sg, u, c)
		return err
	})
	if err != nil {
		return Login{}, err
	}
	return out, nil
}

// check normalises a sign-up and returns its field errors.
func (in *Signup) check() []userd.FieldError {
	fe := in.Identity.Check()
	fe = append(fe, in.Profile.Check()...)
	return append(fe, CheckPassword("password", in.Password, in.Identity)...)
}

// roleNotAllowed refuses a sign-up's role: a KindInvalid error with the code
// role_not_allowed whose fields are the role's and the sign-up's other
// field errors.
func roleNotAllowed(others []userd.FieldError) error {
	const msg = "This role cannot be chosen at sign-up."
	return &userd.Error{Kind: userd.KindInvalid, Code: "role_not_allowed", Message: msg,
		Fields: append([]userd.FieldError{{Field: "role", Code: "role_not_allowed", Message: msg}}, others...)}
}

// giveRole gives a new user the role they chose as their only one, or
// END_USER when they chose none. A chosen role that no longer exists, or
// that has got the admin flag since serve started, is not allowed.
func giveRole(ctx context.Context, tx *sqldb.Tx, userID, role string) error {
	if role == "" {
		return rbac.AssignDefault(ctx, tx, userID)
	}
	r, err := rbac.Named(ctx, tx, role)
	if errors.Is(err, rbac.ErrRoleNotFound) || (err == nil && r.IsAdmin) {
		return roleNotAllowed(nil)
	}
	if err != nil {
		return err
	}
	_, err = rbac.Assign(ctx, tx, userID, role)
	return err
}

// CheckSignupRoles returns an error unless every role of
// Config.SignupRoles exists and lacks the admin flag (anyone could sign up
// as an administrator): serve checks it when it starts.
func (s *Service) CheckSignupRoles(ctx context.Context) error {
	return s.DB.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		for _, name := range s.cfg.SignupRoles {
			r, err := rbac.Named(ctx, tx, name)
			if errors.Is(err, rbac.ErrRoleNotFound) {
				return fmt.Errorf("no role is called %q (roles are named in capitals, such as OWNER)", name)
			}
			if err != nil {
				return err
			}
			if r.IsAdmin {
				return fmt.Errorf("the role %s has the admin flag: whoever signs up with it would be an administrator", name)
			}
		}
		return nil
	})
}
