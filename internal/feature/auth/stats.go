package auth

import (
	"context"
	"fmt"

	"github.com/userd/userd/internal/platform/sqldb"
)

// LiveSessions returns how many sessions are live now (not expired, used
// within the idle limit), in the caller's transaction (across users: a
// system one).
func (s *Service) LiveSessions(ctx context.Context, tx *sqldb.Tx) (n int, err error) {
	err = tx.QueryRow(ctx, `SELECT COUNT(*) FROM sessions s WHERE s.created_at <= $1 AND `+validSession,
		tx.Now, tx.Now, tx.Now.Add(-s.cfg.SessionIdle)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}
