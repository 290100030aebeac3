package web

import (
	"net/http"
	"strings"

	"github.com/userd/userd/internal/feature/openid"
)

// oauthClientsPage is the OpenID Provider's clients and the scopes a new
// one may be given.
type oauthClientsPage struct {
	Clients []openid.Client
	Scopes  []string
	Off     bool // the provider is off (--openid-provider=false)
}

// oauthSecretPage is a client as made, with its secret shown this once.
type oauthSecretPage struct {
	openid.Client
	Secret string
}

// consoleOAuthClients lists the OpenID Provider's clients, as GET
// /v1/admin/oauth-clients does; with oauth_clients:write, the form that
// registers one and each one's deletion.
func (s *Server) consoleOAuthClients(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "OpenID clients"
	if s.oidc == nil {
		v.Data = oauthClientsPage{Off: true}
		s.render(w, http.StatusOK, "oauth_clients", v)
		return
	}
	list, err := s.oidc.Clients(r.Context(), v.caller.Actor)
	if err != nil {
		s.consoleFail(w, r, v, v.Title, err)
		return
	}
	v.Data = oauthClientsPage{Clients: list, Scopes: openid.Scopes}
	if r.URL.Query().Get("done") == "deleted" {
		v.Notice = "The client is deleted: its consents, grants and tokens are gone."
	}
	s.render(w, http.StatusOK, "oauth_clients", v)
}

// consoleCreateOAuthClient registers a client, as POST
// /v1/admin/oauth-clients does, and shows its secret on the answer, this
// once (render's Cache-Control: no-store).
func (s *Server) consoleCreateOAuthClient(w http.ResponseWriter, r *http.Request, v *consoleView) {
	if s.oidc == nil {
		s.failBack(w, r, v, "Register an application", "/admin/oauth-clients", errProviderOff)
		return
	}
	n := openid.NewClient{Name: r.PostFormValue("name"), RedirectURIs: textLines(r.PostFormValue("redirect_uris")),
		PostLogoutRedirectURIs: textLines(r.PostFormValue("post_logout_redirect_uris")), Scopes: r.PostForm["scopes"],
		Public: r.PostFormValue("public") == "yes", FirstParty: r.PostFormValue("first_party") == "yes"}
	c, secret, err := s.oidc.CreateClient(r.Context(), v.caller.Actor, v.client, n)
	if err != nil {
		s.failBack(w, r, v, "Register an application", "/admin/oauth-clients", err)
		return
	}
	v.Title, v.Data = "OpenID client", oauthSecretPage{Client: c, Secret: secret}
	s.render(w, http.StatusCreated, "oauth_client", v)
}

// textLines splits a text area into its lines, trimmed, blank ones left
// out.
func textLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// consoleDeleteOAuthClient deletes a client, as DELETE
// /v1/admin/oauth-clients/{client_id} does, once its box is ticked.
func (s *Server) consoleDeleteOAuthClient(w http.ResponseWriter, r *http.Request, v *consoleView) {
	if r.PostFormValue("confirm") != "yes" {
		s.failBack(w, r, v, "Delete the client", "/admin/oauth-clients", errWebhookNotConfirmed)
		return
	}
	if s.oidc == nil {
		s.failBack(w, r, v, "Delete the client", "/admin/oauth-clients", errProviderOff)
		return
	}
	if err := s.oidc.DeleteClient(r.Context(), v.caller.Actor, v.client, r.PathValue("client")); err != nil {
		s.failBack(w, r, v, "Delete the client", "/admin/oauth-clients", err)
		return
	}
	http.Redirect(w, r, "/admin/oauth-clients?done=deleted", http.StatusSeeOther)
}
