package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/userd/userd"
	"github.com/userd/userd/account"
	"github.com/userd/userd/sqldb"
)

// Password length bounds: at least 8 characters, at most 256 bytes.
const (
	minPasswordRunes = 8
	maxPasswordBytes = 256
)

// CheckPassword returns the field errors of a new password for a user with
// the given identity.
func CheckPassword(pw string, id account.Identity) []userd.FieldError {
	bad := func(code, msg string) []userd.FieldError {
		return []userd.FieldError{{Field: "password", Code: code, Message: msg}}
	}
	switch {
	case !utf8.ValidString(pw) || utf8.RuneCountInString(pw) < minPasswordRunes:
		return bad("password_too_short", "Use at least 8 characters.")
	case len(pw) > maxPasswordBytes:
		return bad("password_too_long", "Use at most 256 bytes.")
	}
	for _, own := range []string{id.Email, id.Username, id.PhoneNumber} {
		if own != "" && strings.EqualFold(pw, own) {
			return bad("password_is_identifier", "Do not use your email, username or phone number as your password.")
		}
	}
	return nil
}

// Signup creates a user and their first session in one transaction. It
// returns a KindInvalid error for bad fields, and account.ErrEmailTaken,
// account.ErrUsernameTaken or account.ErrPhoneTaken on a collision.
func (s *Service) Signup(ctx context.Context, in Signup, c Client) (Login, error) {
	l, err := s.register(ctx, in, &c)
	if err != nil {
		return Login{}, fmt.Errorf("signup: %w", err)
	}
	return l, nil
}

// CreateUser creates a user with a password and no session: an operator's
// `userd users create`. It returns what Signup returns for bad or taken
// fields.
func (s *Service) CreateUser(ctx context.Context, in Signup) (account.User, error) {
	l, err := s.register(ctx, in, nil)
	if err != nil {
		return account.User{}, fmt.Errorf("create user: %w", err)
	}
	return l.User, nil
}

// register checks a sign-up, hashes its password outside any transaction,
// then inserts the user and, for a client, opens their session, in one
// transaction.
func (s *Service) register(ctx context.Context, in Signup, c *Client) (Login, error) {
	if err := userd.Invalid(in.check()); err != nil {
		return Login{}, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return Login{}, err
	}
	var out Login
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := account.Insert(ctx, tx, account.New{Identity: in.Identity, Profile: in.Profile, PasswordHash: hash})
		if err != nil || c == nil {
			out.User = u
			return err
		}
		out, err = s.open(ctx, tx, u, *c)
		return err
	})
	return out, err
}

// check normalises a sign-up and returns its field errors.
func (in *Signup) check() []userd.FieldError {
	fe := in.Identity.Check()
	fe = append(fe, in.Profile.Check()...)
	return append(fe, CheckPassword(in.Password, in.Identity)...)
}

// Login checks an identifier (email, username or phone number) and password
// and opens a session. An unknown identifier costs the same hash work as a
// wrong password, and both return ErrInvalidCredentials. A user whose hash
// is not argon2id at the configured parameters is re-hashed.
func (s *Service) Login(ctx context.Context, identifier, pw string, c Client) (Login, error) {
	if identifier == "" || len(identifier) > 320 || len(pw) > maxPasswordBytes {
		s.hasher.VerifyDummy(ctx, pw)
		return Login{}, ErrInvalidCredentials
	}
	var u account.User
	var hash string
	err := s.db.View(ctx, func(tx *sqldb.Tx) (err error) {
		u, hash, err = account.FindForLogin(ctx, tx, identifier)
		return err
	})
	if errors.Is(err, account.ErrNotFound) || (err == nil && hash == "") {
		s.hasher.VerifyDummy(ctx, pw)
		return Login{}, ErrInvalidCredentials
	}
	if err != nil {
		return Login{}, fmt.Errorf("login: %w", err)
	}
	match, rehash, err := s.hasher.Verify(ctx, hash, pw)
	if err != nil || !match {
		return Login{}, ErrInvalidCredentials
	}
	if err := statusErr(u.Status); err != nil {
		return Login{}, err
	}
	newHash := ""
	if rehash {
		if newHash, err = s.hasher.Hash(ctx, pw); err != nil {
			return Login{}, fmt.Errorf("login: %w", err)
		}
	}
	var out Login
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if newHash != "" {
			if err := account.SetPasswordHash(ctx, tx, u.ID, newHash); err != nil {
				return err
			}
		}
		out, err = s.open(ctx, tx, u, c)
		return err
	})
	if err != nil {
		return Login{}, fmt.Errorf("login: %w", err)
	}
	return out, nil
}
