package web

import (
	"context"
	"encoding/json"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/userd/userd"
	"github.com/userd/userd/auth"
	"github.com/userd/userd/passkey"
	"github.com/userd/userd/sqldb"
)

var errNoPasskeys = userd.Errorf(userd.KindNotFound, "passkeys_disabled", "Passkeys are not configured on this server.")

type creationOutput struct {
	Body struct {
		ChallengeID string                       `json:"challenge_id" doc:"Send it back with the credential to …/finish."`
		Options     *protocol.CredentialCreation `json:"options" doc:"Give options.publicKey to navigator.credentials.create()."`
	}
}

func (s *Server) passkeyRegisterBegin(ctx context.Context, _ *struct{}) (*creationOutput, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	a := userd.ActorFrom(ctx)
	if err := s.auth.RequireRecent(a); err != nil {
		return nil, err
	}
	id, opts, err := s.passkeys.BeginRegistration(ctx, a.UserID)
	if err != nil {
		return nil, err
	}
	out := &creationOutput{}
	out.Body.ChallengeID, out.Body.Options = id, opts
	return out, nil
}

type passkeyFinishInput struct {
	Body struct {
		ChallengeID string          `json:"challenge_id"`
		Name        string          `json:"name,omitempty" doc:"A name to tell the passkey apart, such as 'Work laptop'."`
		Credential  json.RawMessage `json:"credential" doc:"The PublicKeyCredential the browser gave, as JSON."`
	}
}

// Passkey is a registered passkey.
type Passkey struct {
	ID         string     `json:"id" format:"uuid"`
	Name       string     `json:"name"`
	Transports []string   `json:"transports"`
	BackedUp   bool       `json:"backed_up" doc:"Whether the passkey is synced to other devices."`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func passkeyOf(p passkey.Passkey) Passkey {
	t := p.Transports
	if t == nil {
		t = []string{}
	}
	return Passkey{ID: p.ID, Name: p.Name, Transports: t, BackedUp: p.BackedUp, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt}
}

type passkeyOutput struct {
	Body Passkey
}

func (s *Server) passkeyRegisterFinish(ctx context.Context, in *passkeyFinishInput) (*passkeyOutput, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	a, c := userd.ActorFrom(ctx), s.client(ctx)
	if err := s.auth.RequireRecent(a); err != nil {
		return nil, err
	}
	p, err := s.passkeys.FinishRegistration(ctx, a.UserID, in.Body.ChallengeID, in.Body.Name, in.Body.Credential, func(tx *sqldb.Tx) error {
		return s.auth.Tell(ctx, tx, a.UserID, auth.NoticePasskeyAdded, c, "")
	})
	if err != nil {
		return nil, err
	}
	return &passkeyOutput{Body: passkeyOf(p)}, nil
}

type assertionOutput struct {
	Body struct {
		ChallengeID string                        `json:"challenge_id" doc:"Send it back with the credential to …/finish."`
		Options     *protocol.CredentialAssertion `json:"options" doc:"Give options.publicKey to navigator.credentials.get()."`
	}
}

func (s *Server) passkeyLoginBegin(ctx context.Context, _ *struct{}) (*assertionOutput, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	id, opts, err := s.passkeys.BeginLogin(ctx)
	if err != nil {
		return nil, err
	}
	out := &assertionOutput{}
	out.Body.ChallengeID, out.Body.Options = id, opts
	return out, nil
}

type passkeyLoginInput struct {
	Body struct {
		ChallengeID string          `json:"challenge_id"`
		Credential  json.RawMessage `json:"credential" doc:"The PublicKeyCredential the browser gave, as JSON."`
	}
}

func (s *Server) passkeyLoginFinish(ctx context.Context, in *passkeyLoginInput) (*loginOutput, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	userID, err := s.passkeys.FinishLogin(ctx, in.Body.ChallengeID, in.Body.Credential)
	if err != nil {
		return nil, err
	}
	l, err := s.auth.SignIn(ctx, userID, s.client(ctx), "passkey")
	if err != nil {
		return nil, err
	}
	return s.loginOutput(l), nil
}

type passkeysOutput struct {
	Body struct {
		Items      []Passkey `json:"items"`
		NextCursor *string   `json:"next_cursor" doc:"Always null: every passkey is on one page."`
	}
}

func (s *Server) listPasskeys(ctx context.Context, _ *struct{}) (*passkeysOutput, error) {
	var list []passkey.Passkey
	err := s.db.View(ctx, func(tx *sqldb.Tx) (err error) {
		list, err = passkey.List(ctx, tx, userd.ActorFrom(ctx).UserID)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &passkeysOutput{}
	out.Body.Items = []Passkey{}
	for _, p := range list {
		out.Body.Items = append(out.Body.Items, passkeyOf(p))
	}
	return out, nil
}

type passkeyIDInput struct {
	ID string `path:"id" doc:"The passkey's id."`
}

func (s *Server) deletePasskey(ctx context.Context, in *passkeyIDInput) (*struct{}, error) {
	id, ok := userd.ParseID(in.ID)
	if !ok {
		return nil, passkey.ErrNotFound
	}
	a := userd.ActorFrom(ctx)
	if err := s.auth.RequireRecent(a); err != nil {
		return nil, err
	}
	return nil, s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := passkey.Delete(ctx, tx, a.UserID, id); err != nil {
			return err
		}
		return s.auth.Tell(ctx, tx, a.UserID, auth.NoticePasskeyRemoved, s.client(ctx), "")
	})
}
