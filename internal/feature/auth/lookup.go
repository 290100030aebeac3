package auth

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Cold authentications share reads: a storm of first requests (a page of
// many signed-in clients, a vote storm) costs one read-only transaction and
// one statement a batch of up to maxLookups, lookupsAtOnce of them at a
// time, instead of a transaction each. Alone, a lookup reads at once.
const (
	maxLookups    = 64
	lookupsAtOnce = 2
)

// lookup is what Authenticate reads when it does not remember a credential:
// the session, by its token's hash or (for an access token) by its id, with
// its user and their grants.
type lookup struct {
	hash []byte // the session token's hash; nil when id names the session
	id   string

	found bool
	e     cached
	org   sql.NullString // the session's active organisation
	now   time.Time      // the read's time
}

// readSessions reads the live sessions of ls, in one transaction and a
// statement for the tokens' hashes and one for the sessions' ids. A lookup
// whose session is gone, expired or idle is left not found.
func (s *Service) readSessions(ctx context.Context, ls []*lookup) error {
	// The batch is every caller's: the leader's going away does not end it.
	ctx = context.WithoutCancel(ctx)
	byHash := map[string][]*lookup{}
	byID := map[string][]*lookup{}
	var hashes [][]byte
	var ids []string
	for _, l := range ls {
		if l.hash != nil {
			if byHash[string(l.hash)] == nil {
				hashes = append(hashes, l.hash)
			}
			byHash[string(l.hash)] = append(byHash[string(l.hash)], l)
		} else {
			if byID[l.id] == nil {
				ids = append(ids, l.id)
			}
			byID[l.id] = append(byID[l.id], l)
		}
	}
	// System: a credential finds its session before its user is known.
	err := s.DB.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		type by struct {
			cond string
			args []any
			of   func(hash []byte, id string) []*lookup
		}
		var bys []by
		if len(hashes) > 0 {
			cond, args := sqldb.In(tx, "s.token_hash", 3, hashes)
			bys = append(bys, by{cond, args, func(hash []byte, _ string) []*lookup { return byHash[string(hash)] }})
		}
		if len(ids) > 0 {
			cond, args := sqldb.In(tx, "s.id", 3, ids)
			bys = append(bys, by{cond, args, func(_ []byte, id string) []*lookup { return byID[id] }})
		}
		for _, b := range bys {
			found, err := s.sessionsWhere(ctx, tx, b.cond, b.args)
			if err != nil {
				return err
			}
			for _, f := range found {
				for _, l := range b.of(f.hash, f.e.Actor.SessionID) {
					l.found, l.e, l.org = true, f.e, f.org
				}
			}
		}
		for _, l := range ls {
			l.now = tx.Now
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read sessions: %w", err)
	}
	return nil
}

// sessionRow is a session that sessionsWhere found.
type sessionRow struct {
	hash []byte
	e    cached
	org  sql.NullString
}

// sessionsWhere returns the live sessions that meet cond (whose
// parameters start at $3, bound to args; see sqldb.In), each with its user
// and grants (those of its user's roles and of its active organisation's
// plans).
func (s *Service) sessionsWhere(ctx context.Context, tx *sqldb.Tx, cond string, args []any) ([]sessionRow, error) {
	var out []sessionRow
	var scans []rbac.GrantScan
	var r sessionRow
	var gs rbac.GrantScan
	a := &r.e.Actor
	err := account.EachVia(ctx, tx, `SELECT s.token_hash AS session_token_hash, s.id AS session_id, s.user_id,
			s.created_at AS session_created_at, s.last_seen_at, s.expires_at, s.active_organization_id,
			`+rbac.GrantColumn("s.user_id", billing.MemberRoles("s"))+`
		FROM sessions s WHERE s.expires_at > $1 AND s.last_seen_at > $2 AND `+cond,
		append([]any{&r.hash, &a.SessionID, &a.UserID, &a.AuthTime, &r.e.lastSeen, &r.e.expires, &r.org}, gs.Dest()...),
		func(u account.User) error {
			r.e.User = u
			out, scans = append(out, r), append(scans, gs)
			r = sessionRow{}
			return nil
		}, append([]any{tx.Now, tx.Now.Add(-s.cfg.SessionIdle)}, args...)...)
	if err != nil {
		return nil, err
	}
	roles, err := s.roles(ctx, tx, scans...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].e.Actor.Grants = scans[i].Grants(roles)
	}
	return out, nil
}
