package auth

import (
	"context"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/feature/passkey"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Unlinker removes a user's links to identities at outside providers and
// says how many there were (federation.UnlinkAll: the table is
// federation's).
type Unlinker func(ctx context.Context, tx *sqldb.Tx, userID string) (int64, error)

// Reclaim gives an account whose email was never proven to whoever proves
// the address now (a provider that vouches for it, a reset link that
// reached it). Whoever made the account may have been someone else, so
// nothing of theirs may open it any more: its password, its external
// subject, sessions, passkeys, second factor and provider links go (unlink
// removes the links; nil where none can exist), and its email becomes
// verified. Its data stays. It returns what it removed, for the audit trail.
func Reclaim(ctx context.Context, tx *sqldb.Tx, userID string, unlink Unlinker) (map[string]any, error) {
	if err := account.Detach(ctx, tx, userID); err != nil {
		return nil, err
	}
	sessions, err := RevokeAll(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	passkeys, err := passkey.RemoveAll(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	if err := mfa.Remove(ctx, tx, userID); err != nil {
		return nil, err
	}
	var links int64
	if unlink != nil {
		if links, err = unlink(ctx, tx, userID); err != nil {
			return nil, err
		}
	}
	if err := account.MarkEmailVerified(ctx, tx, userID); err != nil {
		return nil, err
	}
	return map[string]any{"sessions_revoked": sessions, "passkeys_removed": passkeys, "provider_links_removed": links}, nil
}
