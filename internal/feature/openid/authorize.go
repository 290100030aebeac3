package openid

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// params are what a client asked for in an authorization request, kept in
// oauth_authorizations.request.
type params struct {
	RedirectURI   string   `json:"redirect_uri"`
	Scopes        []string `json:"scopes"`
	State         string   `json:"state,omitempty"`
	Nonce         string   `json:"nonce,omitempty"`
	ResponseType  string   `json:"response_type"`
	ResponseMode  string   `json:"response_mode,omitempty"`
	Challenge     string   `json:"code_challenge,omitempty"`
	Method        string   `json:"code_challenge_method,omitempty"`
	Prompt        []string `json:"prompt,omitempty"`
	MaxAge        *uint    `json:"max_age,omitempty"`
	LoginHint     string   `json:"login_hint,omitempty"`
	HintedSubject string   `json:"hinted_subject,omitempty"`
}

// Request is an authorization request: what the client asked for and, once
// the user signed in and consented, who they are. It is the op package's
// AuthRequest.
type Request struct {
	ID, ClientID string
	p            params
	UserID       string
	SessionID    string
	AuthTime     time.Time
	AMR          []string
	exchanged    bool
	expires      time.Time
}

// GetID returns the request's id.
func (r *Request) GetID() string { return r.ID }

// GetACR returns no authentication context class.
func (r *Request) GetACR() string { return "" }

// GetAMR returns how the user signed in (RFC 8176 values).
func (r *Request) GetAMR() []string { return r.AMR }

// GetAudience returns the client: the audience of the tokens.
func (r *Request) GetAudience() []string { return []string{r.ClientID} }

// GetAuthTime returns when the user signed in.
func (r *Request) GetAuthTime() time.Time { return r.AuthTime }

// GetClientID returns the client's id.
func (r *Request) GetClientID() string { return r.ClientID }

// GetCodeChallenge returns the PKCE challenge, nil without one.
func (r *Request) GetCodeChallenge() *oidc.CodeChallenge {
	if r.p.Challenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: r.p.Challenge, Method: oidc.CodeChallengeMethod(r.p.Method)}
}

// GetNonce returns the client's nonce.
func (r *Request) GetNonce() string { return r.p.Nonce }

// GetRedirectURI returns the redirect URI the request came with.
func (r *Request) GetRedirectURI() string { return r.p.RedirectURI }

// GetResponseType returns the response type (code).
func (r *Request) GetResponseType() oidc.ResponseType { return oidc.ResponseType(r.p.ResponseType) }

// GetResponseMode returns the response mode, "" for the default.
func (r *Request) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(r.p.ResponseMode) }

// GetScopes returns the scopes granted.
func (r *Request) GetScopes() []string { return r.p.Scopes }

// GetState returns the client's state, passed through.
func (r *Request) GetState() string { return r.p.State }

// GetSubject returns the user's id once they signed in.
func (r *Request) GetSubject() string { return r.UserID }

// Done reports whether the user signed in and consented.
func (r *Request) Done() bool { return r.UserID != "" }

// Prompt returns the request's prompt values.
func (r *Request) Prompt() []string { return r.p.Prompt }

// LoginHint returns the identifier the client suggested.
func (r *Request) LoginHint() string { return r.p.LoginHint }

const requestColumns = `id, client_id, request, user_id, session_id, auth_time, amr, exchanged_at IS NOT NULL, expires_at`

func scanRequest(row sqldb.Scanner) (*Request, error) {
	var r Request
	var raw, amr []byte
	var user, session sql.NullString
	var at sql.NullTime
	if err := row.Scan(&r.ID, &r.ClientID, &raw, &user, &session, &at, &amr, &r.exchanged, &r.expires); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &r.p); err != nil {
		return nil, fmt.Errorf("authorization request %s: %w", r.ID, err)
	}
	if amr != nil {
		if err := json.Unmarshal(amr, &r.AMR); err != nil {
			return nil, fmt.Errorf("authorization request %s: amr: %w", r.ID, err)
		}
	}
	r.UserID, r.SessionID, r.AuthTime = user.String, session.String, at.Time.UTC()
	return &r, nil
}

// errPKCE refuses a request without PKCE S256 where it is needed.
var errPKCE = oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required for this client")

// createRequest stores an authorization request that the op package
// validated (client, redirect URI, response type, scopes, prompt). userd
// adds: scopes outside the client's are dropped, PKCE is S256 or nothing,
// and a public client must use it.
func (s *Service) createRequest(ctx context.Context, ar *oidc.AuthRequest, hinted string) (*Request, error) {
	cl, err := s.client(ctx, ar.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	if (ar.CodeChallenge != "" && ar.CodeChallengeMethod != oidc.CodeChallengeMethodS256) || (cl.Public && ar.CodeChallenge == "") {
		return nil, errPKCE
	}
	scopes := slices.DeleteFunc(slices.Clone([]string(ar.Scopes)), func(sc string) bool { return !slices.Contains(cl.Scopes, sc) })
	p := params{RedirectURI: ar.RedirectURI, Scopes: scopes, State: ar.State, Nonce: ar.Nonce, ResponseType: string(ar.ResponseType),
		ResponseMode: string(ar.ResponseMode), Challenge: ar.CodeChallenge, Method: string(ar.CodeChallengeMethod), Prompt: ar.Prompt,
		MaxAge: ar.MaxAge, LoginHint: ar.LoginHint, HintedSubject: hinted}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode authorization request: %w", err)
	}
	r := &Request{ClientID: cl.ID, p: p}
	// System: the request has no user yet.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		r.ID, r.expires = userd.NewID(tx.Now), tx.Now.Add(RequestTTL)
		_, err := tx.Exec(ctx, `INSERT INTO oauth_authorizations (id, client_id, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			r.ID, r.ClientID, string(raw), tx.Now, r.expires)
		if err != nil {
			return fmt.Errorf("insert authorization request: %w", err)
		}
		return nil
	})
	return r, err
}

// requestByID reads a request.
func (s *Service) requestByID(ctx context.Context, id string) (r *Request, err error) {
	if _, ok := userd.ParseID(id); !ok {
		return nil, ErrRequestNotFound
	}
	// System: a request in flight has no user yet.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		r, err = sqldb.One(ctx, tx, ErrRequestNotFound, "read authorization request", scanRequest,
			`SELECT `+requestColumns+` FROM oauth_authorizations WHERE id = $1 AND expires_at > $2`, id, tx.Now)
		return err
	})
	return r, err
}

// Step is what an authorization request needs next from the browser.
type Step int

// The steps of an authorization request.
const (
	// StepLogin: the user must sign in (again).
	StepLogin Step = iota
	// StepConsent: the user must allow the client the scopes.
	StepConsent
	// StepDone: the request is complete; answer it with a code.
	StepDone
)

// Pending is an authorization request waiting for its browser: its client
// and the scopes it asks for.
type Pending struct {
	*Request
	Client Client
}

// Pending returns a request that waits for its user.
func (s *Service) Pending(ctx context.Context, id string) (Pending, error) {
	r, err := s.requestByID(ctx, id)
	if err == nil && (r.Done() || r.exchanged) {
		err = ErrRequestNotFound
	}
	if err != nil {
		return Pending{}, err
	}
	cl, err := s.client(ctx, r.ClientID)
	return Pending{Request: r, Client: cl}, err
}

// Errors that an authorization request answers its client with (the web
// layer redirects them to the client).
var (
	ErrLoginRequired   = oidc.ErrLoginRequired()
	ErrConsentRequired = &oidc.Error{ErrorType: "consent_required", Description: "The user has not allowed the application these scopes."}
	ErrAccessDenied    = oidc.ErrAccessDenied().WithDescription("The user did not allow the application.")
)

// Signed is the browser's user for Advance: the session's actor, and amr
// when the user has just signed in on the request's page (fresh).
type Signed struct {
	Actor userd.Actor
	Fresh bool
	AMR   []string
}

// Advance moves a request on with the browser's user: it answers the step
// the request needs (a log-in when no one is signed in, when prompt=login
// or max_age asks for a fresh one, or when id_token_hint named someone
// else; a consent when the client is not first-party and the user has not
// allowed these scopes, or prompt=consent), or completes it (StepDone).
// consent says the user allowed the scopes on the consent page: it is
// remembered. With prompt=none a needed step is ErrLoginRequired or
// ErrConsentRequired instead. It returns ErrRequestNotFound for an
// unknown, expired or answered request.
func (s *Service) Advance(ctx context.Context, id string, u Signed, consent bool, c userd.Client) (Step, Pending, error) {
	p, err := s.Pending(ctx, id)
	if err != nil {
		return 0, p, err
	}
	a := u.Actor
	none := slices.Contains(p.p.Prompt, oidc.PromptNone)
	if !u.Fresh && p.SessionID != "" && p.SessionID == a.SessionID && !p.AuthTime.IsZero() {
		// Signed in on this request's page before its consent step.
		u.Fresh, u.AMR = true, p.AMR
	}
	authTime := a.AuthTime
	switch {
	case u.Fresh && !p.AuthTime.IsZero() && p.SessionID == a.SessionID:
		authTime = p.AuthTime
	case u.Fresh:
		authTime = s.db.Now()
	}
	stale := p.p.MaxAge != nil && s.db.Now().Sub(authTime) > time.Duration(*p.p.MaxAge)*time.Second
	if a.UserID == "" || (!u.Fresh && (slices.Contains(p.p.Prompt, oidc.PromptLogin) || stale)) || (p.p.HintedSubject != "" && p.p.HintedSubject != a.UserID) {
		if none {
			return 0, p, s.refuse(ctx, p, a.UserID, ErrLoginRequired, c)
		}
		return StepLogin, p, nil
	}
	step := StepDone
	// System: the request has no user until this transaction gives it
	// one; every statement names the user.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var given []string // a first-party client asks for no consent
		if !p.Client.FirstParty || consent {
			var err error
			if given, err = consentScopes(ctx, tx, a.UserID, p.Client.ID); err != nil {
				return err
			}
		}
		switch {
		case consent:
			if err := s.giveConsent(ctx, tx, a.UserID, p.Client.ID, given, p.p.Scopes, c); err != nil {
				return err
			}
		case !consented(p.Client, given, p.p.Scopes) || (slices.Contains(p.p.Prompt, oidc.PromptConsent) && !p.Client.FirstParty):
			if none {
				return ErrConsentRequired
			}
			step = StepConsent
			if !u.Fresh {
				return nil
			}
			// Remember the fresh sign-in for the consent's answer.
			_, err := tx.Exec(ctx, `UPDATE oauth_authorizations SET session_id = $1, auth_time = $2, amr = $3 WHERE id = $4 AND user_id IS NULL`,
				a.SessionID, authTime, sqldb.JSONStrings(u.AMR), p.ID)
			if err != nil {
				return fmt.Errorf("remember sign-in: %w", err)
			}
			return nil
		}
		return s.complete(ctx, tx, p.Request, a, authTime, u.AMR, c)
	})
	if errors.Is(err, ErrConsentRequired) {
		return 0, p, s.refuse(ctx, p, a.UserID, ErrConsentRequired, c)
	}
	if err != nil {
		return 0, p, err
	}
	if step == StepDone {
		// What complete stored, without reading it back.
		p.UserID, p.SessionID, p.AuthTime, p.AMR = a.UserID, a.SessionID, authTime.UTC(), u.AMR
	}
	return step, p, nil
}

// complete records who answered the request; audited.
func (s *Service) complete(ctx context.Context, tx *sqldb.Tx, r *Request, a userd.Actor, authTime time.Time, amr []string, c userd.Client) error {
	err := tx.ExecOne(ctx, ErrRequestNotFound, `UPDATE oauth_authorizations SET user_id = $1, session_id = $2, auth_time = $3, amr = $4
		WHERE id = $5 AND user_id IS NULL AND expires_at > $6`, a.UserID, sqldb.Nullable(a.SessionID), authTime, sqldb.JSONStrings(amr), r.ID, tx.Now)
	if err != nil {
		return fmt.Errorf("complete authorization request: %w", err)
	}
	return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.OAuthAuthorized, TargetType: "oauth_client", TargetID: r.ClientID,
		IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"scopes": r.p.Scopes, "request": r.ID}})
}

// Refuse ends a request the user declined on the consent page; audited.
// It returns ErrAccessDenied, which the client is answered with.
func (s *Service) Refuse(ctx context.Context, id string, a userd.Actor, c userd.Client) (Pending, error) {
	p, err := s.Pending(ctx, id)
	if err != nil {
		return p, err
	}
	return p, s.refuse(ctx, p, a.UserID, ErrAccessDenied, c)
}

// refuse deletes a request that ends with an error to its client, audits
// it in the user's trail (if any) and returns why.
func (s *Service) refuse(ctx context.Context, p Pending, userID string, why *oidc.Error, c userd.Client) error {
	// System: the request may have no user.
	err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_authorizations WHERE id = $1`, p.ID); err != nil {
			return fmt.Errorf("delete authorization request: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.OAuthRefused, TargetType: "oauth_client", TargetID: p.Client.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"error": string(why.ErrorType), "request": p.ID}})
	})
	if err != nil {
		return err
	}
	return why
}

// saveCode keeps the SHA-256 of a request's code; the code works for
// CodeTTL.
func (s *Service) saveCode(ctx context.Context, id, code string) error {
	// System: the provider's own bookkeeping.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		err := tx.ExecOne(ctx, ErrRequestNotFound, `UPDATE oauth_authorizations SET code_hash = $1, expires_at = $2 WHERE id = $3 AND user_id IS NOT NULL AND code_hash IS NULL`,
			token.Hash(code), tx.Now.Add(CodeTTL), id)
		if err != nil {
			return fmt.Errorf("save authorization code: %w", err)
		}
		return nil
	})
}

// errCodeReplayed is the parent error of a code presented again.
var errCodeReplayed = errors.New("authorization code replayed")

// spendCode returns the request of a code and marks the code exchanged, in
// one statement, so that two exchanges of one code cannot both pass. A code
// presented again revokes the grant its exchange gave (RFC 6749 section
// 10.5) and is audited.
func (s *Service) spendCode(ctx context.Context, code string) (r *Request, err error) {
	hash := token.Hash(code)
	// System: the code is all the caller has.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		r, err = sqldb.One(ctx, tx, ErrRequestNotFound, "spend authorization code", scanRequest,
			`UPDATE oauth_authorizations SET exchanged_at = $1, expires_at = $2 WHERE code_hash = $3 AND exchanged_at IS NULL AND expires_at > $1
			RETURNING `+requestColumns, tx.Now, tx.Now.Add(KeepReplays), hash)
		if !errors.Is(err, ErrRequestNotFound) {
			return err
		}
		replayed, err := sqldb.One(ctx, tx, ErrRequestNotFound, "read replayed code", scanRequest,
			`UPDATE oauth_authorizations SET replayed_at = $1 WHERE code_hash = $2 AND exchanged_at IS NOT NULL RETURNING `+requestColumns, tx.Now, hash)
		if err != nil {
			return err
		}
		r = nil
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_grants WHERE authorization_id = $1`, replayed.ID); err != nil {
			return fmt.Errorf("revoke replayed code's grant: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{UserID: replayed.UserID, Action: audit.OAuthCodeReplayed, TargetType: "oauth_client", TargetID: replayed.ClientID,
			Metadata: map[string]any{"request": replayed.ID}})
	})
	if err == nil && r == nil {
		err = errCodeReplayed
	}
	return r, err
}
