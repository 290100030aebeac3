package organization

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/platform/sqldb"
)

// What administrators read of every organisation. These reads cross
// users (sqldb.System) and check no permission: their callers hold the
// administration's (users:read for the routes that call them).

// Summary is an organisation as an administrator lists it: Role and
// JoinedAt are those of the user the list was asked for (empty without
// one), Members its count of members.
type Summary struct {
	Org
	Members int
}

// Person is a member with the identifiers an administrator knows them by
// (empty when the user has none).
type Person struct {
	Member
	Email, Username string
}

// Detail is an organisation with its pending invitations (at most
// MaxPendingInvitations, newest first).
type Detail struct {
	Summary
	Pending []Invitation
}

// summaryColumns are a Summary's columns after ownColumns.
const summaryColumns = `(SELECT count(*) FROM organization_members c WHERE c.organization_id = o.id)`

func scanSummary(row sqldb.Scanner) (Summary, error) {
	var s Summary
	var role sql.NullString
	var joined sql.NullTime
	err := scanOrgInto(row, &s.Org, &role, &joined, &s.Members)
	s.Role = role.String
	if joined.Valid {
		s.JoinedAt = joined.Time.UTC()
	}
	return s, err
}

// Search returns up to limit organisations, newest first, after the one
// with id before ("" for the first page), whose name or slug contains q
// (any case; "" for all); with userID, only those the user belongs to,
// with their role and when they joined (none for an id that names no one).
func (s *Service) Search(ctx context.Context, q, userID, before string, limit int) (out []Summary, err error) {
	pattern := sqldb.Contains(q)
	query, args := `SELECT `+ownColumns+`, NULL, NULL, `+summaryColumns+` FROM organizations o WHERE`, []any{sqldb.Before(before), pattern, limit}
	if userID != "" {
		id, ok := userd.ParseID(userID)
		if !ok {
			return []Summary{}, nil
		}
		query = `SELECT ` + ownColumns + `, m.role, m.joined_at, ` + summaryColumns + ` FROM organization_members m
			JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = $4 AND`
		args = append(args, id)
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		out, err = sqldb.All(ctx, tx, scanSummary, query+` o.id < $1 AND ($2 = '%%' OR lower(o.name) LIKE $2 ESCAPE '\' OR o.slug LIKE $2 ESCAPE '\')
			ORDER BY o.id DESC LIMIT $3`, args...)
		if err != nil {
			return fmt.Errorf("search organizations: %w", err)
		}
		return nil
	})
	return out, err
}

// Inspect returns an organisation with its pending invitations. It returns
// ErrNotFound.
func (s *Service) Inspect(ctx context.Context, id string) (d Detail, err error) {
	if _, ok := userd.ParseID(id); !ok {
		return d, ErrNotFound
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		d.Summary, err = sqldb.One(ctx, tx, ErrNotFound, "read organization", scanSummary,
			`SELECT `+ownColumns+`, NULL, NULL, `+summaryColumns+` FROM organizations o WHERE o.id = $1`, id)
		if err != nil {
			return err
		}
		d.Pending, err = sqldb.All(ctx, tx, scanInvitation, `SELECT `+invitationColumns+` FROM organization_invitations
			WHERE organization_id = $1 AND accepted_at IS NULL AND expires_at > $2 ORDER BY id DESC LIMIT $3`, d.ID, tx.Now, MaxPendingInvitations)
		if err != nil {
			return fmt.Errorf("list pending invitations: %w", err)
		}
		return nil
	})
	return d, err
}

// People returns up to limit members of an organisation, by user id
// descending, after the member with user id before ("" for the first
// page), with their email and username. It returns ErrNotFound.
func (s *Service) People(ctx context.Context, id, before string, limit int) (out []Person, err error) {
	if _, ok := userd.ParseID(id); !ok {
		return nil, ErrNotFound
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM organizations WHERE id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("read organization: %w", err)
		}
		if n == 0 {
			return ErrNotFound
		}
		var err error
		out, err = sqldb.All(ctx, tx, func(row sqldb.Scanner) (Person, error) {
			var p Person
			err := row.Scan(&p.OrganizationID, &p.UserID, &p.Role, &p.JoinedAt, &p.Email, &p.Username)
			p.JoinedAt = p.JoinedAt.UTC()
			return p, err
		}, `SELECT m.organization_id, m.user_id, m.role, m.joined_at, COALESCE(u.email, ''), COALESCE(u.username, '')
			FROM organization_members m JOIN users u ON u.id = m.user_id
			WHERE m.organization_id = $1 AND m.user_id < $2 ORDER BY m.user_id DESC LIMIT $3`, id, sqldb.Before(before), limit)
		if err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		return nil
	})
	return out, err
}
