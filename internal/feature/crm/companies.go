package crm

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Errors of companies.
var (
	ErrCompanyNotFound = userd.Errorf(userd.KindNotFound, "company_not_found", "No such company.")
	ErrDomainTaken     = userd.Errorf(userd.KindConflict, "domain_taken", "Another company has this domain.")
)

// Company is a row of companies.
type Company struct {
	ID, Name             string
	Domain               string // "" for none
	Metadata             json.RawMessage
	CreatedAt, UpdatedAt time.Time
}

// CompanyPatch creates (every nil field empty; Name required) or changes a
// company (nil fields stay as they are). Domain "" removes the domain;
// Metadata replaces the whole object.
type CompanyPatch struct {
	Name, Domain *string
	Metadata     json.RawMessage
}

// check validates p, normalises its domain, and returns the metadata to
// store ("" to keep the stored one).
func (p *CompanyPatch) check(creating bool) (string, error) {
	var fs []userd.FieldError
	switch {
	case p.Name == nil && creating:
		fs = append(fs, userd.FieldError{Field: "name", Code: "required", Message: "A company has a name."})
	case p.Name != nil:
		*p.Name = strings.TrimSpace(*p.Name)
		if *p.Name == "" {
			fs = append(fs, userd.FieldError{Field: "name", Code: "required", Message: "A company has a name."})
		}
		fs = userd.CheckText(fs, "name", *p.Name, 200)
	}
	if p.Domain != nil {
		d := strings.ToLower(strings.TrimSpace(*p.Domain))
		if d != "" && !hostname(d) {
			fs = append(fs, userd.FieldError{Field: "domain", Code: "invalid_domain", Message: "A domain is a hostname such as example.com."})
		}
		*p.Domain = d
	}
	var meta string
	if p.Metadata != nil || creating {
		fs, meta = checkObject(fs, "metadata", p.Metadata)
	}
	return meta, userd.Invalid(fs)
}

// hostname reports whether d (lower-case) is a DNS name of at least two
// labels: letters, digits and inner hyphens, 63 bytes a label, 253 in all,
// and a top-level label that is not a number.
func hostname(d string) bool {
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

const companyColumns = `id, name, domain, metadata, created_at, updated_at`

func scanCompany(row sqldb.Scanner) (Company, error) {
	var c Company
	var domain sql.NullString
	var meta string
	err := row.Scan(&c.ID, &c.Name, &domain, &meta, &c.CreatedAt, &c.UpdatedAt)
	c.Domain, c.Metadata = domain.String, json.RawMessage(meta)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

// domainTaken maps the violation of the domains' unique index.
func domainTaken(err error, what string) error {
	if sqldb.Violated(err, sqldb.Unique, "idx_companies_domain") {
		return ErrDomainTaken
	}
	return fmt.Errorf("%s: %w", what, err)
}

// readCompany reads the company with id, or ErrCompanyNotFound.
func readCompany(ctx context.Context, tx *sqldb.Tx, id string) (Company, error) {
	return sqldb.One(ctx, tx, ErrCompanyNotFound, "read company", scanCompany, `SELECT `+companyColumns+` FROM companies WHERE id = $1`, id)
}

// insertCompany makes a company from a checked patch.
func insertCompany(ctx context.Context, tx *sqldb.Tx, p CompanyPatch, meta string) (Company, error) {
	c, err := sqldb.One(ctx, tx, nil, "insert company", scanCompany, `INSERT INTO companies (id, name, domain, metadata, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5) RETURNING `+companyColumns, userd.NewID(tx.Now), *p.Name, sqldb.Nullable(account.Deref(p.Domain)), meta, tx.Now)
	if err != nil {
		return c, domainTaken(err, "insert company")
	}
	return c, nil
}

// CreateCompany makes a company, audited as audit.CRMCompanyCreated. It
// returns a forbidden error without CompaniesWrite, a validation error
// and ErrDomainTaken.
func (s *Service) CreateCompany(ctx context.Context, a userd.Actor, cl userd.Client, p CompanyPatch) (c Company, err error) {
	if err := need(a, CompaniesWrite); err != nil {
		return c, err
	}
	meta, err := p.check(true)
	if err != nil {
		return c, err
	}
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if c, err = insertCompany(ctx, tx, p, meta); err != nil {
			return err
		}
		return audit.Record(ctx, tx, event(cl, audit.CRMCompanyCreated, "company", c.ID, map[string]any{"name": c.Name, "domain": c.Domain}))
	})
	return c, err
}

// event is an administrator's audit event, in no user's trail.
func event(cl userd.Client, action, targetType, targetID string, meta map[string]any) audit.Event {
	return audit.Event{Action: action, TargetType: targetType, TargetID: targetID, IP: cl.IP, UserAgent: cl.UserAgent, Metadata: meta}
}

// Companies returns up to limit companies, newest first, after the one
// with id before, whose name or domain contains q (regardless of case; ""
// matches all). It returns a forbidden error without CompaniesWrite.
func (s *Service) Companies(ctx context.Context, a userd.Actor, q, before string, limit int) (cs []Company, err error) {
	if err := need(a, CompaniesWrite); err != nil {
		return nil, err
	}
	pattern := sqldb.Contains(q)
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		cs, err = sqldb.All(ctx, tx, scanCompany, `SELECT `+companyColumns+` FROM companies
			WHERE id < $1 AND ($2 = '%%' OR lower(name) LIKE $2 ESCAPE '\' OR domain LIKE $2 ESCAPE '\')
			ORDER BY id DESC LIMIT $3`, sqldb.Before(before), pattern, limit)
		if err != nil {
			return fmt.Errorf("list companies: %w", err)
		}
		return nil
	})
	return cs, err
}

// Company returns a company. It returns a forbidden error without
// CompaniesWrite and ErrCompanyNotFound.
func (s *Service) Company(ctx context.Context, a userd.Actor, id string) (c Company, err error) {
	if err := need(a, CompaniesWrite); err != nil {
		return c, err
	}
	if _, ok := userd.ParseID(id); !ok {
		return c, ErrCompanyNotFound
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		c, err = readCompany(ctx, tx, id)
		return err
	})
	return c, err
}

// UpdateCompany changes a company, audited as audit.CRMCompanyUpdated. It
// returns what CreateCompany returns, and ErrCompanyNotFound.
func (s *Service) UpdateCompany(ctx context.Context, a userd.Actor, cl userd.Client, id string, p CompanyPatch) (c Company, err error) {
	if err := need(a, CompaniesWrite); err != nil {
		return c, err
	}
	meta, err := p.check(false)
	if err != nil {
		return c, err
	}
	if _, ok := userd.ParseID(id); !ok {
		return c, ErrCompanyNotFound
	}
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		old, err := readCompany(ctx, tx, id)
		if err != nil {
			return err
		}
		name, domain, metaOut := old.Name, old.Domain, string(old.Metadata)
		if p.Name != nil {
			name = *p.Name
		}
		if p.Domain != nil {
			domain = *p.Domain
		}
		if meta != "" {
			metaOut = meta
		}
		c, err = sqldb.One(ctx, tx, ErrCompanyNotFound, "update company", scanCompany, `UPDATE companies SET name = $1, domain = $2, metadata = $3, updated_at = $4
			WHERE id = $5 RETURNING `+companyColumns, name, sqldb.Nullable(domain), metaOut, tx.Now, id)
		if err != nil {
			return domainTaken(err, "update company")
		}
		return audit.Record(ctx, tx, event(cl, audit.CRMCompanyUpdated, "company", c.ID, map[string]any{"name": c.Name, "domain": c.Domain}))
	})
	return c, err
}

// DeleteCompany deletes a company; the client profiles that belonged to it
// belong to none (SET NULL). Audited as audit.CRMCompanyDeleted. It
// returns a forbidden error without CompaniesWrite and ErrCompanyNotFound.
func (s *Service) DeleteCompany(ctx context.Context, a userd.Actor, cl userd.Client, id string) error {
	if err := need(a, CompaniesWrite); err != nil {
		return err
	}
	if _, ok := userd.ParseID(id); !ok {
		return ErrCompanyNotFound
	}
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if err := tx.ExecOne(ctx, ErrCompanyNotFound, `DELETE FROM companies WHERE id = $1`, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, event(cl, audit.CRMCompanyDeleted, "company", id, nil))
	})
}

// ClientProfile is a user's client profile with its company, as an
// administrator sees it.
type ClientProfile struct {
	engagement.Profile
	Company *Company // nil for none
}

// ClientProfile returns the user's client profile with its company. It
// returns a forbidden error without users:read, and
// engagement.ErrProfileNotFound.
func (s *Service) ClientProfile(ctx context.Context, a userd.Actor, userID string) (p ClientProfile, err error) {
	if err := need(a, usersRead); err != nil {
		return p, err
	}
	if _, ok := userd.ParseID(userID); !ok {
		return p, engagement.ErrProfileNotFound
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		profile, company, err := engagement.ProfileCompany(ctx, tx, userID)
		if err != nil {
			return err
		}
		p, err = withCompany(ctx, tx, profile, company)
		return err
	})
	return p, err
}

// withCompany returns profile with the company of id ("" for none).
func withCompany(ctx context.Context, tx *sqldb.Tx, profile engagement.Profile, id string) (ClientProfile, error) {
	p := ClientProfile{Profile: profile}
	if id == "" {
		return p, nil
	}
	c, err := readCompany(ctx, tx, id)
	p.Company = &c
	return p, err
}

// SetProfileCompany links the user's client profile (made on first use) to
// a company, or unlinks it when companyID is "", audited as
// audit.CRMProfileCompanySet in the user's trail. It returns a forbidden
// error without CompaniesWrite, ErrCompanyNotFound and
// engagement.ErrUserGone (for a user who does not exist).
func (s *Service) SetProfileCompany(ctx context.Context, a userd.Actor, cl userd.Client, userID, companyID string) (p ClientProfile, err error) {
	if err := need(a, CompaniesWrite); err != nil {
		return p, err
	}
	if _, ok := userd.ParseID(userID); !ok {
		return p, engagement.ErrUserGone
	}
	if _, ok := userd.ParseID(companyID); !ok && companyID != "" {
		return p, ErrCompanyNotFound
	}
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		if companyID != "" {
			// Held until the end, so that the company is not deleted
			// between the check and the link.
			if ok, err := tx.LockRow(ctx, "companies", "id", companyID); err != nil || !ok {
				return cmp.Or[error](err, ErrCompanyNotFound)
			}
		}
		profile, err := engagement.SetCompany(ctx, tx, userID, companyID)
		if err != nil {
			return err
		}
		if p, err = withCompany(ctx, tx, profile, companyID); err != nil {
			return err
		}
		e := event(cl, audit.CRMProfileCompanySet, "client_profile", profile.ID, map[string]any{"company_id": companyID})
		e.UserID, e.ClientID = userID, profile.ID
		return audit.Record(ctx, tx, e)
	})
	return p, err
}
