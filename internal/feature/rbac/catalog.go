package rbac

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Catalog is what the roles grant: each role's name, admin flag and
// permission keys, and every permission key (an administrator's). A
// session's read takes only the ids of its user's roles (GrantColumn), and
// the catalogue names them: it is the same for every user and changes
// seldom, so a process may remember it (see Names).
type Catalog struct {
	roles map[string]catalogRole // by id
	keys  []string               // every permission key, sorted
}

type catalogRole struct {
	name        string
	admin       bool
	permissions []string
}

// ReadCatalog reads the catalogue in tx.
func ReadCatalog(ctx context.Context, tx *sqldb.Tx) (*Catalog, error) {
	c := &Catalog{roles: map[string]catalogRole{}}
	err := sqldb.Each(ctx, tx, func(row sqldb.Scanner) error {
		var id, name string
		var admin bool
		var key sql.NullString
		if err := row.Scan(&id, &name, &admin, &key); err != nil {
			return err
		}
		r := c.roles[id]
		r.name, r.admin = name, admin
		if key.Valid {
			r.permissions = append(r.permissions, key.String)
		}
		c.roles[id] = r
		return nil
	}, `SELECT r.id, r.name, r.is_admin, p.key FROM roles r
		LEFT JOIN role_permissions rp ON rp.role_id = r.id LEFT JOIN permissions p ON p.id = rp.permission_id`)
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	if c.keys, err = strings1(ctx, tx, `SELECT key FROM permissions`); err != nil {
		return nil, fmt.Errorf("read permissions: %w", err)
	}
	slices.Sort(c.keys)
	return c, nil
}

// Names reports whether the catalogue names every role of scans: one that
// a process remembers may predate a role made since, and must then be read
// again. Every other change of what a role grants (its name, admin flag or
// permissions, its deletion, a permission's creation or deletion)
// invalidates userd.EveryKey, which drops what every process remembers.
func (c *Catalog) Names(scans ...GrantScan) bool {
	for _, g := range scans {
		for _, id := range g.ids() {
			if _, ok := c.roles[id]; !ok {
				return false
			}
		}
	}
	return true
}

// GrantColumn is the SQL of a column, grant_roles, that holds the ids of the
// roles of the user whose id the SQL expression userID gives
// (comma-separated, NULL for none), so that one query can read a user and
// what they hold. The roles are those of user_roles and, each once, those
// whose ids the SQL queries more select (roles that the user holds
// elsewhere than in user_roles, such as billing.MemberRoles: those of a
// session's active organisation's plans). A GrantScan reads it, and a
// Catalog says what the roles grant.
func GrantColumn(userID string, more ...string) string {
	held := `SELECT ur.role_id FROM user_roles ur WHERE ur.user_id = ` + userID
	for _, q := range more {
		held += ` UNION ` + q
	}
	return `(SELECT string_agg(CAST(h.role_id AS text), ',') FROM (` + held + `) h) AS grant_roles`
}

// GrantScan receives GrantColumn's column.
type GrantScan struct {
	roles sql.NullString
}

// Dest is where a Scan puts GrantColumn's column.
func (g *GrantScan) Dest() []any { return []any{&g.roles} }

// ids returns the ids of the roles.
func (g *GrantScan) ids() []string {
	if !g.roles.Valid || g.roles.String == "" {
		return nil
	}
	return strings.Split(g.roles.String, ",")
}

// Grants returns the grants of the roles, as c names them: their names and
// the permission keys that they carry (both sorted and each once), and,
// when one is an administrator's, the admin flag and every permission key.
func (g *GrantScan) Grants(c *Catalog) userd.Grants {
	out := g.Carried(c)
	if out.Admin {
		out.Permissions = slices.Clone(c.keys)
	}
	return out
}

// Carried returns the grants as the roles carry them: unlike Grants, it
// does not give an administrator every key there is, as the admin flag
// says that they pass every check. It is what an access token carries,
// which thus grows with the user's roles and not with the permissions that
// exist.
func (g *GrantScan) Carried(c *Catalog) userd.Grants {
	var out userd.Grants
	for _, id := range g.ids() {
		r, ok := c.roles[id]
		if !ok {
			continue // deleted since the ids were read
		}
		out.Roles = append(out.Roles, r.name)
		out.Permissions = append(out.Permissions, r.permissions...)
		out.Admin = out.Admin || r.admin
	}
	slices.Sort(out.Roles)
	slices.Sort(out.Permissions)
	out.Permissions = slices.Compact(out.Permissions)
	return out
}
