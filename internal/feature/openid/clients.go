package openid

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/platform/token"
)

// Scopes are the scopes a client may be allowed: OpenID Connect's and
// userd's roles (the user's role names) and organizations (their
// organisations with their role in each).
var Scopes = []string{"openid", "profile", "email", "phone", "offline_access", "roles", "organizations"}

// Grant types a client may use.
const (
	GrantCode    = "authorization_code"
	GrantRefresh = "refresh_token"
)

// ClientIDPrefix starts every client id, SecretPrefix every client secret.
const (
	ClientIDPrefix = "udc_"
	SecretPrefix   = "udcs_"
)

// Client is a row of oauth_clients, without its secret.
type Client struct {
	ID                     string
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	GrantTypes             []string
	// Public clients have no secret and must use PKCE with S256.
	Public bool
	// FirstParty clients are the operator's own: no consent is asked.
	FirstParty           bool
	CreatedBy            string
	CreatedAt, UpdatedAt time.Time
	secretHash           []byte
}

// NewClient is a client to make; nil and empty fields take their defaults
// (every scope; authorization_code and refresh_token).
type NewClient struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	Public, FirstParty     bool
}

// check validates n and fills its defaults.
func (n *NewClient) check() error {
	var fs []userd.FieldError
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || len(n.Name) > 200 {
		fs = append(fs, userd.FieldError{Field: "name", Code: "invalid", Message: "A client has a name of 1 to 200 characters."})
	}
	if len(n.RedirectURIs) == 0 {
		fs = append(fs, userd.FieldError{Field: "redirect_uris", Code: "required", Message: "A client has at least one redirect URI."})
	}
	fs = append(fs, checkURIs("redirect_uris", n.RedirectURIs)...)
	fs = append(fs, checkURIs("post_logout_redirect_uris", n.PostLogoutRedirectURIs)...)
	if n.Scopes == nil {
		n.Scopes = slices.Clone(Scopes)
	}
	for _, sc := range n.Scopes {
		if !slices.Contains(Scopes, sc) {
			fs = append(fs, userd.FieldError{Field: "scopes", Code: "unknown_scope", Message: "Scopes are among " + strings.Join(Scopes, ", ") + ": " + sc + " is not."})
		}
	}
	if !slices.Contains(n.Scopes, "openid") {
		fs = append(fs, userd.FieldError{Field: "scopes", Code: "openid_required", Message: "A client's scopes include openid."})
	}
	return userd.Invalid(fs)
}

// checkURIs refuses what is not an absolute URI without a fragment (RFC
// 6749 section 3.1.2): https, or http on loopback, or an application's own
// scheme (a native app's com.example.app:/callback).
func checkURIs(field string, uris []string) []userd.FieldError {
	if len(uris) > 20 {
		return []userd.FieldError{{Field: field, Code: "too_many", Message: "At most 20 URIs."}}
	}
	for _, raw := range uris {
		u, err := url.Parse(raw)
		ok := err == nil && u.Scheme != "" && u.Fragment == "" && len(raw) <= 2000 && !strings.Contains(raw, "*")
		if ok && u.Scheme == "http" {
			h := u.Hostname()
			ok = h == "localhost" || h == "127.0.0.1" || h == "::1"
		}
		if ok && u.Scheme == "https" {
			ok = u.Host != ""
		}
		if !ok {
			return []userd.FieldError{{Field: field, Code: "invalid_uri", Message: raw + " is not an absolute https URI without a fragment (http only on loopback), nor an application's own scheme."}}
		}
	}
	return nil
}

const clientColumns = `client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, scopes, grant_types, public, first_party, created_by, created_at, updated_at`

func scanClient(row sqldb.Scanner) (Client, error) {
	var c Client
	var redirects, logouts, scopes, grants []byte
	var by sql.NullString
	if err := row.Scan(&c.ID, &c.Name, &c.secretHash, &redirects, &logouts, &scopes, &grants, &c.Public, &c.FirstParty, &by, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	for _, f := range []struct {
		raw []byte
		to  *[]string
	}{{redirects, &c.RedirectURIs}, {logouts, &c.PostLogoutRedirectURIs}, {scopes, &c.Scopes}, {grants, &c.GrantTypes}} {
		if err := json.Unmarshal(f.raw, f.to); err != nil {
			return c, fmt.Errorf("oauth client %s: %w", c.ID, err)
		}
	}
	c.CreatedBy = by.String
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// CreateClient makes a client and returns it with its secret (none for a
// public client), which is shown here only; audited.
func (s *Service) CreateClient(ctx context.Context, a userd.Actor, c userd.Client, n NewClient) (cl Client, secret string, err error) {
	if err := need(a, WritePermission); err != nil {
		return cl, "", err
	}
	if err := n.check(); err != nil {
		return cl, "", err
	}
	var hash []byte
	if !n.Public {
		secret, hash = token.New(SecretPrefix)
	}
	grants := []string{GrantCode, GrantRefresh}
	// System: clients are the application's, not a user's.
	err = s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		id := ClientIDPrefix + strings.ToLower(rand.Text()[:20])
		_, err := tx.Exec(ctx, `INSERT INTO oauth_clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
			id, n.Name, hash, sqldb.JSONStrings(n.RedirectURIs), sqldb.JSONStrings(n.PostLogoutRedirectURIs), sqldb.JSONStrings(n.Scopes), sqldb.JSONStrings(grants),
			n.Public, n.FirstParty, sqldb.Nullable(a.UserID), tx.Now)
		if err != nil {
			return fmt.Errorf("create oauth client: %w", err)
		}
		if cl, err = getClient(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{ActorUserID: a.UserID, APIKeyID: a.APIKeyID, Action: audit.OAuthClientCreated, TargetType: "oauth_client", TargetID: id,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"name": cl.Name, "redirect_uris": cl.RedirectURIs, "public": cl.Public, "first_party": cl.FirstParty}})
	})
	return cl, secret, err
}

func getClient(ctx context.Context, tx *sqldb.Tx, id string) (Client, error) {
	if !strings.HasPrefix(id, ClientIDPrefix) || len(id) > 64 {
		return Client{}, ErrClientNotFound
	}
	return sqldb.One(ctx, tx, ErrClientNotFound, "read oauth client", scanClient, `SELECT `+clientColumns+` FROM oauth_clients WHERE client_id = $1`, id)
}

// client reads a client for the provider.
func (s *Service) client(ctx context.Context, id string) (cl Client, err error) {
	// System: clients are the application's.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		cl, err = getClient(ctx, tx, id)
		return err
	})
	return cl, err
}

// Clients returns every client, newest first.
func (s *Service) Clients(ctx context.Context, a userd.Actor) (out []Client, err error) {
	if err := need(a, ReadPermission); err != nil {
		return nil, err
	}
	// System: clients are the application's.
	err = s.db.View(sqldb.System(ctx), func(tx *sqldb.Tx) (err error) {
		out, err = sqldb.All(ctx, tx, scanClient, `SELECT `+clientColumns+` FROM oauth_clients ORDER BY created_at DESC, client_id`)
		return err
	})
	return out, err
}

// GetClient returns one client.
func (s *Service) GetClient(ctx context.Context, a userd.Actor, id string) (Client, error) {
	if err := need(a, ReadPermission); err != nil {
		return Client{}, err
	}
	return s.client(ctx, id)
}

// DeleteClient deletes a client with its consents, requests, grants and
// tokens: every token it holds stops working at once; audited.
func (s *Service) DeleteClient(ctx context.Context, a userd.Actor, c userd.Client, id string) error {
	if err := need(a, WritePermission); err != nil {
		return err
	}
	// System: clients are the application's.
	return s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
		cl, err := getClient(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_clients WHERE client_id = $1`, id); err != nil {
			return fmt.Errorf("delete oauth client: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{ActorUserID: a.UserID, APIKeyID: a.APIKeyID, Action: audit.OAuthClientDeleted, TargetType: "oauth_client", TargetID: id,
			IP: c.IP, UserAgent: c.UserAgent, Metadata: map[string]any{"name": cl.Name}})
	})
}

// errBadSecret is what a wrong or missing client secret gives the
// provider (it answers invalid_client).
var errBadSecret = errors.New("client authentication failed")

// authenticate checks a confidential client's secret in constant time.
func (s *Service) authenticate(ctx context.Context, id, secret string) (Client, error) {
	cl, err := s.client(ctx, id)
	if err != nil {
		return cl, err
	}
	if cl.Public || subtle.ConstantTimeCompare(token.Hash(secret), cl.secretHash) != 1 {
		// System: a refusal in no user's trail.
		err := s.db.Tx(sqldb.System(ctx), func(tx *sqldb.Tx) error {
			return audit.Record(ctx, tx, audit.Event{Action: audit.OAuthRefused, TargetType: "oauth_client", TargetID: cl.ID,
				Metadata: map[string]any{"error": "invalid_client"}})
		})
		return cl, errors.Join(errBadSecret, err)
	}
	return cl, nil
}
