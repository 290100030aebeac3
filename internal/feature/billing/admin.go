package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// ErrOrganizationNotFound answers a grant to an organisation that does not
// exist.
var ErrOrganizationNotFound = userd.Errorf(userd.KindNotFound, "organization_not_found", "No such organization.")

// planRE is a plan's name: what a provider calls a price (a lookup key or
// an id) or what an administrator calls a comp plan.
var planRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$`)

// providerRE is a provider's name.
var providerRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,31}$`)

func checkPlan(fs []userd.FieldError, plan string) []userd.FieldError {
	if planRE.MatchString(plan) {
		return fs
	}
	return append(fs, userd.FieldError{Field: "plan", Code: "invalid_plan", Message: "A plan is 1 to 100 letters, digits and _ . : - (starting with a letter or digit)."})
}

// Grant is a subscription that an administrator grants by hand (provider
// manual): a comp plan for a user or an organisation, active until EndsAt.
type Grant struct {
	UserID, OrganizationID, Plan string
	EndsAt                       time.Time
	Metadata                     map[string]string
}

// Grant records a manual subscription, active from now until g.EndsAt,
// audited in the owner's trail with the actor; the owner holds the plan's
// roles until it ends (see Expire). As for a role given by hand, the actor
// must cover the roles that the plan grants and the user it goes to (see
// rbac.Covers and rbac.CheckUser). It returns ErrWriteForbidden,
// rbac.ErrInsufficientPrivilege, a validation error (ends_at past or more
// than MaxGrant away), account.ErrNotFound and ErrOrganizationNotFound.
func (s *Service) Grant(ctx context.Context, a userd.Actor, c userd.Client, g Grant) (sub Subscription, err error) {
	if !a.Grants.Has(WritePermission) {
		return sub, ErrWriteForbidden
	}
	fs := checkPlan(nil, g.Plan)
	if (g.UserID == "") == (g.OrganizationID == "") {
		fs = append(fs, userd.FieldError{Field: "user_id", Code: "one_owner", Message: "Give user_id or organization_id, not both."})
	}
	switch now := s.db.Now(); {
	case !g.EndsAt.After(now):
		fs = append(fs, userd.FieldError{Field: "ends_at", Code: "in_the_past", Message: "ends_at is in the future."})
	case g.EndsAt.After(now.Add(MaxGrant)):
		fs = append(fs, userd.FieldError{Field: "ends_at", Code: "too_far", Message: "A manual grant lasts at most 5 years."})
	}
	if err := userd.Invalid(fs); err != nil {
		return sub, err
	}
	// System: the subscription is another user's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		o, note, err := s.existing(ctx, tx, owner{user: g.UserID, org: g.OrganizationID})
		switch {
		case err != nil:
			return err
		case note != "" && g.UserID != "":
			return account.ErrNotFound
		case note != "":
			return ErrOrganizationNotFound
		}
		if err := mayGrant(ctx, tx, a.Grants, g.Plan, g.UserID); err != nil {
			return err
		}
		id := userd.NewID(tx.Now)
		end := g.EndsAt
		st := State{Plan: g.Plan, Status: Active, Quantity: 1, PeriodStart: &tx.Now, PeriodEnd: &end, Metadata: g.Metadata}
		if _, _, err := s.put(ctx, tx, o, change{provider: Manual, subscriptionID: id, state: st, at: tx.Now, client: c}); err != nil {
			return err
		}
		sub, _, err = s.locked(ctx, tx, Manual, id)
		return err
	})
	return sub, err
}

// ErrNotManual refuses to end by hand a subscription that a provider
// keeps.
var ErrNotManual = userd.Errorf(userd.KindConflict, "not_manual", "Only a manual grant ends here: a provider's subscription ends at the provider.")

// EndGrant cancels a manual subscription now, by its id: its plan's roles
// go at once, audited in the owner's trail; ending one that has ended
// changes nothing. As for Grant, the actor must cover the plan's roles and
// the user. It returns ErrWriteForbidden, ErrNoSubscription, ErrNotManual
// and rbac.ErrInsufficientPrivilege.
func (s *Service) EndGrant(ctx context.Context, a userd.Actor, c userd.Client, id string) (sub Subscription, err error) {
	if !a.Grants.Has(WritePermission) {
		return sub, ErrWriteForbidden
	}
	if _, ok := userd.ParseID(id); !ok {
		return sub, ErrNoSubscription
	}
	// System: the subscription is another user's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		old, err := sqldb.One(ctx, tx, ErrNoSubscription, "read subscription", scanSub, `SELECT `+subColumns+` FROM subscriptions WHERE id = $1`, id)
		switch {
		case err != nil:
			return err
		case old.Provider != Manual:
			return ErrNotManual
		}
		if err := mayGrant(ctx, tx, a.Grants, old.Plan, old.UserID); err != nil {
			return err
		}
		if !final(old.Status) {
			st := old.State
			st.Status, st.CanceledAt = Canceled, &tx.Now
			o := owner{old.UserID, old.OrganizationID}
			if _, _, err := s.put(ctx, tx, o, change{provider: Manual, subscriptionID: old.SubscriptionID, state: st, at: tx.Now, client: c}); err != nil {
				return err
			}
		}
		sub, _, err = s.locked(ctx, tx, Manual, old.SubscriptionID)
		return err
	})
	return sub, err
}

// mayGrant returns rbac.ErrInsufficientPrivilege unless caller covers
// every role that plan grants and, for a user's subscription, the user
// (rbac.CheckUser, which locks their row).
func mayGrant(ctx context.Context, tx *sqldb.Tx, caller userd.Grants, plan, userID string) error {
	roles, err := planRoles(ctx, tx, plan)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if !rbac.Covers(caller, userd.Grants{Permissions: r.Permissions, Admin: r.IsAdmin}) {
			return rbac.ErrInsufficientPrivilege
		}
	}
	if userID == "" {
		return nil
	}
	return rbac.CheckUser(ctx, tx, caller, userID)
}

// planRoles returns the roles that a plan grants.
func planRoles(ctx context.Context, tx *sqldb.Tx, plan string) ([]rbac.Role, error) {
	names, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT r.name FROM plan_roles pr JOIN roles r ON r.id = pr.role_id WHERE pr.plan = $1 ORDER BY r.name`, plan)
	if err != nil {
		return nil, fmt.Errorf("plan roles: %w", err)
	}
	roles := make([]rbac.Role, 0, len(names))
	for _, name := range names {
		r, err := rbac.Named(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		roles = append(roles, r)
	}
	return roles, nil
}

// SetPlanRoles makes the roles that a plan grants exactly roles (none
// stops it granting any), and gives or takes them at once from every user
// with a subscription on the plan and from the members of every
// organisation with an entitled one (whose sessions with it active forget
// their cached grants), audited as audit.BillingPlanRolesSet. As for
// giving a role by hand, the actor must be allowed to give every role that
// the plan grants, before and after (rbac.CheckGrant). A plan never grants
// an administrator's role: a plan's roles go to whoever pays, and an
// organisation's to whomever its owners let in. It returns the roles
// sorted, ErrWriteForbidden, rbac.ErrInsufficientPrivilege and a
// validation error (for a bad plan, a role that does not exist or is an
// administrator's, more roles than rbac.MaxRolesPerUser or two that
// Deps.Exclusive sets apart).
func (s *Service) SetPlanRoles(ctx context.Context, a userd.Actor, c userd.Client, plan string, roles []string) ([]string, error) {
	if !a.Grants.Has(WritePermission) {
		return nil, ErrWriteForbidden
	}
	roles = slices.Compact(slices.Sorted(slices.Values(roles)))
	fs := checkPlan(nil, plan)
	if len(roles) > rbac.MaxRolesPerUser {
		fs = append(fs, userd.FieldError{Field: "roles", Code: "too_many", Message: rbac.ErrTooManyRoles.Message})
	}
	if a, b, clash := s.deps.Exclusive.Clash(roles); clash {
		fs = append(fs, userd.FieldError{Field: "roles", Code: "exclusive_roles", Message: fmt.Sprintf("%s and %s exclude each other: a plan grants one of them.", a, b)})
	}
	if err := userd.Invalid(fs); err != nil {
		return nil, err
	}
	// System: the plan's subscribers are other users.
	err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		old, err := planRoles(ctx, tx, plan)
		if err != nil {
			return err
		}
		for _, r := range old {
			if err := rbac.CheckGrant(a.Grants, r); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM plan_roles WHERE plan = $1`, plan); err != nil {
			return fmt.Errorf("clear plan roles: %w", err)
		}
		for _, name := range roles {
			r, err := rbac.Named(ctx, tx, name)
			if errors.Is(err, rbac.ErrRoleNotFound) {
				return userd.Invalid([]userd.FieldError{{Field: "roles", Code: "role_not_found", Message: "No role is called " + name + "."}})
			}
			if err != nil {
				return err
			}
			if r.IsAdmin {
				return userd.Invalid([]userd.FieldError{{Field: "roles", Code: "admin_role", Message: name + " is an administrator's role, which no plan grants."}})
			}
			if err := rbac.CheckGrant(a.Grants, r); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO plan_roles (plan, role_id, created_at) VALUES ($1, $2, $3)`, plan, r.ID, tx.Now); err != nil {
				return fmt.Errorf("set plan roles: %w", err)
			}
		}
		users, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT DISTINCT user_id FROM subscriptions WHERE plan = $1 AND user_id IS NOT NULL ORDER BY user_id`, plan)
		if err != nil {
			return fmt.Errorf("plan's subscribers: %w", err)
		}
		for _, u := range users {
			if err := s.entitle(ctx, tx, owner{user: u}); err != nil {
				return err
			}
		}
		orgs, err := sqldb.All(ctx, tx, sqldb.ScanString, `SELECT DISTINCT organization_id FROM subscriptions
			WHERE plan = $1 AND organization_id IS NOT NULL AND entitled ORDER BY organization_id`, plan)
		if err != nil {
			return fmt.Errorf("plan's organisations: %w", err)
		}
		for _, o := range orgs {
			tx.Invalidate(userd.OrgKey(o))
		}
		return audit.Record(ctx, tx, audit.Event{Action: audit.BillingPlanRolesSet, TargetType: "plan", TargetID: plan,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"roles": roles, "subscribers": len(users), "organizations": len(orgs)}})
	})
	return roles, err
}

// Filter narrows List; empty fields do not filter. UserID and
// OrganizationID name the subscriptions' owner.
type Filter struct{ Status, Plan, Provider, UserID, OrganizationID string }

// List returns up to limit subscriptions of every owner, newest first,
// after the one with id before. It returns ErrReadForbidden.
func (s *Service) List(ctx context.Context, a userd.Actor, f Filter, before string, limit int) (subs []Subscription, err error) {
	if !a.Grants.Has(ReadPermission) {
		return nil, ErrReadForbidden
	}
	for _, id := range []string{f.UserID, f.OrganizationID} {
		if _, ok := userd.ParseID(id); id != "" && !ok {
			return []Subscription{}, nil // no owner has this id
		}
	}
	where, args := []string{"id < $1"}, []any{sqldb.Before(before), limit}
	for column, v := range map[string]string{"status": f.Status, "plan": f.Plan, "payment_provider": f.Provider,
		"user_id": f.UserID, "organization_id": f.OrganizationID} {
		if v != "" {
			args = append(args, v)
			where = append(where, fmt.Sprintf("%s = $%d", column, len(args)))
		}
	}
	// System: every owner's subscriptions.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		subs, err = sqldb.All(ctx, tx, scanSub, `SELECT `+subColumns+` FROM subscriptions WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT $2`, args...)
		if err != nil {
			return fmt.Errorf("list subscriptions: %w", err)
		}
		return nil
	})
	return subs, err
}

// Events returns up to limit of the providers' events, newest first, after
// the one with id before; applied filters on whether they were applied
// when not nil. It returns ErrReadForbidden.
func (s *Service) Events(ctx context.Context, a userd.Actor, applied *bool, before string, limit int) (events []Event, err error) {
	if !a.Grants.Has(ReadPermission) {
		return nil, ErrReadForbidden
	}
	q, args := `SELECT `+eventColumns+` FROM billing_events WHERE id < $1`, []any{sqldb.Before(before), limit}
	if applied != nil {
		q, args = q+` AND applied = $3`, append(args, *applied)
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		events, err = sqldb.All(ctx, tx, scanEvent, q+` ORDER BY id DESC LIMIT $2`, args...)
		if err != nil {
			return fmt.Errorf("list billing events: %w", err)
		}
		return nil
	})
	return events, err
}

// Providers lists the payment providers by name, without their secrets.
// It returns ErrReadForbidden.
func (s *Service) Providers(ctx context.Context, a userd.Actor) (ps []Provider, err error) {
	if !a.Grants.Has(ReadPermission) {
		return nil, ErrReadForbidden
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		ps, err = sqldb.All(ctx, tx, scanProvider, `SELECT `+providerColumns+` FROM payment_providers ORDER BY name`)
		if err != nil {
			return fmt.Errorf("list payment providers: %w", err)
		}
		return nil
	})
	return ps, err
}

// SetProvider makes or changes a payment provider: its webhook secret
// when secret is not nil (sealed; "" removes it) and whether it is enabled
// when enabled is not nil, audited as audit.BillingProviderUpdated
// (without the secret). Setting the secret needs an administrator: whoever
// holds it can forge the provider's events, and so any plan's roles. It
// returns ErrWriteForbidden, rbac.ErrInsufficientPrivilege and a
// validation error for a bad name.
func (s *Service) SetProvider(ctx context.Context, a userd.Actor, c userd.Client, name string, secret *string, enabled *bool) (p Provider, err error) {
	if !a.Grants.Has(WritePermission) {
		return p, ErrWriteForbidden
	}
	if secret != nil && !a.Grants.Admin {
		return p, rbac.ErrInsufficientPrivilege
	}
	if !providerRE.MatchString(name) {
		return p, userd.Invalid([]userd.FieldError{{Field: "name", Code: "invalid_name", Message: "A provider's name is 2 to 32 lower-case letters, digits, _ and -."}})
	}
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM payment_providers WHERE name = $1`, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			id = userd.NewID(tx.Now)
			_, err = tx.Exec(ctx, `INSERT INTO payment_providers (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)`, id, name, tx.Now)
		}
		if err != nil {
			return fmt.Errorf("find payment provider: %w", err)
		}
		if secret != nil {
			var sealed []byte
			if *secret != "" {
				sealed = s.deps.Keyring.Seal([]byte(*secret), secretAD(id, ""))
			}
			if _, err := tx.Exec(ctx, `UPDATE payment_providers SET webhook_secret = $1 WHERE id = $2`, sealed, id); err != nil {
				return fmt.Errorf("set webhook secret: %w", err)
			}
		}
		if enabled != nil {
			if _, err := tx.Exec(ctx, `UPDATE payment_providers SET enabled = $1 WHERE id = $2`, *enabled, id); err != nil {
				return fmt.Errorf("enable payment provider: %w", err)
			}
		}
		p, err = sqldb.One(ctx, tx, ErrProviderNotFound, "payment provider", scanProvider,
			`UPDATE payment_providers SET updated_at = $1 WHERE id = $2 RETURNING `+providerColumns, tx.Now, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: audit.BillingProviderUpdated, TargetType: "payment_provider", TargetID: name,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"secret_set": secret != nil, "has_secret": p.HasSecret, "enabled": p.Enabled}})
	})
	return p, err
}
