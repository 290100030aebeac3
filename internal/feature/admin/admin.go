// Package admin is the work behind the administration API. It owns no table:
// it composes account, rbac, audit and auth's session revocation, each
// operation in one transaction that crosses users explicitly (sqldb.System)
// and records who did it in the audit trail.
package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/lifecycle"
	"github.com/userd/userd/internal/feature/moderation"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Service runs administrative operations.
type Service struct {
	db     *sqldb.DB
	hasher *password.Hasher
	auth   *auth.Service // the fresh-log-in rule and the users' notices; nil refuses changes of email
	// exclusive are the sets of mutually exclusive roles (see
	// SetExclusiveRoles); none by default.
	exclusive rbac.Exclusive
}

// SetExclusiveRoles makes the roles of each set mutually exclusive: giving
// one (SetRole) takes the others of its sets, and a new user (CreateUser)
// gets at most one of each. It returns an error naming a role that does not
// exist, and then changes nothing. Call it before s serves.
func (s *Service) SetExclusiveRoles(ctx context.Context, ex rbac.Exclusive) error {
	if err := s.view(ctx, func(tx *sqldb.Tx) error { return ex.Check(ctx, tx) }); err != nil {
		return err
	}
	s.exclusive = ex
	return nil
}

// New returns a Service. authSvc answers for a change of a user's email
// (the administrator's recent log-in, the user's notice); it may be nil
// where no user's email changes (the command line's users create and
// delete): a change of email is then refused.
func New(db *sqldb.DB, hasher *password.Hasher, authSvc *auth.Service) *Service {
	return &Service{db: db, hasher: hasher, auth: authSvc}
}

// recent is the fresh-log-in rule, which refuses everyone without auth.
func (s *Service) recent(a userd.Actor) error {
	if s.auth == nil {
		return auth.ErrReauthenticate
	}
	return s.auth.RequireRecent(a)
}

// tell notices the user of a change of their email, which cannot be made
// without auth to tell them.
func (s *Service) tell(ctx context.Context, tx *sqldb.Tx, userID string, c userd.Client, oldEmail string) error {
	if s.auth == nil {
		return errors.New("admin: no auth.Service to tell the user of the change")
	}
	return s.auth.Tell(ctx, tx, userID, auth.NoticeEmailChanged, c, oldEmail)
}

// Who is the administrator acting and where from. The actor's grants bound
// what an operation may give and whom or what it may change (see
// rbac.Covers); System marks the operator of the command line instead, who
// acts outside any session and passes every check.
type Who struct {
	Actor  userd.Actor
	Client auth.Client
	System bool
}

// grants returns what w holds: everything for the system.
func (w Who) grants() userd.Grants {
	if w.System {
		return userd.Grants{Admin: true}
	}
	return w.Actor.Grants
}

// mayGive returns rbac.ErrInsufficientPrivilege unless w may give the named
// role (see rbac.CheckGrant), and rbac.ErrRoleNotFound.
func (w Who) mayGive(ctx context.Context, tx *sqldb.Tx, role string) error {
	r, err := rbac.Named(ctx, tx, role)
	if err != nil {
		return err
	}
	return rbac.CheckGrant(w.grants(), r)
}

// mayChange returns rbac.ErrInsufficientPrivilege unless w may give the role
// with the given id both as it is and as p would make it (see
// rbac.CheckGrant), and rbac.ErrRoleNotFound. The zero patch checks the role
// as it is.
func (w Who) mayChange(ctx context.Context, tx *sqldb.Tx, id string, p rbac.RolePatch) error {
	r, err := rbac.Get(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := rbac.CheckGrant(w.grants(), r); err != nil {
		return err
	}
	return rbac.CheckGrant(w.grants(), p.Apply(r))
}

func (w Who) event(action, targetType, targetID string, meta map[string]any) audit.Event {
	return audit.Event{UserID: w.Actor.UserID, APIKeyID: w.Actor.APIKeyID, Action: action, TargetType: targetType, TargetID: targetID,
		IP: w.Client.IP, UserAgent: w.Client.UserAgent, Metadata: meta}
}

// tx runs fn across users and records ev when fn succeeds.
func (s *Service) tx(ctx context.Context, fn func(tx *sqldb.Tx) (audit.Event, error)) error {
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		ev, err := fn(tx)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, ev)
	})
}

// view reads across users.
func (s *Service) view(ctx context.Context, fn func(tx *sqldb.Tx) error) error {
	return s.db.View(sqldb.System(ctx), fn)
}

// UserWithGrants is a user and their roles.
type UserWithGrants struct {
	account.User
	Grants userd.Grants
}

// ListUsers searches users (see account.Search).
func (s *Service) ListUsers(ctx context.Context, q, beforeID string, limit int) ([]account.User, error) {
	var out []account.User
	err := s.view(ctx, func(tx *sqldb.Tx) (err error) {
		out, err = account.Search(ctx, tx, q, beforeID, limit)
		return err
	})
	return out, err
}

// UserID returns the id of the user that ref names: a userd id as it is
// (without a look-up; a legacy id shaped as a UUID is read as a userd id),
// or else the id of the user imported with ref as legacy id. It returns
// account.ErrNotFound.
func (s *Service) UserID(ctx context.Context, ref string) (string, error) {
	if id, ok := userd.ParseID(ref); ok {
		return id, nil
	}
	var id string
	err := s.view(ctx, func(tx *sqldb.Tx) error {
		u, err := account.ByLegacyID(ctx, tx, ref)
		id = u.ID
		return err
	})
	return id, err
}

// UserRef returns the id of the user that an administrator typed: a userd
// id or a legacy id (see UserID), else, for a ref with an @, the user of
// that email address. It returns account.ErrNotFound.
func (s *Service) UserRef(ctx context.Context, ref string) (string, error) {
	id, err := s.UserID(ctx, ref)
	if err == nil || !errors.Is(err, account.ErrNotFound) || !strings.Contains(ref, "@") {
		return id, err
	}
	err = s.view(ctx, func(tx *sqldb.Tx) error {
		u, err := account.ByEmail(ctx, tx, ref)
		id = u.ID
		return err
	})
	return id, err
}

// GetUser returns a user with their roles, or account.ErrNotFound.
func (s *Service) GetUser(ctx context.Context, id string) (UserWithGrants, error) {
	var out UserWithGrants
	err := s.view(ctx, func(tx *sqldb.Tx) (err error) {
		out, err = s.withGrants(ctx, tx, id)
		return err
	})
	return out, err
}

// withGrants reads a user with their grants: what the roles grant is in
// auth's memory, or read in tx without it.
func (s *Service) withGrants(ctx context.Context, tx *sqldb.Tx, id string) (UserWithGrants, error) {
	u, err := account.Get(ctx, tx, id)
	if err != nil {
		return UserWithGrants{}, err
	}
	grants := rbac.Grants
	if s.auth != nil {
		grants = s.auth.Grants
	}
	g, err := grants(ctx, tx, id)
	return UserWithGrants{User: u, Grants: g}, err
}

// NewUser is what an administrator gives to create a user. Password is
// optional (the user can set one through the reset flow); Roles default to
// END_USER.
type NewUser struct {
	account.Identity
	account.Profile
	Password string
	Roles    []string
	IsBeta   bool
}

// CreateUser creates a user with their roles. Giving roles needs what
// rbac.CheckGrant says for each; the default role needs nothing. It returns
// a KindInvalid error for bad fields or an unknown role,
// rbac.ErrInsufficientPrivilege, and the account errors for collisions.
func (s *Service) CreateUser(ctx context.Context, who Who, in NewUser) (UserWithGrants, error) {
	fe := append(in.Identity.Check(), in.Profile.Check()...)
	if in.Password != "" {
		fe = append(fe, auth.CheckPassword("password", in.Password, in.Identity)...)
	}
	if err := userd.Invalid(fe); err != nil {
		return UserWithGrants{}, err
	}
	hash := ""
	if in.Password != "" {
		var err error
		if hash, err = s.hasher.Hash(ctx, in.Password); err != nil {
			return UserWithGrants{}, err
		}
	}
	roles := in.Roles
	if len(roles) == 0 {
		roles = []string{rbac.DefaultRole}
	}
	if len(roles) > rbac.MaxRolesPerUser {
		return UserWithGrants{}, userd.Invalid([]userd.FieldError{{Field: "roles", Code: "too_many", Message: rbac.ErrTooManyRoles.Message}})
	}
	if a, b, clash := s.exclusive.Clash(roles); clash {
		return UserWithGrants{}, userd.Invalid([]userd.FieldError{{Field: "roles", Code: "exclusive_roles",
			Message: fmt.Sprintf("%s and %s exclude each other: give one of them.", a, b)}})
	}
	var out UserWithGrants
	err := s.tx(ctx, func(tx *sqldb.Tx) (audit.Event, error) {
		for _, r := range in.Roles {
			if err := who.mayGive(ctx, tx, r); err != nil {
				return audit.Event{}, roleField(err)
			}
		}
		u, err := account.Insert(ctx, tx, account.New{Identity: in.Identity, Profile: in.Profile, PasswordHash: hash})
		if err != nil {
			return audit.Event{}, err
		}
		if in.IsBeta {
			beta := true
			if u, err = account.Update(ctx, tx, u.ID, account.Patch{IsBeta: &beta}); err != nil {
				return audit.Event{}, err
			}
		}
		for _, r := range roles {
			if _, err := rbac.Assign(ctx, tx, u.ID, r); err != nil {
				return audit.Event{}, err
			}
		}
		out, err = s.withGrants(ctx, tx, u.ID)
		return who.event(audit.AdminUserCreated, "user", u.ID, map[string]any{"roles": roles}), err
	})
	return out, err
}

// roleField turns an unknown role into a field error of the request.
func roleField(err error) error {
	if errors.Is(err, rbac.ErrRoleNotFound) {
		return userd.Invalid([]userd.FieldError{{Field: "roles", Code: "unknown_role", Message: "No role has this name."}})
	}
	return err
}

// UpdateUser changes a user whose grants who covers (see rbac.CheckUser). A
// suspension or a ban also ends their sessions. A change of email needs the
// administrator's recent log-in (a new address and a reset link would give
// the account away) and is told to the user at both addresses. It returns a
// KindInvalid error, account.ErrNotFound, rbac.ErrInsufficientPrivilege,
// auth.ErrReauthenticate, or the account errors for collisions.
func (s *Service) UpdateUser(ctx context.Context, who Who, id string, p account.Patch) (UserWithGrants, error) {
	if err := userd.Invalid(p.Check()); err != nil {
		return UserWithGrants{}, err
	}
	if p.Email != nil && !who.System {
		if err := s.recent(who.Actor); err != nil {
			return UserWithGrants{}, err
		}
	}
	var out UserWithGrants
	err := s.tx(ctx, func(tx *sqldb.Tx) (audit.Event, error) {
		// The check locks the user's row: what is read after it is what
		// the change replaces.
		if err := rbac.CheckUser(ctx, tx, who.grants(), id); err != nil {
			return audit.Event{}, err
		}
		before, err := account.Get(ctx, tx, id)
		if err != nil {
			return audit.Event{}, err
		}
		u, err := account.Update(ctx, tx, id, p)
		if err != nil {
			return audit.Event{}, err
		}
		meta := map[string]any{"fields": changed(p)}
		if old := account.Deref(before.Email); old != account.Deref(u.Email) {
			if err := s.tell(ctx, tx, id, who.Client, old); err != nil {
				return audit.Event{}, err
			}
		}
		if p.Status != nil && *p.Status != before.Status {
			meta["status"] = map[string]string{"from": string(before.Status), "to": string(u.Status)}
			if err := moderation.CancelLift(ctx, tx, id); err != nil {
				return audit.Event{}, err
			}
			if u.Status != account.StatusActive {
				n, err := auth.RevokeAll(ctx, tx, id)
				if err != nil {
					return audit.Event{}, err
				}
				meta["sessions_revoked"] = n
			}
		}
		out, err = s.withGrants(ctx, tx, id)
		return who.event(audit.AdminUserUpdated, "user", id, meta), err
	})
	return out, err
}

// changed lists the fields a patch sets, by their JSON names.
func changed(p account.Patch) []string {
	set := map[string]bool{
		"email": p.Email != nil, "phone_number": p.PhoneNumber != nil, "is_beta": p.IsBeta != nil, "status": p.Status != nil,
		"username": p.Username != nil, "first_name": p.FirstName != nil, "last_name": p.LastName != nil,
		"avatar_url": p.AvatarURL != nil, "country": p.Country != nil, "city": p.City != nil, "zipcode": p.Zipcode != nil,
		"language": p.Language != nil, "is_first_connection": p.IsFirstConnection != nil,
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k] {
			out = append(out, k)
		}
	}
	return out
}

// DeleteUser removes a user whose grants who covers, and what they own. It
// returns account.ErrNotFound or rbac.ErrInsufficientPrivilege.
func (s *Service) DeleteUser(ctx context.Context, who Who, id string) error {
	return s.tx(ctx, func(tx *sqldb.Tx) (audit.Event, error) {
		if err := rbac.CheckUser(ctx, tx, who.grants(), id); err != nil {
			return audit.Event{}, err
		}
		if err := lifecycle.DeleteUser(ctx, tx, id); err != nil {
			return audit.Event{}, err
		}
		return who.event(audit.AdminUserDeleted, "user", id, nil), nil
	})
}

// SetRole gives (on) or takes (off) a role by name, of a user whose grants
// who covers (see rbac.CheckUser); giving also needs what rbac.CheckGrant
// says. Giving a role of an exclusive set takes the others of the set that
// the user holds (see rbac.Give; the trail's "replaced" names them); taking
// the user's last role is refused (rbac.ErrLastRole). Doing it twice is not
// an error. It returns account.ErrNotFound, rbac.ErrRoleNotFound,
// rbac.ErrInsufficientPrivilege or rbac.ErrLastRole.
func (s *Service) SetRole(ctx context.Context, who Who, userID, role string, on bool) error {
	return s.tx(ctx, func(tx *sqldb.Tx) (audit.Event, error) {
		if err := rbac.CheckUser(ctx, tx, who.grants(), userID); err != nil {
			return audit.Event{}, err
		}
		if _, err := account.Get(ctx, tx, userID); err != nil {
			return audit.Event{}, err
		}
		if on {
			if err := who.mayGive(ctx, tx, role); err != nil {
				return audit.Event{}, err
			}
		}
		var did bool
		var took []string
		var err error
		action := audit.AdminRoleAssigned
		if on {
			did, took, err = rbac.Give(ctx, tx, userID, role, s.exclusive)
		} else {
			action = audit.AdminRoleRemoved
			did, err = rbac.Take(ctx, tx, userID, role)
		}
		if err != nil {
			return audit.Event{}, err
		}
		meta := map[string]any{"role": role, "changed": did}
		if len(took) > 0 {
			meta["replaced"] = took
		}
		return who.event(action, "user", userID, meta), nil
	})
}

// MaxRecipients is how many users one call of Notify reaches at most.
const MaxRecipients = 1000

// Notify sends one notification to each of up to MaxRecipients users. It
// returns a KindInvalid error for a bad notification or an unknown user id.
func (s *Service) Notify(ctx context.Context, who Who, userIDs []string, n notify.New) ([]notify.Notification, error) {
	fe := n.Check()
	switch {
	case len(userIDs) == 0:
		fe = append(fe, userd.FieldError{Field: "user_ids", Code: "required", Message: "Name at least one recipient in user_id or user_ids."})
	case len(userIDs) > MaxRecipients:
		fe = append(fe, userd.FieldError{Field: "user_ids", Code: "too_many", Message: fmt.Sprintf("Send to at most %d users at once.", MaxRecipients)})
	}
	seen := map[string]bool{}
	var ids []string
	for _, raw := range userIDs {
		id, ok := userd.ParseID(raw)
		if !ok {
			fe = append(fe, userd.FieldError{Field: "user_ids", Code: "unknown_user", Message: fmt.Sprintf("No user has the id %q.", raw)})
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := userd.Invalid(fe); err != nil {
		return nil, err
	}
	var out []notify.Notification
	err := s.tx(ctx, func(tx *sqldb.Tx) (audit.Event, error) {
		for _, id := range ids {
			made, err := notify.Create(ctx, tx, id, n)
			if sqldb.ViolatedKind(err) != nil {
				return audit.Event{}, userd.Invalid([]userd.FieldError{{Field: "user_ids", Code: "unknown_user", Message: fmt.Sprintf("No user has the id %q.", id)}})
			}
			if err != nil {
				return audit.Event{}, err
			}
			out = append(out, made)
		}
		return who.event(audit.AdminNotificationSent, "notification", "", map[string]any{"type": n.Type, "recipients": len(ids)}), nil
	})
	return out, err
}

// Roles lists the roles and every permission.
func (s *Service) Roles(ctx context.Context) ([]rbac.Role, []rbac.Permission, error) {
	var roles []rbac.Role
	var perms []rbac.Permission
	err := s.view(ctx, func(tx *sqldb.Tx) (err error) {
		if roles, err = rbac.Roles(ctx, tx); err != nil {
			return err
		}
		perms, err = rbac.Permissions(ctx, tx)
		return err
	})
	return roles, perms, err
}

// CreateRole makes a role (see rbac.Create) that who may give (see
// rbac.CheckGrant). It returns what rbac.Create returns, and
// rbac.ErrInsufficientPrivilege.
func (s *Service) CreateRole(ctx context.Context, who Who, p rbac.RolePatch) (rbac.Role, error) {
	if err := rbac.CheckGrant(who.grants(), p.Apply(rbac.Role{})); err != nil {
		return rbac.Role{}, err
	}
	var r rbac.Role
	err := s.tx(ctx, func(tx *sqldb.Tx) (ev audit.Event, err error) {
		r, err = rbac.Create(ctx, tx, p)
		return who.event(audit.AdminRoleCreated, "role", r.ID, map[string]any{"name": r.Name, "permissions": r.Permissions, "is_admin": r.IsAdmin}), err
	})
	return r, err
}

// UpdateRole changes a role (see rbac.Update) that who may give, as it is
// and as it would be (see rbac.CheckGrant). It returns what rbac.Update
// returns, and rbac.ErrInsufficientPrivilege.
func (s *Service) UpdateRole(ctx context.Context, who Who, id string, p rbac.RolePatch) (rbac.Role, error) {
	var r rbac.Role
	err := s.tx(ctx, func(tx *sqldb.Tx) (ev audit.Event, err error) {
		if err := who.mayChange(ctx, tx, id, p); err != nil {
			return audit.Event{}, err
		}
		r, err = rbac.Update(ctx, tx, id, p)
		return who.event(audit.AdminRoleUpdated, "role", id, map[string]any{"name": r.Name, "permissions": r.Permissions, "is_admin": r.IsAdmin}), err
	})
	return r, err
}

// DeleteRole removes a role (see rbac.Delete) that who may give (see
// rbac.CheckGrant); those it leaves without a role get END_USER (see
// rbac.KeepOne), which who must then be allowed to give as well. It returns
// what rbac.Delete returns, and rbac.ErrInsufficientPrivilege.
func (s *Service) DeleteRole(ctx context.Context, who Who, id string) error {
	return s.tx(ctx, func(tx *sqldb.Tx) (audit.Event, error) {
		if err := who.mayChange(ctx, tx, id, rbac.RolePatch{}); err != nil {
			return audit.Event{}, err
		}
		// Its holders who hold no other role get END_USER: every user keeps
		// one. That is a gift of END_USER, which who must be allowed to
		// make; when they are not, the refusal rolls the gifts back.
		kept, err := rbac.KeepOne(ctx, tx, id)
		if err != nil {
			return audit.Event{}, err
		}
		if kept > 0 {
			if err := who.mayGive(ctx, tx, rbac.DefaultRole); err != nil {
				return audit.Event{}, err
			}
		}
		r, err := rbac.Delete(ctx, tx, id)
		meta := map[string]any{"name": r.Name}
		if kept > 0 {
			meta["given_default"] = kept
		}
		return who.event(audit.AdminRoleDeleted, "role", id, meta), err
	})
}

// ActivityLogs lists the audit trail (see audit.List).
func (s *Service) ActivityLogs(ctx context.Context, f audit.Filter, beforeID string, limit int) ([]audit.Entry, error) {
	var out []audit.Entry
	err := s.view(ctx, func(tx *sqldb.Tx) (err error) {
		out, err = audit.List(ctx, tx, f, beforeID, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("activity logs: %w", err)
	}
	return out, nil
}
