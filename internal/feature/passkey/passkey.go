// Package passkey owns authenticators (seed 001) and webauthn_challenges:
// WebAuthn registration for a signed-in user and log-in without a password,
// through github.com/go-webauthn/webauthn.
package passkey

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/ratelimit"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// Errors that Service's methods return.
var (
	ErrChallenge = userd.Errorf(userd.KindUnauthenticated, "invalid_challenge", "This passkey ceremony is not valid any more. Start again.")
	ErrRefused   = userd.Errorf(userd.KindUnauthenticated, "passkey_refused", "The passkey did not prove who you are.")
	ErrNotFound  = userd.Errorf(userd.KindNotFound, "passkey_not_found", "No such passkey.")
	ErrMalformed = userd.Errorf(userd.KindMalformed, "invalid_credential", "The credential is not a WebAuthn response.")
)

const (
	challengeTTL = 5 * time.Minute
	// ChallengePrefix starts a ceremony's id.
	ChallengePrefix = "udw_"
)

// Passkey is a registered authenticator.
type Passkey struct {
	ID         string
	Name       string
	Transports []string
	BackedUp   bool
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// Service runs the ceremonies and keeps the users' passkeys.
type Service struct {
	db      *sqldb.DB
	wa      *webauthn.WebAuthn
	guard   Guard
	limiter *ratelimit.Limiter // counts BeginLogin per address (LoginsPerIP); nil counts nothing
}

// LoginsPerIP bounds the passwordless log-ins that one address may begin:
// each stores a ceremony until it is used or expires, and no one is known
// yet to hold to account. As many as password log-in attempts.
var LoginsPerIP = ratelimit.Rule{Max: 100, Window: 15 * time.Minute}

// Guard is what a change to a user's passkeys answers to (auth.Service is
// one): the actor's recent log-in, since a passkey added by a stolen
// session would outlive the owner's password reset, and the owner's notice.
type Guard interface {
	RequireRecent(a userd.Actor) error
	Tell(ctx context.Context, tx *sqldb.Tx, userID string, n notify.Notice, c userd.Client, oldEmail string) error
}

// ErrDisabled is what a ceremony returns on a server without a relying
// party (see New).
var ErrDisabled = userd.Errorf(userd.KindNotFound, "passkeys_disabled", "Passkeys are not configured on this server.")

// Enabled reports whether the Service has a relying party, so that its
// ceremonies can run.
func (s *Service) Enabled() bool { return s.wa != nil }

// ceremonies returns ErrDisabled unless the Service has a relying party.
func (s *Service) ceremonies() error {
	if !s.Enabled() {
		return ErrDisabled
	}
	return nil
}

// The notices of changes to a user's passkeys.
var (
	NoticeAdded = notify.Notice{Type: "security.passkey_added", Title: "A passkey was added",
		Text: "A new passkey can now sign in to your account. If this was not you, reset your password now and remove the passkey."}
	NoticeRemoved = notify.Notice{Type: "security.passkey_removed", Title: "A passkey was removed",
		Text: "A passkey can no longer sign in to your account. If this was not you, reset your password now."}
)

// New returns a Service for a relying party: rpID is the domain (such as
// example.com or localhost), origins the pages' origins; guard checks and
// tells of every change to a user's passkeys.
func New(db *sqldb.DB, rpID string, origins []string, guard Guard, limiter *ratelimit.Limiter) (*Service, error) {
	if rpID == "" { // no relying party: the passkeys that exist can be listed and removed
		return &Service{db: db, guard: guard, limiter: limiter}, nil
	}
	wa, err := webauthn.New(&webauthn.Config{RPID: rpID, RPDisplayName: "userd", RPOrigins: origins,
		AuthenticatorSelection: protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationPreferred}})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return &Service{db: db, wa: wa, guard: guard, limiter: limiter}, nil
}

// user adapts a userd user and their credentials to webauthn.User.
type user struct {
	id    []byte
	name  string
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.id }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func handle(userID string) []byte {
	b, _ := hex.DecodeString(strings.ReplaceAll(userID, "-", ""))
	return b
}

func userOf(handleBytes []byte) string {
	h := hex.EncodeToString(handleBytes)
	if len(h) != 32 {
		return ""
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func load(ctx context.Context, tx *sqldb.Tx, userID string) (*user, error) {
	u, err := account.Get(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	name := u.ID
	for _, p := range []*string{u.Email, u.Username, u.PhoneNumber} {
		if p != nil {
			name = *p
			break
		}
	}
	creds, err := sqldb.All(ctx, tx, func(row sqldb.Scanner) (webauthn.Credential, error) {
		var c webauthn.Credential
		var transports string
		var device string
		err := row.Scan(&c.ID, &c.PublicKey, &c.Authenticator.SignCount, &device, &c.Flags.BackupState, &transports, &c.Authenticator.AAGUID)
		c.Flags.BackupEligible = device == "multiDevice"
		for _, t := range strings.Split(transports, ",") {
			if t != "" {
				c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
			}
		}
		return c, err
	}, `SELECT credential_id, credential_public_key, counter, credential_device_type, credential_backed_up, transports, aaguid
		FROM authenticators WHERE user_id = $1`, userID)
	if err != nil {
		return nil, err
	}
	return &user{id: handle(userID), name: name, creds: creds}, nil
}

// save stores a ceremony's session data and returns its id.
func save(ctx context.Context, tx *sqldb.Tx, userID, kind string, sd *webauthn.SessionData) (string, error) {
	b, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	tok, hash := token.New(ChallengePrefix)
	_, err = tx.Exec(ctx, `INSERT INTO webauthn_challenges (token_hash, user_id, kind, session, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, sqldb.Nullable(userID), kind, string(b), tx.Now.Add(challengeTTL), tx.Now)
	return tok, err
}

// take uses a ceremony's session data once.
func take(ctx context.Context, tx *sqldb.Tx, id, kind string) (webauthn.SessionData, string, error) {
	var sd webauthn.SessionData
	hash, ok := token.Parse(ChallengePrefix, id)
	if !ok {
		return sd, "", ErrChallenge
	}
	var raw []byte
	var userID sql.NullString
	err := tx.QueryRow(ctx, `DELETE FROM webauthn_challenges WHERE token_hash = $1 AND kind = $2 AND expires_at > $3 RETURNING session, user_id`,
		hash, kind, tx.Now).Scan(&raw, &userID)
	if errors.Is(err, sql.ErrNoRows) {
		return sd, "", ErrChallenge
	}
	if err != nil {
		return sd, "", err
	}
	return sd, userID.String, json.Unmarshal(raw, &sd)
}

// BeginRegistration starts registering a passkey for the actor and returns
// the ceremony's id and the options for navigator.credentials.create. It
// returns the guard's error unless the actor signed in recently.
func (s *Service) BeginRegistration(ctx context.Context, a userd.Actor) (string, *protocol.CredentialCreation, error) {
	if err := s.ceremonies(); err != nil {
		return "", nil, err
	}
	if err := s.guard.RequireRecent(a); err != nil {
		return "", nil, err
	}
	userID := a.UserID
	var id string
	var opts *protocol.CredentialCreation
	err := s.db.Tx(sqldb.AsUser(ctx, userID), func(tx *sqldb.Tx) error {
		u, err := load(ctx, tx, userID)
		if err != nil {
			return err
		}
		var exclude []protocol.CredentialDescriptor
		for _, c := range u.creds {
			exclude = append(exclude, c.Descriptor())
		}
		var sd *webauthn.SessionData
		if opts, sd, err = s.wa.BeginRegistration(u, webauthn.WithExclusions(exclude)); err != nil {
			return fmt.Errorf("begin registration: %w", err)
		}
		id, err = save(ctx, tx, userID, "register", sd)
		return err
	})
	return id, opts, err
}

// FinishRegistration checks the browser's answer, stores the passkey and
// tells the owner. It returns the guard's error unless the actor signed in
// recently, and ErrChallenge, ErrMalformed or ErrRefused.
func (s *Service) FinishRegistration(ctx context.Context, a userd.Actor, c userd.Client, ceremony, name string, response []byte) (Passkey, error) {
	if err := s.ceremonies(); err != nil {
		return Passkey{}, err
	}
	if err := s.guard.RequireRecent(a); err != nil {
		return Passkey{}, err
	}
	userID := a.UserID
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Passkey{}, ErrMalformed
	}
	var p Passkey
	err = s.db.Tx(sqldb.AsUser(ctx, userID), func(tx *sqldb.Tx) error {
		sd, owner, err := take(ctx, tx, ceremony, "register")
		if err != nil {
			return err
		}
		if owner != userID {
			return ErrChallenge
		}
		u, err := load(ctx, tx, userID)
		if err != nil {
			return err
		}
		cred, err := s.wa.CreateCredential(u, sd, parsed)
		if err != nil {
			return ErrRefused
		}
		var transports []string
		for _, t := range cred.Transport {
			transports = append(transports, string(t))
		}
		device := "singleDevice"
		if cred.Flags.BackupEligible {
			device = "multiDevice"
		}
		if name = strings.TrimSpace(name); name == "" || len(name) > 100 {
			name = "Passkey"
		}
		p = Passkey{ID: userd.NewID(tx.Now), Name: name, Transports: transports, BackedUp: cred.Flags.BackupState, CreatedAt: tx.Now}
		_, err = tx.Exec(ctx, `INSERT INTO authenticators (id, user_id, credential_id, credential_public_key, counter, credential_device_type,
				credential_backed_up, transports, aaguid, name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			p.ID, userID, cred.ID, cred.PublicKey, int64(cred.Authenticator.SignCount), device, cred.Flags.BackupState,
			strings.Join(transports, ","), cred.Authenticator.AAGUID, name, tx.Now)
		if sqldb.ViolatedKind(err) != nil {
			return ErrRefused // the credential is registered already
		}
		if err != nil {
			return err
		}
		if err := s.guard.Tell(ctx, tx, userID, NoticeAdded, c, ""); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: userID, Action: audit.PasskeyRegistered, TargetType: "passkey", TargetID: p.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"name": name}})
	})
	return p, err
}

// BeginLogin starts a log-in without a user name (a discoverable
// credential) from client c and returns the ceremony's id and the options
// for navigator.credentials.get. Past LoginsPerIP from c's address it
// returns the limiter's refusal and stores nothing.
func (s *Service) BeginLogin(ctx context.Context, c userd.Client) (string, *protocol.CredentialAssertion, error) {
	if err := s.ceremonies(); err != nil {
		return "", nil, err
	}
	opts, sd, err := s.wa.BeginDiscoverableLogin()
	if err != nil {
		return "", nil, fmt.Errorf("begin login: %w", err)
	}
	var id string
	// System: no user is known yet.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		if err := s.limiter.HitIn(ctx, tx, "passkey-login:"+c.IP, LoginsPerIP); err != nil {
			return err
		}
		id, err = save(ctx, tx, "", "login", sd)
		return err
	})
	return id, opts, err
}

// FinishLogin checks an assertion and returns the user it proves. It
// refuses an assertion whose credential is not the user's the authenticator
// names, or whose sign count went backwards (a cloned authenticator). It
// returns ErrChallenge, ErrMalformed or ErrRefused.
func (s *Service) FinishLogin(ctx context.Context, ceremony string, response []byte) (string, error) {
	if err := s.ceremonies(); err != nil {
		return "", err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return "", ErrMalformed
	}
	var userID string
	// System: the credential names the user.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		sd, _, err := take(ctx, tx, ceremony, "login")
		if err != nil {
			return err
		}
		var owner string
		err = tx.QueryRow(ctx, `SELECT user_id FROM authenticators WHERE credential_id = $1`, parsed.RawID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) || owner != userOf(parsed.Response.UserHandle) {
			return ErrRefused
		}
		if err != nil {
			return err
		}
		u, err := load(ctx, tx, owner)
		if err != nil {
			return err
		}
		cred, err := s.wa.ValidateDiscoverableLogin(func(raw, handle []byte) (webauthn.User, error) { return u, nil }, sd, parsed)
		if err != nil || cred.Authenticator.CloneWarning {
			return ErrRefused
		}
		_, err = tx.Exec(ctx, `UPDATE authenticators SET counter = $1, last_used_at = $2, credential_backed_up = $3 WHERE user_id = $4 AND credential_id = $5`,
			int64(cred.Authenticator.SignCount), tx.Now, cred.Flags.BackupState, owner, cred.ID)
		userID = owner
		return err
	})
	if errors.Is(err, ErrRefused) || errors.Is(err, ErrChallenge) {
		return "", err
	}
	return userID, err
}

// List returns the user's passkeys, newest first.
func List(ctx context.Context, tx *sqldb.Tx, userID string) ([]Passkey, error) {
	return sqldb.All(ctx, tx, func(row sqldb.Scanner) (Passkey, error) {
		var p Passkey
		var transports string
		var last sql.NullTime
		err := row.Scan(&p.ID, &p.Name, &transports, &p.BackedUp, &p.CreatedAt, &last)
		if transports != "" {
			p.Transports = strings.Split(transports, ",")
		}
		p.CreatedAt = p.CreatedAt.UTC()
		p.LastUsedAt = sqldb.TimeOf(last)
		return p, err
	}, `SELECT id, name, transports, credential_backed_up, created_at, last_used_at FROM authenticators WHERE user_id = $1 ORDER BY id DESC`, userID)
}

// Mine returns the actor's passkeys, newest first.
func (s *Service) Mine(ctx context.Context, a userd.Actor) ([]Passkey, error) {
	var list []Passkey
	err := s.db.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) (err error) {
		list, err = List(ctx, tx, a.UserID)
		return err
	})
	return list, err
}

// Remove deletes one of the actor's passkeys, audits it and tells the
// owner. It returns the guard's error unless the actor signed in recently,
// and ErrNotFound.
func (s *Service) Remove(ctx context.Context, a userd.Actor, c userd.Client, passkeyID string) error {
	if err := s.guard.RequireRecent(a); err != nil {
		return err
	}
	return s.db.Own(ctx, a.UserID, passkeyID, ErrNotFound, func(tx *sqldb.Tx, id string) error {
		if err := tx.ExecOne(ctx, ErrNotFound, `DELETE FROM authenticators WHERE user_id = $1 AND id = $2`, a.UserID, id); err != nil {
			return err
		}
		if err := s.guard.Tell(ctx, tx, a.UserID, NoticeRemoved, c, ""); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: audit.PasskeyDeleted, TargetType: "passkey", TargetID: id,
			IP: c.IP, UserAgent: c.UserAgent})
	})
}

// RemoveAll deletes every passkey of a user and returns how many: for an
// account whose control passes to someone else.
func RemoveAll(ctx context.Context, tx *sqldb.Tx, userID string) (int64, error) {
	res, err := tx.Exec(ctx, `DELETE FROM authenticators WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("remove passkeys: %w", err)
	}
	return res.RowsAffected()
}

// Expire deletes WebAuthn ceremonies past their expiry.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	return sqldb.DeleteWhere(ctx, tx, `DELETE FROM webauthn_challenges WHERE expires_at < $1`, now)
}
