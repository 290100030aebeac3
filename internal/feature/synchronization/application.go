package synchronization

import (
	"context"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// RevealPermission is what a caller needs to read a user's synchronization
// token or run it now for an application (the migrations seed it).
const RevealPermission = "synchronizations:reveal"

// Errors of the application's reads.
var (
	ErrRevealForbidden = userd.Errorf(userd.KindForbidden, "forbidden", "This needs the permission "+RevealPermission+".")
	ErrNoToken         = userd.Errorf(userd.KindNotFound, "token_not_found", "This synchronization has no token.")
)

// Token returns one of the user's synchronizations with its token in clear
// ("" when it has none). It returns ErrNotFound, and seal.ErrOpen when the
// master key cannot open the token.
func Token(ctx context.Context, tx *sqldb.Tx, ring *seal.Keyring, userID, id string) (Sync, string, error) {
	s, err := Get(ctx, tx, userID, id)
	if err != nil {
		return Sync{}, "", err
	}
	var sealed []byte
	if err := tx.QueryRow(ctx, `SELECT token FROM synchronizations WHERE user_id = $1 AND id = $2`, userID, id).Scan(&sealed); err != nil {
		return Sync{}, "", fmt.Errorf("synchronization %s token: %w", id, err)
	}
	if sealed == nil {
		return s, "", nil
	}
	plain, err := ring.Open(sealed, ad(s.ID, s.UserID))
	if err != nil {
		return Sync{}, "", fmt.Errorf("synchronization %s token: %w", s.ID, err)
	}
	return s, string(plain), nil
}

// forApp is the audit entry of something an application or administrator
// did to a user's synchronization: in the owner's trail, with the key as
// actor, or the person under byKey in the metadata.
func forApp(by userd.Actor, c userd.Client, action, byKey string, s Sync) audit.Event {
	meta := map[string]any{"service": s.Service, "account_id": s.AccountID}
	if by.UserID != "" {
		meta[byKey] = by.UserID
	}
	return audit.Event{UserID: s.UserID, APIKeyID: by.APIKeyID, ActorUserID: by.UserID, Action: action, TargetType: "synchronization", TargetID: s.ID,
		IP: c.IP, UserAgent: c.UserAgent, Metadata: meta}
}

// TokenFor returns a user's synchronization with its token in clear to an
// application (an API key) or an administrator holding RevealPermission, and
// audits it in the owner's trail. It is cross-user by design; the
// transaction is scoped to the owner's rows, not the caller's. It returns
// ErrRevealForbidden, ErrNotFound (a malformed or unknown user or
// synchronization id too) or ErrNoToken.
func (s *Service) TokenFor(ctx context.Context, by userd.Actor, c userd.Client, userID, syncID string) (sy Sync, token string, err error) {
	if !by.Grants.Has(RevealPermission) {
		return Sync{}, "", ErrRevealForbidden
	}
	owner, ok := userd.ParseID(userID)
	if !ok {
		return Sync{}, "", ErrNotFound
	}
	err = s.db.Own(ctx, owner, syncID, ErrNotFound, func(tx *sqldb.Tx, id string) (err error) {
		if sy, token, err = Token(ctx, tx, s.ring, owner, id); err != nil {
			return err
		}
		if token == "" {
			return ErrNoToken
		}
		return audit.Record(ctx, tx, forApp(by, c, audit.SynchronizationTokenRevealed, "revealed_by_user_id", sy))
	})
	return sy, token, err
}

// RunNow schedules a synchronization's "sync due" webhook now, once (its
// daily schedule stays as it is), for an application or an administrator
// holding RevealPermission, and audits it in the owner's trail. Asking
// again before it went out keeps one. The caller names the synchronization
// alone, whoever owns it: the transaction is the system's, cross-user by
// design. It returns ErrRevealForbidden or ErrNotFound.
func (s *Service) RunNow(ctx context.Context, by userd.Actor, c userd.Client, syncID string) error {
	if !by.Grants.Has(RevealPermission) {
		return ErrRevealForbidden
	}
	id, ok := userd.ParseID(syncID)
	if !ok {
		return ErrNotFound
	}
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		sy, err := sqldb.One(ctx, tx, ErrNotFound, "get synchronization", scan, `SELECT `+columns+` FROM synchronizations WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if err := jobs.Enqueue(ctx, tx, KindRun, runKey(sy.ID), jobPayload{SyncID: sy.ID, UserID: sy.UserID}, tx.Now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, forApp(by, c, audit.SynchronizationRunRequested, "requested_by_user_id", sy))
	})
}
