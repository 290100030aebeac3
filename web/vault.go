package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/audit"
	"github.com/userd/userd/sqldb"
	"github.com/userd/userd/vault"
)

// CredentialAccount is a named account with its credentials' metadata.
type CredentialAccount struct {
	ID          string           `json:"id" format:"uuid"`
	AccountName string           `json:"account_name"`
	Credentials []CredentialInfo `json:"credentials"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

// CredentialInfo is a credential without its secret.
type CredentialInfo struct {
	CredentialType string     `json:"credential_type"`
	Hint           string     `json:"hint" doc:"The secret masked: •••• and at most its last 4 characters."`
	ExpiresAt      *time.Time `json:"expires_at"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func credentialOf(c vault.Credential) CredentialInfo {
	return CredentialInfo{CredentialType: c.Type, Hint: c.Hint, ExpiresAt: c.ExpiresAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func accountOf(a vault.Account) CredentialAccount {
	out := CredentialAccount{ID: a.ID, AccountName: a.Name, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Credentials: []CredentialInfo{}}
	for _, c := range a.Credentials {
		out.Credentials = append(out.Credentials, credentialOf(c))
	}
	return out
}

type accountsOutput struct {
	Body struct {
		Items      []CredentialAccount `json:"items"`
		NextCursor *string             `json:"next_cursor"`
	}
}

func (s *Server) listAccounts(ctx context.Context, in *Paging) (*accountsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	var list []vault.Account
	err = s.db.View(ctx, func(tx *sqldb.Tx) (err error) {
		list, err = vault.Accounts(ctx, tx, userd.ActorFrom(ctx).UserID, before, in.Limit+1)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &accountsOutput{}
	list, out.Body.NextCursor = pageOf(list, in.Limit, func(a vault.Account) string { return a.ID })
	out.Body.Items = []CredentialAccount{}
	for _, a := range list {
		out.Body.Items = append(out.Body.Items, accountOf(a))
	}
	return out, nil
}

type accountNameInput struct {
	Body struct {
		AccountName string `json:"account_name" doc:"1 to 255 characters."`
	}
}

type accountOutput struct {
	Body CredentialAccount
}

func (s *Server) createAccount(ctx context.Context, in *accountNameInput) (*accountOutput, error) {
	name := in.Body.AccountName
	if err := userd.Invalid(vault.CheckName(&name)); err != nil {
		return nil, err
	}
	var a vault.Account
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) (err error) {
		a, err = vault.CreateAccount(ctx, tx, userd.ActorFrom(ctx).UserID, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &accountOutput{Body: accountOf(a)}, nil
}

type accountIDInput struct {
	ID string `path:"id" doc:"The account's id."`
}

// ownAccount runs fn in a transaction with the actor's user id and a
// well-formed account id from a path.
func (s *Server) ownAccount(ctx context.Context, raw string, fn func(tx *sqldb.Tx, userID, accountID string) error) error {
	id, ok := userd.ParseID(raw)
	if !ok {
		return vault.ErrAccountNotFound
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error { return fn(tx, userd.ActorFrom(ctx).UserID, id) })
}

func (s *Server) getAccount(ctx context.Context, in *accountIDInput) (out *accountOutput, err error) {
	err = s.ownAccount(ctx, in.ID, func(tx *sqldb.Tx, userID, id string) error {
		a, err := vault.GetAccount(ctx, tx, userID, id)
		out = &accountOutput{Body: accountOf(a)}
		return err
	})
	return out, err
}

type renameAccountInput struct {
	ID   string `path:"id" doc:"The account's id."`
	Body struct {
		AccountName string `json:"account_name" doc:"1 to 255 characters."`
	}
}

func (s *Server) renameAccount(ctx context.Context, in *renameAccountInput) (out *accountOutput, err error) {
	name := in.Body.AccountName
	if err := userd.Invalid(vault.CheckName(&name)); err != nil {
		return nil, err
	}
	err = s.ownAccount(ctx, in.ID, func(tx *sqldb.Tx, userID, id string) error {
		a, err := vault.RenameAccount(ctx, tx, userID, id, name)
		out = &accountOutput{Body: accountOf(a)}
		return err
	})
	return out, err
}

func (s *Server) deleteAccount(ctx context.Context, in *accountIDInput) (*struct{}, error) {
	return nil, s.ownAccount(ctx, in.ID, func(tx *sqldb.Tx, userID, id string) error {
		return vault.DeleteAccount(ctx, tx, userID, id)
	})
}

type credentialInput struct {
	ID   string `path:"id" doc:"The account's id."`
	Type string `path:"credential_type" doc:"Such as api_key, etp_token or thor_token."`
}

type credentialOutput struct {
	Body CredentialInfo
}

func (s *Server) getCredential(ctx context.Context, in *credentialInput) (out *credentialOutput, err error) {
	err = s.ownAccount(ctx, in.ID, func(tx *sqldb.Tx, userID, id string) error {
		c, err := vault.GetCredential(ctx, tx, userID, id, in.Type)
		out = &credentialOutput{Body: credentialOf(c)}
		return err
	})
	return out, err
}

type putCredentialInput struct {
	ID   string `path:"id" doc:"The account's id."`
	Type string `path:"credential_type" doc:"1 to 64 of a-z, 0-9, '_', '.' and '-'."`
	Body struct {
		Secret    string     `json:"secret" writeOnly:"true" doc:"Stored sealed; never shown again except by reveal."`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
	}
}

func (s *Server) putCredential(ctx context.Context, in *putCredentialInput) (out *credentialOutput, err error) {
	if err := userd.Invalid(append(vault.CheckType(in.Type), vault.CheckSecret(in.Body.Secret)...)); err != nil {
		return nil, err
	}
	c := s.client(ctx)
	err = s.ownAccount(ctx, in.ID, func(tx *sqldb.Tx, userID, id string) error {
		cred, err := vault.PutCredential(ctx, tx, s.keyring, userID, id, in.Type, in.Body.Secret, in.Body.ExpiresAt)
		if err != nil {
			return err
		}
		out = &credentialOutput{Body: credentialOf(cred)}
		return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.CredentialSaved, TargetType: "credential", TargetID: cred.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"account_id": id, "credential_type": in.Type}})
	})
	return out, err
}

func (s *Server) deleteCredential(ctx context.Context, in *credentialInput) (*struct{}, error) {
	c := s.client(ctx)
	return nil, s.ownAccount(ctx, in.ID, func(tx *sqldb.Tx, userID, id string) error {
		cred, err := vault.DeleteCredential(ctx, tx, userID, id, in.Type)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.CredentialDeleted, TargetType: "credential", TargetID: cred.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"account_id": id, "credential_type": in.Type}})
	})
}

type revealOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		CredentialInfo
		Secret string `json:"secret" doc:"The secret in clear."`
	}
}

func (s *Server) revealCredential(ctx context.Context, in *credentialInput) (out *revealOutput, err error) {
	a := userd.ActorFrom(ctx)
	if err := s.auth.RequireRecent(a); err != nil {
		return nil, err
	}
	c := s.client(ctx)
	err = s.ownAccount(ctx, in.ID, func(tx *sqldb.Tx, userID, id string) error {
		cred, secret, err := vault.Reveal(ctx, tx, s.keyring, userID, id, in.Type)
		if err != nil {
			return err
		}
		out = &revealOutput{CacheControl: "no-store"}
		out.Body.CredentialInfo, out.Body.Secret = credentialOf(cred), secret
		return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.CredentialRevealed, TargetType: "credential", TargetID: cred.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"account_id": id, "credential_type": in.Type}})
	})
	return out, err
}
