package billing

// MemberRoles is the SQL of a query of the ids of the roles that a session
// holds through its active organisation, for rbac.GrantColumn: session
// names a row of sessions (a table alias with the columns user_id and
// active_organization_id). They are the roles of the plans of the
// organisation's entitled subscriptions (the same rule as a user's: see
// Subscription.Entitled) while the session's user is a member of it, whatever
// their role there, and never an administrator's role (see SetPlanRoles).
//
// They are per session, as the active organisation is: an API key, an
// outside provider's token and a user's other sessions hold none of them.
// What caches them is tagged with userd.OrgKey of the active organisation,
// which every change of what it gives invalidates.
func MemberRoles(session string) string {
	return `SELECT mpr.role_id FROM subscriptions msub JOIN plan_roles mpr ON mpr.plan = msub.plan
		JOIN roles mr ON mr.id = mpr.role_id JOIN organization_members mm ON mm.organization_id = msub.organization_id
		WHERE msub.organization_id = ` + session + `.active_organization_id AND mm.user_id = ` + session + `.user_id
		AND msub.entitled AND NOT mr.is_admin`
}
