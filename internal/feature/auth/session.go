package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/apikey"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/openid"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// lastSeenEvery is how stale a session's last_seen_at may grow before a
// request refreshes it: one write a minute per session, not one per request.
const lastSeenEvery = time.Minute

// signer is the key that signs access tokens, fetched before a transaction
// opens (the key store may have to write a new key).
type signer struct {
	kid string
	key ed25519.PrivateKey
}

func (s *Service) signer(ctx context.Context) (signer, error) {
	kid, key, err := s.Keys.Signer(ctx)
	if err != nil {
		return signer{}, err
	}
	return signer{kid, key}, nil
}

// accessToken signs an access token for a session, with the user's grants
// as they are now (read in the transaction that issues it, with the roles
// of the session's active organisation's plans: billing.MemberRoles): roles,
// permissions and admin are for other services, which verify the token with
// the JWKS alone; userd's own routes read the grants from the database (see
// Authenticate), so that a role taken away stops at once there, and
// elsewhere when the token expires. g are the grants as the user's roles
// carry them (rbac.GrantScan.Carried): an administrator's permissions are
// not every key there is, which anyone who may define permissions could
// make too many for a token, and admin says that they pass every check.
// org are the claims of the session's active organisation
// (organization.ClaimColumns), none for a new session.
func (s *Service) accessToken(sg signer, userID, sessionID string, g userd.Grants, org organization.Claims, now time.Time) (string, error) {
	return token.SignAccess(token.Access{
		Issuer: s.cfg.PublicURL, Audience: s.cfg.PublicURL, Subject: userID, SessionID: sessionID,
		ID: userd.NewID(now), IssuedAt: now, Expires: now.Add(s.cfg.AccessTTL),
		Roles: g.Roles, Permissions: g.Permissions, Admin: g.Admin,
		OrgID: org.ID, OrgRole: org.Role, OrgSlug: org.Slug,
	}, sg.kid, sg.key)
}

// open inserts a session for u with its first refresh token and returns the
// log-in with its tokens.
func (s *Service) open(ctx context.Context, tx *sqldb.Tx, sg signer, u account.User, c Client) (Login, error) {
	tok, hash := token.New(token.SessionPrefix)
	sess := Session{
		ID: userd.NewID(tx.Now), UserID: u.ID, UserAgent: truncate(c.UserAgent, 512), IP: c.IP,
		CreatedAt: tx.Now, LastSeenAt: tx.Now, ExpiresAt: tx.Now.Add(s.cfg.SessionLifetime),
	}
	// The insert returns the ids of the user's roles, for the access token,
	// without another round trip; what they grant is in the process's
	// memory (see roles), and an administrator's token does not list every
	// permission (see accessToken).
	var gs rbac.GrantScan
	err := tx.QueryRow(ctx, `INSERT INTO sessions (id, user_id, token_hash, user_agent, ip, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING `+rbac.GrantColumn("$2"),
		sess.ID, sess.UserID, hash, sess.UserAgent, sess.IP, sess.CreatedAt, sess.ExpiresAt).Scan(gs.Dest()...)
	if err != nil {
		return Login{}, fmt.Errorf("insert session: %w", err)
	}
	roles, err := s.roles(ctx, tx, gs)
	if err != nil {
		return Login{}, err
	}
	grants := gs.Carried(roles)
	if err := s.evictOldest(ctx, tx, u.ID); err != nil {
		return Login{}, err
	}
	refresh, err := s.insertRefresh(ctx, tx, sess.ID, u.ID, "", token.New)
	if err != nil {
		return Login{}, err
	}
	access, err := s.accessToken(sg, u.ID, sess.ID, grants, organization.Claims{}, tx.Now)
	if err != nil {
		return Login{}, err
	}
	return Login{User: u, Session: sess, Tokens: Tokens{SessionToken: tok, AccessToken: access, RefreshToken: refresh, ExpiresIn: s.cfg.AccessTTL}}, nil
}

// SetActiveOrganization makes the organisation with id orgID the actor's
// session's active one ("" for none): the access tokens that the session's
// refresh tokens issue from then on carry its claims while the user is a
// member of it, and the session's requests hold the roles of its plans
// (billing.MemberRoles) from the answer on. It returns the claims,
// organization.ErrNotFound when the user is not a member, and
// ErrUnauthenticated for an actor without a session.
func (s *Service) SetActiveOrganization(ctx context.Context, a userd.Actor, orgID string) (c organization.Claims, err error) {
	if a.SessionID == "" {
		return c, ErrUnauthenticated
	}
	var active any
	if orgID != "" {
		id, ok := userd.ParseID(orgID)
		if !ok {
			return c, organization.ErrNotFound
		}
		active = id
	}
	err = s.DB.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		if active != nil {
			if _, err := organization.RoleOf(ctx, tx, active.(string), a.UserID); err != nil {
				return err
			}
		}
		if err := tx.ExecOne(ctx, ErrUnauthenticated, `UPDATE sessions SET active_organization_id = $1 WHERE id = $2 AND user_id = $3`,
			active, a.SessionID, a.UserID); err != nil {
			return err
		}
		tx.Invalidate(userd.SessionKey(a.SessionID)) // its grants follow the organisation's plans
		var oc organization.ClaimScan
		if err := tx.QueryRow(ctx, `SELECT `+organization.ClaimColumns("s")+` FROM sessions s WHERE s.id = $1`, a.SessionID).Scan(oc.Dest()...); err != nil {
			return fmt.Errorf("read organization claims: %w", err)
		}
		c = oc.Claims()
		return nil
	})
	return c, err
}

// MaxSessions is how many live sessions a user may have: a new one beyond
// it ends their least recently opened one.
const MaxSessions = 100

// evictOldest deletes a user's dead sessions (past their life or idle
// cut-off) and ends their live ones beyond the newest MaxSessions.
func (s *Service) evictOldest(ctx context.Context, tx *sqldb.Tx, userID string) error {
	res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id NOT IN
		(SELECT s.id FROM sessions s WHERE s.user_id = $1 AND `+validSession+` ORDER BY s.id DESC LIMIT $4)`,
		userID, tx.Now, tx.Now.Add(-s.cfg.SessionIdle), MaxSessions)
	if err != nil {
		return fmt.Errorf("evict sessions: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		tx.Invalidate(userd.UserKey(userID))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// validSession is the condition a live session meets at $2 (now) with idle
// cut-off $3.
const validSession = `s.expires_at > $2 AND s.last_seen_at > $3`

// Caller is who a request comes from: the actor and their user.
type Caller struct {
	Actor userd.Actor
	User  account.User
}

// DefaultCachedCallers is how many signed-in callers Authenticate keeps in
// memory unless configured otherwise: about 1 KiB each.
const DefaultCachedCallers = 10_000

// recheckAfter is how long Authenticate trusts what it read before it reads
// again: the bound on how late it sees a change that no invalidation
// announced (another process writing to the same SQLite file, such as
// `userd users delete`; a hand-written UPDATE).
const recheckAfter = 5 * time.Second

// cached is what Authenticate remembers of a credential that passed, tagged
// with its user's and its session's keys.
type cached struct {
	Caller
	expires  time.Time
	lastSeen time.Time
}

// Authenticate returns the caller that a session token, an access JWT or an
// API key (see authenticateKey) stands for. A JWT counts only while its session lives, so that log-out and
// suspension take effect at once. It returns ErrUnauthenticated for a
// malformed, unknown, expired or revoked credential, and ErrSuspended or
// ErrBanned when the user may not act.
//
// A session's grants are its user's roles and those that its active
// organisation's plans give its members (billing.MemberRoles).
//
// What it read is remembered until a change to the session, the user,
// their roles or what the session's active organisation gives
// (userd.OrgKey) invalidates it, in this process at the change's commit
// and in others when the database's notification arrives.
func (s *Service) Authenticate(ctx context.Context, cred string) (Caller, error) {
	var hash []byte // the session token's, or
	var id string   // the session's, from an access token
	var ckey string
	if h, ok := token.Parse(apikey.Prefix, cred); ok {
		return s.authenticateKey(ctx, h)
	}
	if h, ok := token.Parse(token.SessionPrefix, cred); ok {
		hash, ckey = h, "t:"+string(h)
	} else if token.LooksLikeJWT(cred) {
		claims, err := s.verifyAccess(ctx, cred)
		if err != nil && s.External != nil {
			return s.authenticateExternal(ctx, cred)
		}
		if err != nil {
			return Caller{}, ErrUnauthenticated
		}
		sid, ok := userd.ParseID(claims.SessionID)
		if !ok {
			return Caller{}, ErrUnauthenticated
		}
		id, ckey = sid, "j:"+sid
	} else {
		return Caller{}, ErrUnauthenticated
	}
	now := s.DB.Now()
	if e, ok := s.callers.Get(ckey); ok && now.Before(e.expires) && e.lastSeen.After(now.Add(-s.cfg.SessionIdle)) {
		if err := statusErr(e.User.Status); err != nil {
			return Caller{}, err
		}
		return e.Caller, nil
	}
	gen := s.callers.Generation()
	l := &lookup{hash: hash, id: id}
	if err := s.lookups.Add(l, func(ls []*lookup) error { return s.readSessions(ctx, ls) }); err != nil {
		return Caller{}, fmt.Errorf("authenticate: %w", err)
	}
	if !l.found {
		return Caller{}, ErrUnauthenticated
	}
	e, org, now := l.e, l.org, l.now
	if err := statusErr(e.User.Status); err != nil {
		return Caller{}, err
	}
	if now.Sub(e.lastSeen) >= lastSeenEvery {
		if err := s.touch(ctx, e.Actor); err != nil {
			return Caller{}, err
		}
		e.lastSeen = now
	}
	tags := []string{userd.UserKey(e.Actor.UserID), userd.SessionKey(e.Actor.SessionID)}
	if org.Valid {
		tags = append(tags, userd.OrgKey(org.String))
	}
	s.callers.Put(ckey, e, now, gen, tags...)
	return e.Caller, nil
}

// touch records that the actor's session is in use now.
func (s *Service) touch(ctx context.Context, a userd.Actor) error {
	err := s.DB.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, tx.Now, a.SessionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// verifiedTokens is how many verified access tokens verifyAccess remembers.
const verifiedTokens = 8192

// verifyAccess checks an access token of userd's own and returns what it
// says but its grants. A token that passed is remembered, by the SHA-256 of
// its exact bytes, until it expires (with the same minute of leeway), so
// that a client's every request does not pay for the signature again;
// tokens that fail are never remembered, so only tokens signed by userd
// take room.
func (s *Service) verifyAccess(ctx context.Context, raw string) (token.Access, error) {
	sum := sha256.Sum256([]byte(raw))
	now := s.DB.Now()
	if a, ok := s.verified.Get(sum); ok {
		if now.Before(a.Expires.Add(time.Minute)) {
			s.tally.verifiedHits.Add(1)
			return a, nil
		}
		s.verified.Remove(sum)
	}
	s.tally.verifiedMisses.Add(1)
	a, err := token.VerifyAccess(raw, s.cfg.PublicURL, s.cfg.PublicURL, now, func(kid string) (ed25519.PublicKey, bool) {
		return s.Keys.PublicKey(ctx, kid)
	})
	if err != nil {
		return token.Access{}, err
	}
	// userd's own routes take the caller's grants from the database, not
	// from the token's claims (see accessToken): they are not remembered.
	a.Roles, a.Permissions, a.Admin = nil, nil, false
	s.verified.Add(sum, a)
	return a, nil
}

// AccessExpiry returns when an access token of userd's own expires: its
// exp, without the minute of leeway that Authenticate allows. It is false
// for a session token and for an outside provider's token. It reads what
// Authenticate verified and remembered.
func (s *Service) AccessExpiry(ctx context.Context, cred string) (time.Time, bool) {
	if !token.LooksLikeJWT(cred) {
		return time.Time{}, false
	}
	a, err := s.verifyAccess(ctx, cred)
	return a.Expires, err == nil
}

// statusErr returns the error that keeps a user of the given status out.
func statusErr(st account.Status) error {
	switch st {
	case account.StatusActive:
		return nil
	case account.StatusSuspended:
		return ErrSuspended
	}
	return ErrBanned
}

// Logout ends the actor's session at once, with its refresh tokens.
func (s *Service) Logout(ctx context.Context, a userd.Actor, c Client) error {
	return s.revoke(ctx, a, a.SessionID, audit.Logout, c)
}

// RevokeSession ends one of the actor's sessions. It returns
// ErrSessionNotFound when the session is not theirs or does not exist.
func (s *Service) RevokeSession(ctx context.Context, a userd.Actor, sessionID string, c Client) error {
	id, ok := userd.ParseID(sessionID)
	if !ok {
		return ErrSessionNotFound
	}
	return s.revoke(ctx, a, id, audit.SessionRevoked, c)
}

func (s *Service) revoke(ctx context.Context, a userd.Actor, sessionID, action string, c Client) error {
	return s.DB.Tx(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		if err := RevokeOne(ctx, tx, a.UserID, sessionID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: a.UserID, Action: action, TargetType: "session", TargetID: sessionID, IP: c.IP, UserAgent: c.UserAgent})
	})
}

// RevokeOne ends one session of a user, with its refresh tokens, in the
// caller's transaction. It returns ErrSessionNotFound when the session is
// not the user's, or not a session id at all.
func RevokeOne(ctx context.Context, tx *sqldb.Tx, userID, sessionID string) error {
	id, ok := userd.ParseID(sessionID)
	if !ok {
		return ErrSessionNotFound
	}
	res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrSessionNotFound
	}
	tx.Invalidate(userd.SessionKey(id))
	return nil
}

// RevokeAll ends every session of a user, in the caller's transaction, and
// returns how many it ended.
func RevokeAll(ctx context.Context, tx *sqldb.Tx, userID string) (int64, error) {
	return revokeOthers(ctx, tx, userID, "")
}

// revokeOthers ends every session of userID but keep ("" ends them all),
// and every grant of userID at userd's OpenID Provider.
func revokeOthers(ctx context.Context, tx *sqldb.Tx, userID, keep string) (int64, error) {
	q, args := `DELETE FROM sessions WHERE user_id = $1`, []any{userID}
	if keep != "" {
		q, args = q+` AND id <> $2`, append(args, keep)
	}
	res, err := tx.Exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	tx.Invalidate(userd.UserKey(userID))
	// The applications' grants of userd's OpenID Provider end too.
	return n, openid.EndAll(ctx, tx, userID)
}

// Sessions lists the actor's live sessions, newest first, after the session
// with id before (pass "" for the first page).
func (s *Service) Sessions(ctx context.Context, a userd.Actor, before string, limit int) (out []Session, err error) {
	err = s.DB.View(sqldb.AsUser(ctx, a.UserID), func(tx *sqldb.Tx) error {
		out, err = s.SessionsTx(ctx, tx, a.UserID, before, limit)
		return err
	})
	return out, err
}

// SessionsTx lists a user's live sessions in the caller's transaction (see
// Sessions).
func (s *Service) SessionsTx(ctx context.Context, tx *sqldb.Tx, userID, before string, limit int) ([]Session, error) {
	before = sqldb.Before(before)
	rows, err := tx.Query(ctx, `SELECT s.id, s.user_id, s.user_agent, s.ip, s.created_at, s.last_seen_at, s.expires_at
		FROM sessions s WHERE s.user_id = $1 AND `+validSession+` AND s.id < $4
		ORDER BY s.id DESC LIMIT $5`, userID, tx.Now, tx.Now.Add(-s.cfg.SessionIdle), before, limit)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		var se Session
		var ua, ip sql.NullString
		if err := rows.Scan(&se.ID, &se.UserID, &ua, &ip, &se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		se.UserAgent, se.IP = ua.String, ip.String
		se.CreatedAt, se.LastSeenAt, se.ExpiresAt = se.CreatedAt.UTC(), se.LastSeenAt.UTC(), se.ExpiresAt.UTC()
		out = append(out, se)
	}
	return out, rows.Err()
}

// OpenMany opens a session for each user, without a password: the bulk path
// for load tests, which need many signed-in users without paying for their
// password hashes. It returns the session tokens in order.
func (s *Service) OpenMany(ctx context.Context, userIDs []string) ([]string, error) {
	out := make([]string, 0, len(userIDs))
	err := s.DB.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		for _, id := range userIDs {
			tok, hash := token.New(token.SessionPrefix)
			_, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, token_hash, user_agent, created_at, last_seen_at, expires_at)
				VALUES ($1, $2, $3, 'bench', $4, $4, $5)`, userd.NewID(tx.Now), id, hash, tx.Now, tx.Now.Add(s.cfg.SessionLifetime))
			if err != nil {
				return fmt.Errorf("open session: %w", err)
			}
			out = append(out, tok)
		}
		return nil
	})
	return out, err
}

// SignIn opens a session for a user whom another factor identified (an
// OpenID Connect provider, a passkey): it refuses a suspended or banned user,
// and audits the log-in with its method.
func (s *Service) SignIn(ctx context.Context, userID string, c Client, method string) (Login, error) {
	sg, err := s.signer(ctx)
	if err != nil {
		return Login{}, err
	}
	var out Login
	err = s.DB.Tx(sqldb.AsUser(ctx, userID), func(tx *sqldb.Tx) error {
		u, err := account.Get(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := statusErr(u.Status); err != nil {
			return err
		}
		if out, err = s.open(ctx, tx, sg, u, c); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{UserID: u.ID, Action: audit.Login, TargetType: "session", TargetID: out.Session.ID,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"method": method}})
	})
	return out, err
}

// Expire deletes sessions past their absolute lifetime (with their refresh
// tokens) and mailed tokens past their expiry.
func Expire(ctx context.Context, tx *sqldb.Tx, now time.Time) (int64, error) {
	var total int64
	for _, q := range []string{`DELETE FROM sessions WHERE expires_at < $1`,
		`DELETE FROM verification_tokens WHERE expires < $1`, `DELETE FROM password_reset_tokens WHERE expires < $1`} {
		n, err := sqldb.DeleteWhere(ctx, tx, q, now)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
