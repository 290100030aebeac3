package web

import (
	"context"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/vault"
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
	list, err := s.vault.Accounts(ctx, userd.ActorFrom(ctx), before, in.Limit+1)
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

// accountAnswer encodes an account, or passes on the error.
func accountAnswer(a vault.Account, err error) (*accountOutput, error) {
	if err != nil {
		return nil, err
	}
	return &accountOutput{Body: accountOf(a)}, nil
}

func (s *Server) createAccount(ctx context.Context, in *accountNameInput) (*accountOutput, error) {
	return accountAnswer(s.vault.CreateAccount(ctx, userd.ActorFrom(ctx), in.Body.AccountName))
}

type accountIDInput struct {
	ID string `path:"id" doc:"The account's id."`
}

func (s *Server) getAccount(ctx context.Context, in *accountIDInput) (*accountOutput, error) {
	return accountAnswer(s.vault.Account(ctx, userd.ActorFrom(ctx), in.ID))
}

type renameAccountInput struct {
	ID   string `path:"id" doc:"The account's id."`
	Body struct {
		AccountName string `json:"account_name" doc:"1 to 255 characters."`
	}
}

func (s *Server) renameAccount(ctx context.Context, in *renameAccountInput) (*accountOutput, error) {
	return accountAnswer(s.vault.RenameAccount(ctx, userd.ActorFrom(ctx), in.ID, in.Body.AccountName))
}

func (s *Server) deleteAccount(ctx context.Context, in *accountIDInput) (*struct{}, error) {
	return nil, s.vault.DeleteAccount(ctx, userd.ActorFrom(ctx), in.ID)
}

type credentialInput struct {
	ID   string `path:"id" doc:"The account's id."`
	Type string `path:"credential_type" doc:"Such as api_key, etp_token or thor_token."`
}

type credentialOutput struct {
	Body CredentialInfo
}

// credentialAnswer encodes a credential's metadata, or passes on the error.
func credentialAnswer(c vault.Credential, err error) (*credentialOutput, error) {
	if err != nil {
		return nil, err
	}
	return &credentialOutput{Body: credentialOf(c)}, nil
}

func (s *Server) getCredential(ctx context.Context, in *credentialInput) (*credentialOutput, error) {
	return credentialAnswer(s.vault.Credential(ctx, userd.ActorFrom(ctx), in.ID, in.Type))
}

type putCredentialInput struct {
	ID   string `path:"id" doc:"The account's id."`
	Type string `path:"credential_type" doc:"1 to 64 of a-z, 0-9, '_', '.' and '-'."`
	Body struct {
		Secret    string     `json:"secret" writeOnly:"true" doc:"Stored sealed; never shown again except by reveal."`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
	}
}

func (s *Server) putCredential(ctx context.Context, in *putCredentialInput) (*credentialOutput, error) {
	return credentialAnswer(s.vault.PutCredential(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, in.Type, in.Body.Secret, in.Body.ExpiresAt))
}

func (s *Server) deleteCredential(ctx context.Context, in *credentialInput) (*struct{}, error) {
	return nil, s.vault.DeleteCredential(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, in.Type)
}

type revealOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		CredentialInfo
		Secret string `json:"secret" doc:"The secret in clear."`
	}
}

func (s *Server) revealCredential(ctx context.Context, in *credentialInput) (*revealOutput, error) {
	cred, secret, err := s.vault.Reveal(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, in.Type)
	if err != nil {
		return nil, err
	}
	out := &revealOutput{CacheControl: "no-store"}
	out.Body.CredentialInfo, out.Body.Secret = credentialOf(cred), secret
	return out, nil
}
