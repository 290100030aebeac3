package web

import (
	"context"
	"encoding/json"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/passkey"
)

type creationOutput struct {
	Body struct {
		ChallengeID string                       `json:"challenge_id" doc:"Send it back with the credential to …/finish."`
		Options     *protocol.CredentialCreation `json:"options" doc:"Give options.publicKey to navigator.credentials.create()."`
	}
}

func (s *Server) passkeyRegisterBegin(ctx context.Context, _ *struct{}) (*creationOutput, error) {
	id, opts, err := s.passkeys.BeginRegistration(ctx, userd.ActorFrom(ctx))
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
	p, err := s.passkeys.FinishRegistration(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Body.ChallengeID, in.Body.Name, in.Body.Credential)
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
	id, opts, err := s.passkeys.BeginLogin(ctx, s.client(ctx))
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
	l, err := s.passkeySignIn(ctx, in.Body.ChallengeID, in.Body.Credential, s.client(ctx))
	if err != nil {
		return nil, err
	}
	return s.loginOutput(l), nil
}

// passkeySignIn checks the assertion of a log-in ceremony and opens a
// session for the user it proves (a log-in by the method "passkey"): the
// API's log-in with a passkey and the console's.
func (s *Server) passkeySignIn(ctx context.Context, ceremony string, credential []byte, c auth.Client) (auth.Login, error) {
	userID, err := s.passkeys.FinishLogin(ctx, ceremony, credential)
	if err != nil {
		return auth.Login{}, err
	}
	return s.auth.SignIn(ctx, userID, c, "passkey")
}

type passkeysOutput struct {
	Body struct {
		Items      []Passkey `json:"items"`
		NextCursor *string   `json:"next_cursor" doc:"Always null: every passkey is on one page."`
	}
}

func (s *Server) listPasskeys(ctx context.Context, _ *struct{}) (*passkeysOutput, error) {
	list, err := s.passkeys.Mine(ctx, userd.ActorFrom(ctx))
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
	return nil, s.passkeys.Remove(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
}
