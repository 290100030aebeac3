package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/crm"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/password"
)

const seedUsage = `usage: userd seed FILE [--data-dir DIR | --database-url URL] (a JSON object {"version", "roles", "users", "companies", "integration_mappings"})`

// seedFile is the JSON of a seed file, read once and never written.
type seedFile struct {
	Version string `json:"version"`
	Roles   []struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		IsAdmin     bool     `json:"is_admin"`
		Permissions []string `json:"permissions"`
	} `json:"roles"`
	Users []struct {
		Email         string   `json:"email"`
		Username      string   `json:"username"`
		PhoneNumber   string   `json:"phone_number"`
		Password      string   `json:"password"`
		FirstName     string   `json:"first_name"`
		LastName      string   `json:"last_name"`
		Roles         []string `json:"roles"`
		CompanyDomain string   `json:"company_domain"`
	} `json:"users"`
	Companies []struct {
		Name     string          `json:"name"`
		Domain   string          `json:"domain"`
		Metadata json.RawMessage `json:"metadata"`
	} `json:"companies"`
	Mappings []struct {
		EverID         string `json:"ever_id"`
		ObjectType     string `json:"object_type"`
		ExternalID     string `json:"external_id"`
		ExternalSystem string `json:"external_system"`
	} `json:"integration_mappings"`
}

// seed returns what f holds as crm.Seed, with checksum.
func (f seedFile) seed(checksum string) crm.Seed {
	d := crm.Seed{Version: f.Version, Checksum: checksum}
	for _, r := range f.Roles {
		d.Roles = append(d.Roles, rbac.RolePatch{Name: &r.Name, Description: &r.Description, IsAdmin: &r.IsAdmin, Permissions: &r.Permissions})
	}
	for _, u := range f.Users {
		d.Users = append(d.Users, crm.SeedUser{Identity: account.Identity{Email: u.Email, Username: u.Username, PhoneNumber: u.PhoneNumber},
			Profile: account.Profile{FirstName: u.FirstName, LastName: u.LastName}, Password: u.Password, Roles: u.Roles, CompanyDomain: u.CompanyDomain})
	}
	for _, c := range f.Companies {
		d.Companies = append(d.Companies, crm.CompanyPatch{Name: &c.Name, Domain: &c.Domain, Metadata: c.Metadata})
	}
	for _, m := range f.Mappings {
		d.Mappings = append(d.Mappings, crm.Mapping{EverID: m.EverID, ObjectType: m.ObjectType, ExternalID: m.ExternalID, ExternalSystem: m.ExternalSystem})
	}
	return d
}

// seedCmd runs `userd seed FILE`: the operator loads demonstration data
// once, in one transaction, recorded in seed_status. A database seeded
// before changes nothing: the command says when it was seeded.
func seedCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		return errors.New(seedUsage)
	}
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var file seedFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	db, err := openWith(ctx, "seed", args[1:], func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	svc := crm.NewService(db, crm.Deps{Hasher: password.New(password.OWASP, 0)})
	st, err := svc.Seed(ctx, file.seed(hex.EncodeToString(sum[:])))
	if errors.Is(err, crm.ErrAlreadySeeded) {
		_, err = fmt.Fprintf(stdout, "already seeded at %s (version %s, by %s): nothing changed\n", st.SeededAt.Format(time.RFC3339), st.Version, st.SeededBy)
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	_, err = fmt.Fprintf(stdout, "seeded %s at %s: %s\n", st.Version, st.SeededAt.Format(time.RFC3339), st.Summary)
	return err
}
