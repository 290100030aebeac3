package web

import (
	"net/http"
	"net/url"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/apikey"
	"github.com/userd/userd/internal/feature/rbac"
)

// keyLine is an API key as the keys' page lists it.
type keyLine struct {
	apikey.Key
	State string // active, expired or revoked
}

// apiKeysPage is a page of API keys, and what a new one may carry.
type apiKeysPage struct {
	Keys    []keyLine
	Next    string
	Choices []permGroup // the permissions the administrator may give a key
}

// createdKeyPage is the answer to a key's creation: the key, shown this
// once.
type createdKeyPage struct {
	apikey.Key
	Secret string
}

// keyNotices are the messages shown after an action on the keys' page.
var keyNotices = map[string]string{
	"revoked": "The API key is revoked: it, and every key it made, is refused from now on.",
}

// keyChoices returns the permissions that v's administrator may give an
// API key (each one they hold, as admin.Service.CreateAPIKey requires):
// from every permission when they may read them, else from their own.
func (s *Server) keyChoices(r *http.Request, v *consoleView) ([]permGroup, error) {
	var perms []rbac.Permission
	if v.Can(rolesRead) {
		all, err := s.admin.Permissions(r.Context(), v.who())
		if err != nil {
			return nil, err
		}
		for _, p := range all {
			if v.Can(p.Key) {
				perms = append(perms, p)
			}
		}
	} else {
		for _, k := range v.grants.Permissions {
			perms = append(perms, rbac.Permission{Key: k})
		}
	}
	return groupPermissions(perms, nil), nil
}

// consoleAPIKeys lists API keys, newest first and revoked ones included, as
// GET /v1/admin/api-keys does, a page at a time; with api_keys:write, the
// form that makes one.
func (s *Server) consoleAPIKeys(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "API keys"
	before, err := decodeCursor(r.URL.Query().Get("cursor"))
	var list []apikey.Key
	if err == nil {
		list, err = s.admin.APIKeys(r.Context(), v.who(), before, consolePage+1)
	}
	var p apiKeysPage
	if err == nil && v.Can(admin.APIKeysWrite) {
		p.Choices, err = s.keyChoices(r, v)
	}
	if err != nil {
		s.consoleFail(w, r, v, v.Title, err)
		return
	}
	list, next := pageOf(list, consolePage, func(k apikey.Key) string { return k.ID })
	if next != nil {
		p.Next = *next
	}
	now := s.db.Now()
	for _, k := range list {
		state := "active"
		switch {
		case k.RevokedAt != nil:
			state = "revoked"
		case k.ExpiresAt != nil && !k.ExpiresAt.After(now):
			state = "expired"
		}
		p.Keys = append(p.Keys, keyLine{Key: k, State: state})
	}
	v.Data = p
	v.Notice = keyNotices[r.URL.Query().Get("done")]
	s.render(w, http.StatusOK, "apikeys", v)
}

// consoleCreateAPIKey makes an API key, as POST /v1/admin/api-keys does,
// and shows it on the answer, this once: it is in no cookie and no
// address, and the answer is not stored (render's Cache-Control:
// no-store).
func (s *Server) consoleCreateAPIKey(w http.ResponseWriter, r *http.Request, v *consoleView) {
	n := apikey.New{Name: r.PostFormValue("name"), Permissions: r.PostForm["permissions"]}
	day, err := formDay(r, "expires")
	if err != nil {
		s.failBack(w, r, v, "Create an API key", "/admin/api-keys", err)
		return
	}
	if day != nil {
		end := day.AddDate(0, 0, 1) // it works through the day given
		n.ExpiresAt = &end
	}
	k, secret, err := s.admin.CreateAPIKey(r.Context(), v.who(), n)
	if err != nil {
		s.failBack(w, r, v, "Create an API key", "/admin/api-keys", err)
		return
	}
	v.Title, v.Data = "API key "+k.Name, createdKeyPage{Key: k, Secret: secret}
	s.render(w, http.StatusCreated, "apikey", v)
}

// errKeyNotConfirmed refuses a revocation whose box is not ticked.
var errKeyNotConfirmed = userd.Invalid([]userd.FieldError{{Field: "confirm", Code: "not_confirmed", Message: "Tick the box to confirm the revocation."}})

// consoleRevokeAPIKey revokes an API key and the keys it made, as DELETE
// /v1/admin/api-keys/{id} does, once confirmed.
func (s *Server) consoleRevokeAPIKey(w http.ResponseWriter, r *http.Request, v *consoleView) {
	id, ok := userd.ParseID(r.PathValue("key"))
	var err error
	switch {
	case !ok:
		err = apikey.ErrNotFound
	case r.PostFormValue("confirm") != "yes":
		err = errKeyNotConfirmed
	default:
		err = s.admin.RevokeAPIKey(r.Context(), v.who(), id)
	}
	if err != nil {
		s.failBack(w, r, v, "Revoke the API key", "/admin/api-keys", err)
		return
	}
	http.Redirect(w, r, "/admin/api-keys?done="+url.QueryEscape("revoked"), http.StatusSeeOther)
}
