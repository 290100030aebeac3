package web

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/crm"
)

// Company is a company that client profiles may belong to.
type Company struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Domain    *string         `json:"domain" doc:"A hostname, lower-cased; unique among companies regardless of case. null for none."`
	Metadata  json.RawMessage `json:"metadata" doc:"A JSON object of the operator's own fields."`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func companyOf(c crm.Company) Company {
	return Company{ID: c.ID, Name: c.Name, Domain: optional(c.Domain), Metadata: c.Metadata, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type companyOutput struct {
	Body Company
}

type createCompanyInput struct {
	Body struct {
		Name     string          `json:"name" doc:"1 to 200 characters."`
		Domain   string          `json:"domain,omitempty" doc:"A hostname such as example.com (409 domain_taken when another company has it, in any case)."`
		Metadata json.RawMessage `json:"metadata,omitempty" doc:"A JSON object of at most 16 KiB; {} when absent."`
	}
}

func (s *Server) createCompany(ctx context.Context, in *createCompanyInput) (*companyOutput, error) {
	b := in.Body
	c, err := s.crm.CreateCompany(ctx, userd.ActorFrom(ctx), s.client(ctx), crm.CompanyPatch{Name: &b.Name, Domain: &b.Domain, Metadata: b.Metadata})
	if err != nil {
		return nil, err
	}
	return &companyOutput{Body: companyOf(c)}, nil
}

type companiesInput struct {
	Paging
	Q string `query:"q" doc:"Only companies whose name or domain contains this, regardless of case."`
}

type companiesOutput struct {
	Body struct {
		Items      []Company `json:"items"`
		NextCursor *string   `json:"next_cursor"`
	}
}

func (s *Server) listCompanies(ctx context.Context, in *companiesInput) (*companiesOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.crm.Companies(ctx, userd.ActorFrom(ctx), in.Q, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &companiesOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, func(c crm.Company) string { return c.ID }, companyOf)
	return out, nil
}

type companyPath struct {
	ID string `path:"id" doc:"The company's id."`
}

func (s *Server) getCompany(ctx context.Context, in *companyPath) (*companyOutput, error) {
	c, err := s.crm.Company(ctx, userd.ActorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &companyOutput{Body: companyOf(c)}, nil
}

type patchCompanyInput struct {
	ID   string `path:"id"`
	Body struct {
		Name     *string         `json:"name,omitempty" doc:"1 to 200 characters."`
		Domain   *string         `json:"domain,omitempty" doc:"A hostname; \"\" removes it."`
		Metadata json.RawMessage `json:"metadata,omitempty" doc:"A JSON object that replaces the stored one."`
	}
}

func (s *Server) patchCompany(ctx context.Context, in *patchCompanyInput) (*companyOutput, error) {
	b := in.Body
	c, err := s.crm.UpdateCompany(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, crm.CompanyPatch{Name: b.Name, Domain: b.Domain, Metadata: b.Metadata})
	if err != nil {
		return nil, err
	}
	return &companyOutput{Body: companyOf(c)}, nil
}

func (s *Server) deleteCompany(ctx context.Context, in *companyPath) (*struct{}, error) {
	return nil, s.crm.DeleteCompany(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
}

// CompanyRef names a client profile's company.
type CompanyRef struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Domain *string `json:"domain"`
}

// AdminClientProfile is a user's client profile as an administrator sees
// it: with its user and its company.
type AdminClientProfile struct {
	ClientProfile
	UserID  string      `json:"user_id"`
	Company *CompanyRef `json:"company" doc:"The company the profile belongs to; null for none."`
}

type adminClientProfileOutput struct {
	Body AdminClientProfile
}

func adminClientProfileOf(p crm.ClientProfile) *adminClientProfileOutput {
	out := &adminClientProfileOutput{Body: AdminClientProfile{ClientProfile: clientProfileOf(p.Profile).Body, UserID: p.UserID}}
	if c := p.Company; c != nil {
		out.Body.Company = &CompanyRef{ID: c.ID, Name: c.Name, Domain: optional(c.Domain)}
	}
	return out
}

func (s *Server) adminClientProfile(ctx context.Context, in *userIDInput) (*adminClientProfileOutput, error) {
	p, err := s.crm.ClientProfile(ctx, userd.ActorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return adminClientProfileOf(p), nil
}

type putUserCompanyInput struct {
	ID   string `path:"id" doc:"The user's id."`
	Body struct {
		CompanyID *string `json:"company_id" required:"true" nullable:"true" doc:"The company (404 company_not_found otherwise), or null for none."`
	}
}

func (s *Server) putUserCompany(ctx context.Context, in *putUserCompanyInput) (*adminClientProfileOutput, error) {
	company := ""
	if in.Body.CompanyID != nil {
		company = *in.Body.CompanyID
	}
	p, err := s.crm.SetProfileCompany(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID, company)
	if err != nil {
		return nil, err
	}
	return adminClientProfileOf(p), nil
}

// IntegrationMapping says which object of an external system a userd
// object is.
type IntegrationMapping struct {
	ID             string    `json:"id"`
	EverID         string    `json:"ever_id" doc:"The id of the object in userd or the application."`
	ObjectType     string    `json:"object_type" doc:"The kind of that object: user, company, organization…"`
	ExternalID     string    `json:"external_id"`
	ExternalSystem string    `json:"external_system" doc:"Such as twenty."`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func mappingOf(m crm.Mapping) IntegrationMapping {
	return IntegrationMapping{ID: m.ID, EverID: m.EverID, ObjectType: m.ObjectType, ExternalID: m.ExternalID, ExternalSystem: m.ExternalSystem,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

type upsertMappingInput struct {
	Body struct {
		EverID         string `json:"ever_id" doc:"1 to 255 characters."`
		ObjectType     string `json:"object_type" doc:"1 to 64 lower-case letters, digits and _, starting with a letter."`
		ExternalID     string `json:"external_id" doc:"1 to 255 characters."`
		ExternalSystem string `json:"external_system" doc:"As object_type; such as twenty."`
	}
}

type mappingOutput struct {
	Status int
	Body   IntegrationMapping
}

func (s *Server) upsertMapping(ctx context.Context, in *upsertMappingInput) (*mappingOutput, error) {
	b := in.Body
	m, created, err := s.crm.UpsertMapping(ctx, userd.ActorFrom(ctx), s.client(ctx), crm.Mapping{EverID: b.EverID, ObjectType: b.ObjectType,
		ExternalID: b.ExternalID, ExternalSystem: b.ExternalSystem})
	if err != nil {
		return nil, err
	}
	out := &mappingOutput{Status: http.StatusOK, Body: mappingOf(m)}
	if created {
		out.Status = http.StatusCreated
	}
	return out, nil
}

type mappingsInput struct {
	Paging
	EverID         string `query:"ever_id" doc:"Only the mappings of this object (with object_type: its one mapping)."`
	ObjectType     string `query:"object_type"`
	ExternalSystem string `query:"external_system" doc:"Only the mappings to this system (with external_id: the reverse look-up)."`
	ExternalID     string `query:"external_id"`
}

type mappingsOutput struct {
	Body struct {
		Items      []IntegrationMapping `json:"items"`
		NextCursor *string              `json:"next_cursor"`
	}
}

func (s *Server) listMappings(ctx context.Context, in *mappingsInput) (*mappingsOutput, error) {
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	f := crm.MappingFilter{EverID: in.EverID, ObjectType: in.ObjectType, ExternalSystem: in.ExternalSystem, ExternalID: in.ExternalID}
	list, err := s.crm.Mappings(ctx, userd.ActorFrom(ctx), f, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &mappingsOutput{}
	out.Body.Items, out.Body.NextCursor = mapPage(list, in.Limit, func(m crm.Mapping) string { return m.ID }, mappingOf)
	return out, nil
}

type mappingPath struct {
	ID string `path:"id" doc:"The mapping's id."`
}

func (s *Server) deleteMapping(ctx context.Context, in *mappingPath) (*struct{}, error) {
	return nil, s.crm.DeleteMapping(ctx, userd.ActorFrom(ctx), s.client(ctx), in.ID)
}

// TwentyConfig is the connection to a Twenty CRM, without its API key.
type TwentyConfig struct {
	BaseURL     string          `json:"base_url"`
	APIKeySet   bool            `json:"api_key_set" doc:"Whether an API key is stored; the key itself is never shown."`
	Enabled     bool            `json:"enabled"`
	SyncOptions json.RawMessage `json:"sync_options" doc:"A JSON object of synchronisation options."`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	UpdatedBy   *string         `json:"updated_by" doc:"The user who last changed it; null for an API key or a deleted user."`
}

type twentyOutput struct {
	Body TwentyConfig
}

func twentyOf(c crm.TwentyConfig) *twentyOutput {
	return &twentyOutput{Body: TwentyConfig{BaseURL: c.BaseURL, APIKeySet: c.APIKeySet, Enabled: c.Enabled, SyncOptions: c.SyncOptions,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, UpdatedBy: optional(c.UpdatedBy)}}
}

func (s *Server) getTwenty(ctx context.Context, _ *struct{}) (*twentyOutput, error) {
	c, err := s.crm.Twenty(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	return twentyOf(c), nil
}

type putTwentyInput struct {
	Body struct {
		BaseURL     *string         `json:"base_url,omitempty" doc:"https (http only on a loopback host); required the first time. A new base_url needs the api_key again (422 api_key_required)."`
		APIKey      *string         `json:"api_key,omitempty" doc:"Write-only, sealed at rest; absent keeps the stored one, \"\" removes it."`
		Enabled     *bool           `json:"enabled,omitempty" doc:"Needs an API key (422 api_key_required)."`
		SyncOptions json.RawMessage `json:"sync_options,omitempty" doc:"A JSON object of at most 16 KiB that replaces the stored one."`
	}
}

func (s *Server) putTwenty(ctx context.Context, in *putTwentyInput) (*twentyOutput, error) {
	b := in.Body
	c, err := s.crm.PutTwenty(ctx, userd.ActorFrom(ctx), s.client(ctx), crm.TwentyPatch{BaseURL: b.BaseURL, APIKey: b.APIKey, Enabled: b.Enabled, SyncOptions: b.SyncOptions})
	if err != nil {
		return nil, err
	}
	return twentyOf(c), nil
}

// SeedStatus says whether the demonstration data was loaded.
type SeedStatus struct {
	Seeded   bool            `json:"seeded"`
	Version  *string         `json:"version"`
	Checksum *string         `json:"checksum" doc:"SHA-256 of the seed file, in hex; null when marked by hand."`
	SeededBy *string         `json:"seeded_by" doc:"userd seed (the command line), or the id of the administrator or API key that marked it."`
	Summary  json.RawMessage `json:"summary" doc:"What the seed made, or what the administrator gave."`
	SeededAt *time.Time      `json:"seeded_at"`
}

type seedStatusOutput struct {
	Body SeedStatus
}

func seedStatusOf(st crm.SeedStatus) *seedStatusOutput {
	out := &seedStatusOutput{Body: SeedStatus{Seeded: st.Seeded, Summary: st.Summary}}
	if st.Seeded {
		out.Body.Version, out.Body.Checksum, out.Body.SeededBy, out.Body.SeededAt = &st.Version, optional(st.Checksum), &st.SeededBy, &st.SeededAt
	}
	return out
}

func (s *Server) getSeedStatus(ctx context.Context, _ *struct{}) (*seedStatusOutput, error) {
	st, err := s.crm.Status(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	return seedStatusOf(st), nil
}

type putSeedStatusInput struct {
	Body struct {
		Seeded  bool            `json:"seeded" doc:"true marks the database seeded; false clears the mark, so that userd seed may run again."`
		Version string          `json:"version,omitempty" doc:"Required to mark it: at most 100 characters."`
		Summary json.RawMessage `json:"summary,omitempty" doc:"A JSON object of at most 16 KiB."`
	}
}

func (s *Server) putSeedStatus(ctx context.Context, in *putSeedStatusInput) (*seedStatusOutput, error) {
	st, err := s.crm.SetStatus(ctx, userd.ActorFrom(ctx), s.client(ctx), in.Body.Seeded, in.Body.Version, in.Body.Summary)
	if err != nil {
		return nil, err
	}
	return seedStatusOf(st), nil
}
