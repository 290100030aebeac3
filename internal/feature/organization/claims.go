package organization

import "database/sql"

// Claims are what an access token says of the session's active
// organisation: empty when there is none, or when its user is no longer a
// member of it.
type Claims struct {
	ID, Role, Slug string
}

// ClaimColumns is the SQL of three columns, org_id, org_role and org_slug,
// that hold the Claims of the session row named session (a table alias
// with the columns active_organization_id and user_id): the active
// organisation joined with the user's membership as it is now, so that a
// token issued after a member's removal carries none.
func ClaimColumns(session string) string {
	from := ` FROM organizations o JOIN organization_members m ON m.organization_id = o.id
			WHERE o.id = ` + session + `.active_organization_id AND m.user_id = ` + session + `.user_id)`
	return `(SELECT o.id` + from + ` AS org_id, (SELECT m.role` + from + ` AS org_role, (SELECT o.slug` + from + ` AS org_slug`
}

// ClaimScan receives the columns of ClaimColumns.
type ClaimScan struct{ id, role, slug sql.NullString }

// Dest is where a Scan puts ClaimColumns's columns, in their order.
func (c *ClaimScan) Dest() []any { return []any{&c.id, &c.role, &c.slug} }

// Claims returns the claims that the columns hold.
func (c *ClaimScan) Claims() Claims {
	return Claims{ID: c.id.String, Role: c.role.String, Slug: c.slug.String}
}
