package openid

import (
	"context"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/text/language"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// OrgClaim is an entry of the organizations claim.
type OrgClaim struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// MaxOrgClaims bounds the organizations claim.
const MaxOrgClaims = 100

// userinfo fills info with the claims that scopes allow: profile (name,
// given_name, family_name, preferred_username, picture, locale,
// updated_at, and auth_user_id and legacy_id for an imported user), email (email, email_verified), phone (phone_number,
// phone_number_verified: false, userd does not verify numbers), roles (the
// user's role names) and organizations (id, slug, name and the user's
// role in each).
func (s *Service) userinfo(ctx context.Context, info *oidc.UserInfo, userID string, scopes []string) error {
	var u account.User
	var roles []string
	// System: the provider answers for the user it holds a grant of.
	err := s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		if u, err = account.Get(ctx, tx, userID); err != nil {
			return err
		}
		if slices.Contains(scopes, "roles") {
			g, err := rbac.Grants(ctx, tx, userID)
			roles = g.Roles
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	info.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeProfile) {
		// A user brought from another provider keeps their subject there
		// (auth_user_id) and their id in the other system (legacy_id): an
		// application that keyed its rows on the old sub maps them.
		for k, v := range map[string]*string{"auth_user_id": u.AuthUserID, "legacy_id": u.LegacyID} {
			if v != nil {
				info.AppendClaims(k, *v)
			}
		}
		first, last := account.Deref(u.FirstName), account.Deref(u.LastName)
		info.UserInfoProfile = oidc.UserInfoProfile{Name: strings.TrimSpace(first + " " + last), GivenName: first, FamilyName: last,
			PreferredUsername: account.Deref(u.Username), Picture: account.Deref(u.AvatarURL), UpdatedAt: oidc.FromTime(u.UpdatedAt)}
		if tag, err := language.Parse(u.Language); err == nil && u.Language != "" {
			info.Locale = oidc.NewLocale(tag)
		}
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != nil {
		info.UserInfoEmail = oidc.UserInfoEmail{Email: *u.Email, EmailVerified: oidc.Bool(u.EmailVerifiedAt != nil)}
	}
	if slices.Contains(scopes, oidc.ScopePhone) && u.PhoneNumber != nil {
		info.UserInfoPhone = oidc.UserInfoPhone{PhoneNumber: *u.PhoneNumber}
	}
	if slices.Contains(scopes, "roles") {
		info.AppendClaims("roles", append([]string{}, roles...))
	}
	if slices.Contains(scopes, "organizations") {
		claims := []OrgClaim{}
		if s.deps.Orgs != nil {
			if claims, err = s.deps.Orgs(ctx, userID); err != nil {
				return err
			}
		}
		info.AppendClaims("organizations", claims)
	}
	return nil
}
