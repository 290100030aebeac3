package crm

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
)

// SeedStatus is seed_status: whether the demonstration data was loaded,
// and when, by whom, from what.
type SeedStatus struct {
	Seeded   bool
	Version  string
	Checksum string // "" when marked by hand
	// SeededBy is "userd seed" for the command line, or the id of the
	// administrator or API key that marked it.
	SeededBy string
	Summary  json.RawMessage
	SeededAt time.Time
}

// CommandLine is SeededBy for the command line's seed.
const CommandLine = "userd seed"

// ErrAlreadySeeded answers a seed of a database seeded before; Seed
// returns the status with it.
var ErrAlreadySeeded = userd.Errorf(userd.KindConflict, "already_seeded", "The database was seeded already.")

const statusColumns = `version, checksum, seeded_by, summary, seeded_at`

func scanStatus(row sqldb.Scanner) (SeedStatus, error) {
	st := SeedStatus{Seeded: true}
	var sum sql.NullString
	var summary string
	err := row.Scan(&st.Version, &sum, &st.SeededBy, &summary, &st.SeededAt)
	st.Checksum, st.Summary, st.SeededAt = sum.String, json.RawMessage(summary), st.SeededAt.UTC()
	return st, err
}

// readStatus returns the seed's status (Seeded false when not seeded).
func readStatus(ctx context.Context, tx *sqldb.Tx) (SeedStatus, error) {
	st, err := scanStatus(tx.QueryRow(ctx, `SELECT `+statusColumns+` FROM seed_status WHERE id = 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return SeedStatus{Summary: json.RawMessage("{}")}, nil
	}
	if err != nil {
		return st, fmt.Errorf("read seed_status: %w", err)
	}
	return st, nil
}

// Status returns the seed's status. It returns a forbidden error without
// SeedWrite.
func (s *Service) Status(ctx context.Context, a userd.Actor) (st SeedStatus, err error) {
	if err := need(a, SeedWrite); err != nil {
		return st, err
	}
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		st, err = readStatus(ctx, tx)
		return err
	})
	return st, err
}

// SetStatus marks the database seeded by the actor (with version and a
// summary object, replacing any status) or, seeded false, clears the mark,
// so that `userd seed` may run again; audited as audit.CRMSeedStatusMarked
// or audit.CRMSeedStatusCleared. It returns a forbidden error without
// SeedWrite and a validation error.
func (s *Service) SetStatus(ctx context.Context, a userd.Actor, cl userd.Client, seeded bool, version string, summary json.RawMessage) (st SeedStatus, err error) {
	if err := need(a, SeedWrite); err != nil {
		return st, err
	}
	fs, sum := checkObject(nil, "summary", summary)
	if seeded {
		fs = checkVersion(fs, version)
	}
	if err := userd.Invalid(fs); err != nil {
		return st, err
	}
	by := a.UserID
	if a.APIKeyID != "" {
		by = a.APIKeyID
	}
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		action := audit.CRMSeedStatusCleared
		if seeded {
			action = audit.CRMSeedStatusMarked
			if _, err := tx.Exec(ctx, `INSERT INTO seed_status (id, `+statusColumns+`) VALUES (1, $1, NULL, $2, $3, $4)
				ON CONFLICT (id) DO UPDATE SET version = excluded.version, checksum = NULL, seeded_by = excluded.seeded_by,
					summary = excluded.summary, seeded_at = excluded.seeded_at`, version, by, sum, tx.Now); err != nil {
				return fmt.Errorf("mark seed_status: %w", err)
			}
		} else if _, err := tx.Exec(ctx, `DELETE FROM seed_status WHERE id = 1`); err != nil {
			return fmt.Errorf("clear seed_status: %w", err)
		}
		if st, err = readStatus(ctx, tx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, event(cl, action, "seed_status", "1", map[string]any{"version": version}))
	})
	return st, err
}

func checkVersion(fs []userd.FieldError, version string) []userd.FieldError {
	if version == "" {
		return append(fs, userd.FieldError{Field: "version", Code: "required", Message: "Name the seed's version."})
	}
	return userd.CheckText(fs, "version", version, 100)
}

// Seed is the demonstration data that Seed loads.
type Seed struct {
	// Version names the data; Checksum is the file's SHA-256, in hex.
	Version, Checksum string
	Roles             []rbac.RolePatch
	Users             []SeedUser
	Companies         []CompanyPatch
	Mappings          []Mapping
}

// SeedUser is a user of the seed, with the names of the roles they get
// besides rbac.DefaultRole and the domain of their client profile's
// company ("" for none).
type SeedUser struct {
	account.Identity
	account.Profile
	Password      string
	Roles         []string
	CompanyDomain string
}

// Seed loads the demonstration data once, in one transaction, and records
// it in seed_status (audited as audit.CRMSeedApplied). It is the
// operator's, at the command line, and checks no permission. It makes the
// roles, the companies, the users (passwords hashed as for any user, each
// with rbac.DefaultRole and their roles, their client profiles linked to
// their companies) and the integration mappings. A database seeded before
// (or marked seeded) changes nothing: Seed returns its status and
// ErrAlreadySeeded. Any error leaves nothing behind, not even a status. It
// returns validation errors whose fields name the record (users[2].email),
// and the errors of what it makes (rbac.ErrRoleNameTaken, account's
// collisions, ErrDomainTaken).
func (s *Service) Seed(ctx context.Context, d Seed) (st SeedStatus, err error) {
	hashes, metas, err := s.checkSeed(ctx, d)
	if err != nil {
		return st, err
	}
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO seed_status (id, `+statusColumns+`) VALUES (1, $1, $2, $3, '{}', $4) ON CONFLICT (id) DO NOTHING`,
			d.Version, sqldb.Nullable(d.Checksum), CommandLine, tx.Now)
		if err != nil {
			return fmt.Errorf("claim seed_status: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if st, err = readStatus(ctx, tx); err != nil {
				return err
			}
			return ErrAlreadySeeded
		}
		summary, err := s.load(ctx, tx, d, hashes, metas)
		if err != nil {
			return err
		}
		raw, _ := json.Marshal(summary)
		if _, err := tx.Exec(ctx, `UPDATE seed_status SET summary = $1 WHERE id = 1`, string(raw)); err != nil {
			return fmt.Errorf("seed_status summary: %w", err)
		}
		if st, err = readStatus(ctx, tx); err != nil {
			return err
		}
		summary["version"], summary["checksum"] = d.Version, d.Checksum
		return audit.Record(ctx, tx, event(userd.Client{}, audit.CRMSeedApplied, "seed_status", "1", summary))
	})
	return st, err
}

// checkSeed validates d before any transaction, and returns the users'
// password hashes and the companies' metadata to store.
func (s *Service) checkSeed(ctx context.Context, d Seed) (hashes, metas []string, err error) {
	fs := checkVersion(nil, d.Version)
	at := func(what string, i int, errs []userd.FieldError) {
		for _, f := range errs {
			f.Field = fmt.Sprintf("%s[%d].%s", what, i, f.Field)
			fs = append(fs, f)
		}
	}
	for i := range d.Users {
		u := &d.Users[i]
		errs := append(u.Identity.Check(), u.Profile.Check()...)
		if u.Password != "" {
			errs = append(errs, auth.CheckPassword("password", u.Password, u.Identity)...)
		}
		at("users", i, errs)
	}
	for i := range d.Companies {
		meta, err := d.Companies[i].check(true)
		if e := userd.ErrorOf(err); e != nil {
			at("companies", i, e.Fields)
		}
		metas = append(metas, meta)
	}
	for i, m := range d.Mappings {
		if e := userd.ErrorOf(m.check()); e != nil {
			at("integration_mappings", i, e.Fields)
		}
	}
	if err := userd.Invalid(fs); err != nil {
		return nil, nil, err
	}
	for _, u := range d.Users {
		h := ""
		if u.Password != "" {
			if h, err = s.deps.Hasher.Hash(ctx, u.Password); err != nil {
				return nil, nil, err
			}
		}
		hashes = append(hashes, h)
	}
	return hashes, metas, nil
}

// load makes what d holds in tx and returns how many of each it made.
func (s *Service) load(ctx context.Context, tx *sqldb.Tx, d Seed, hashes, metas []string) (map[string]any, error) {
	for i, r := range d.Roles {
		if _, err := rbac.Create(ctx, tx, r); err != nil {
			return nil, fmt.Errorf("roles[%d]: %w", i, err)
		}
	}
	companies := map[string]string{} // id by domain
	for i, p := range d.Companies {
		c, err := insertCompany(ctx, tx, p, metas[i])
		if err != nil {
			return nil, fmt.Errorf("companies[%d]: %w", i, err)
		}
		companies[c.Domain] = c.ID
	}
	for i, u := range d.Users {
		made, err := account.Insert(ctx, tx, account.New{Identity: u.Identity, Profile: u.Profile, PasswordHash: hashes[i]})
		if err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
		for _, r := range append([]string{rbac.DefaultRole}, u.Roles...) {
			if _, err := rbac.Assign(ctx, tx, made.ID, r); err != nil {
				return nil, fmt.Errorf("users[%d]: role %s: %w", i, r, err)
			}
		}
		if u.CompanyDomain == "" {
			continue
		}
		id, ok := companies[strings.ToLower(u.CompanyDomain)]
		if !ok {
			return nil, userd.Invalid([]userd.FieldError{{Field: fmt.Sprintf("users[%d].company_domain", i), Code: "company_not_found",
				Message: "No company of the seed has this domain."}})
		}
		if _, err := engagement.SetCompany(ctx, tx, made.ID, id); err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
	}
	for i, m := range d.Mappings {
		if _, _, err := upsertMapping(ctx, tx, m); err != nil {
			return nil, fmt.Errorf("integration_mappings[%d]: %w", i, err)
		}
	}
	return map[string]any{"roles": len(d.Roles), "users": len(d.Users), "companies": len(d.Companies), "integration_mappings": len(d.Mappings)}, nil
}
