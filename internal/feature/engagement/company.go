package engagement

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/userd/userd/internal/platform/sqldb"
)

// SetCompany links the user's client profile (made on first use) to the
// company companyID, or unlinks it when companyID is "", and returns the
// profile. The caller (the crm package, which owns companies) checks that
// the company exists and holds it until the transaction ends. It returns
// ErrUserGone.
func SetCompany(ctx context.Context, tx *sqldb.Tx, userID, companyID string) (Profile, error) {
	id, err := ClaimProfile(ctx, tx, userID)
	if err != nil {
		return Profile{}, err
	}
	p, err := scanProfile(tx.QueryRow(ctx, `UPDATE client_profiles SET company_id = $1, updated_at = $2 WHERE id = $3 RETURNING `+profileColumns,
		sqldb.Nullable(companyID), tx.Now, id))
	if err != nil {
		return Profile{}, fmt.Errorf("set client profile's company: %w", err)
	}
	return p, nil
}

// ProfileCompany returns the user's client profile and the id of its
// company ("" for none). It returns ErrProfileNotFound.
func ProfileCompany(ctx context.Context, tx *sqldb.Tx, userID string) (Profile, string, error) {
	var company sql.NullString
	row := tx.QueryRow(ctx, `SELECT `+profileColumns+`, company_id FROM client_profiles WHERE user_id = $1`, userID)
	p, err := scanProfile(scanAlso{row, &company})
	if errors.Is(err, sql.ErrNoRows) {
		return p, "", ErrProfileNotFound
	}
	if err != nil {
		return p, "", fmt.Errorf("read client profile: %w", err)
	}
	return p, company.String, nil
}

// scanAlso scans its row into the destinations it is given, then into
// more: the columns a query selects after those a scan function knows.
type scanAlso struct {
	row  sqldb.Scanner
	more *sql.NullString
}

func (s scanAlso) Scan(dest ...any) error { return s.row.Scan(append(dest, s.more)...) }
