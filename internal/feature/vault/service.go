package vault

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service keeps the actors' credential accounts and sealed credentials.
// Each call is one transaction in the actor's own scope and applies every
// rule of the vault: names, types and secrets checked, the caps, a recent
// log-in to reveal a secret, and the audit of every change and reveal.
type Service struct {
	db     *sqldb.DB
	ring   *seal.Keyring
	recent func(userd.Actor) error
}

// NewService returns a Service that seals with ring; recent is the rule a
// reveal must pass (auth.Service.RequireRecent), which returns the error to
// answer with.
func NewService(db *sqldb.DB, ring *seal.Keyring, recent func(userd.Actor) error) *Service {
	return &Service{db: db, ring: ring, recent: recent}
}

// Accounts lists the actor's accounts, newest first, after the one with id
// before ("" for the first page).
func (s *Service) Accounts(ctx context.Context, a userd.Actor, before string, limit int) ([]Account, error) {
	var list []Account
	err := s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		list, err = Accounts(ctx, tx, a.UserID, before, limit)
		return err
	})
	return list, err
}

// CreateAccount makes a named account for the actor. It returns a
// KindInvalid error for a bad name, and ErrTooManyAccounts.
func (s *Service) CreateAccount(ctx context.Context, a userd.Actor, name string) (Account, error) {
	if err := userd.Invalid(CheckName(&name)); err != nil {
		return Account{}, err
	}
	var out Account
	err := s.db.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		out, err = CreateAccount(ctx, tx, a.UserID, name)
		return err
	})
	return out, err
}

// Account returns one of the actor's accounts. It returns
// ErrAccountNotFound.
func (s *Service) Account(ctx context.Context, a userd.Actor, accountID string) (out Account, err error) {
	err = s.db.Own(ctx, a.UserID, accountID, ErrAccountNotFound, func(tx *sqldb.Tx, id string) (err error) {
		out, err = GetAccount(ctx, tx, a.UserID, id)
		return err
	})
	return out, err
}

// RenameAccount renames one of the actor's accounts. It returns a
// KindInvalid error for a bad name, and ErrAccountNotFound.
func (s *Service) RenameAccount(ctx context.Context, a userd.Actor, accountID, name string) (out Account, err error) {
	if err := userd.Invalid(CheckName(&name)); err != nil {
		return Account{}, err
	}
	err = s.db.Own(ctx, a.UserID, accountID, ErrAccountNotFound, func(tx *sqldb.Tx, id string) (err error) {
		out, err = RenameAccount(ctx, tx, a.UserID, id, name)
		return err
	})
	return out, err
}

// DeleteAccount deletes one of the actor's accounts and its credentials. It
// returns ErrAccountNotFound.
func (s *Service) DeleteAccount(ctx context.Context, a userd.Actor, accountID string) error {
	return s.db.Own(ctx, a.UserID, accountID, ErrAccountNotFound, func(tx *sqldb.Tx, id string) error {
		return DeleteAccount(ctx, tx, a.UserID, id)
	})
}

// Credential returns the metadata of an account's credential of a type,
// never its secret. It returns ErrAccountNotFound or ErrCredentialNotFound.
func (s *Service) Credential(ctx context.Context, a userd.Actor, accountID, typ string) (out Credential, err error) {
	err = s.db.Own(ctx, a.UserID, accountID, ErrAccountNotFound, func(tx *sqldb.Tx, id string) (err error) {
		out, err = GetCredential(ctx, tx, a.UserID, id, typ)
		return err
	})
	return out, err
}

// event is the audit entry of something done to a credential.
func event(a userd.Actor, c userd.Client, action string, cred Credential, accountID string) audit.Event {
	return audit.Event{UserID: a.UserID, Action: action, TargetType: "credential", TargetID: cred.ID,
		IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"account_id": accountID, "credential_type": cred.Type}}
}

// PutCredential stores or replaces an account's credential of a type,
// sealed, and audits it. It returns a KindInvalid error for a bad type or
// secret, ErrAccountNotFound and ErrTooManyCredentials.
func (s *Service) PutCredential(ctx context.Context, a userd.Actor, c userd.Client, accountID, typ, secret string, expires *time.Time) (out Credential, err error) {
	if err := userd.Invalid(append(CheckType(typ), CheckSecret(secret)...)); err != nil {
		return Credential{}, err
	}
	err = s.db.Own(ctx, a.UserID, accountID, ErrAccountNotFound, func(tx *sqldb.Tx, id string) (err error) {
		if out, err = PutCredential(ctx, tx, s.ring, a.UserID, id, typ, secret, expires); err != nil {
			return err
		}
		return audit.Record(ctx, tx, event(a, c, audit.CredentialSaved, out, id))
	})
	return out, err
}

// DeleteCredential deletes an account's credential of a type and audits
// it. It returns ErrAccountNotFound or ErrCredentialNotFound.
func (s *Service) DeleteCredential(ctx context.Context, a userd.Actor, c userd.Client, accountID, typ string) error {
	return s.db.Own(ctx, a.UserID, accountID, ErrAccountNotFound, func(tx *sqldb.Tx, id string) error {
		cred, err := DeleteCredential(ctx, tx, a.UserID, id, typ)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, event(a, c, audit.CredentialDeleted, cred, id))
	})
}

// Reveal returns a credential with its secret in clear, for an actor who
// signed in recently, and audits it. It returns the recent rule's error,
// ErrAccountNotFound or ErrCredentialNotFound.
func (s *Service) Reveal(ctx context.Context, a userd.Actor, c userd.Client, accountID, typ string) (cred Credential, secret string, err error) {
	if err := s.recent(a); err != nil {
		return Credential{}, "", err
	}
	err = s.db.Own(ctx, a.UserID, accountID, ErrAccountNotFound, func(tx *sqldb.Tx, id string) (err error) {
		if cred, secret, err = Reveal(ctx, tx, s.ring, a.UserID, id, typ); err != nil {
			return err
		}
		return audit.Record(ctx, tx, event(a, c, audit.CredentialRevealed, cred, id))
	})
	return cred, secret, err
}

// RevealPermission is what a caller needs to read a user's secret for an
// application (the migrations seed it).
const RevealPermission = "vault:reveal"

// ErrRevealForbidden refuses RevealFor to a caller without RevealPermission.
var ErrRevealForbidden = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+RevealPermission+".")

// RevealFor returns a user's credential with its secret in clear to an
// application (an API key) or an administrator holding RevealPermission, and
// audits it in the owner's trail, so that they see who read it: the key as
// actor, or the person as revealed_by_user_id. No recent log-in is asked:
// the caller is not the owner. It is cross-user by design; the transaction
// is scoped to the owner's rows, not the caller's. It returns
// ErrRevealForbidden, ErrAccountNotFound (a malformed or unknown user or
// account id too) or ErrCredentialNotFound.
func (s *Service) RevealFor(ctx context.Context, by userd.Actor, c userd.Client, userID, accountID, typ string) (cred Credential, secret string, err error) {
	if !by.Grants.Has(RevealPermission) {
		return Credential{}, "", ErrRevealForbidden
	}
	owner, ok := userd.ParseID(userID)
	if !ok {
		return Credential{}, "", ErrAccountNotFound
	}
	err = s.db.Own(ctx, owner, accountID, ErrAccountNotFound, func(tx *sqldb.Tx, id string) (err error) {
		if cred, secret, err = Reveal(ctx, tx, s.ring, owner, id, typ); err != nil {
			return err
		}
		e := event(userd.Actor{UserID: owner}, c, audit.CredentialRevealed, cred, id)
		e.APIKeyID, e.ActorUserID = by.APIKeyID, by.UserID
		if by.UserID != "" {
			e.Metadata["revealed_by_user_id"] = by.UserID
		}
		return audit.Record(ctx, tx, e)
	})
	return cred, secret, err
}
