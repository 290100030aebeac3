package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/rbac"
)

// permChoice is a permission as a checkbox of a form.
type permChoice struct {
	rbac.Permission
	Checked bool
}

// permGroup is the permissions of one resource (what comes before ":").
type permGroup struct {
	Resource string
	Perms    []permChoice
}

// groupPermissions groups perms by resource, in key order, checking those
// that checked holds.
func groupPermissions(perms []rbac.Permission, checked []string) []permGroup {
	var out []permGroup
	for _, p := range perms {
		res, _, _ := strings.Cut(p.Key, ":")
		if len(out) == 0 || out[len(out)-1].Resource != res {
			out = append(out, permGroup{Resource: res})
		}
		g := &out[len(out)-1]
		g.Perms = append(g.Perms, permChoice{Permission: p, Checked: slices.Contains(checked, p.Key)})
	}
	return out
}

// roleLine is a role as the roles' page lists it.
type roleLine struct {
	rbac.Role
	Holders   int
	Deletable bool // not END_USER or ADMIN
}

// lineOf is a role's line, with its count of holders.
func lineOf(ro rbac.Role, holders map[string]int) roleLine {
	return roleLine{Role: ro, Holders: holders[ro.Name], Deletable: ro.Name != rbac.DefaultRole && ro.Name != rbac.AdminRole}
}

// findRole returns the role of roles with the given id, or
// rbac.ErrRoleNotFound.
func findRole(roles []rbac.Role, id string) (rbac.Role, error) {
	i := slices.IndexFunc(roles, func(ro rbac.Role) bool { return ro.ID == id })
	if i < 0 {
		return rbac.Role{}, rbac.ErrRoleNotFound
	}
	return roles[i], nil
}

// rolesPage is the roles' page: every role, and every permission.
type rolesPage struct {
	Roles       []roleLine
	Permissions []rbac.Permission
}

// roleNotices are the messages shown after an action on the roles' pages,
// by its name in the redirect's query.
var roleNotices = map[string]string{
	"created":            "The role is created.",
	"updated":            "The role is changed.",
	"deleted":            "The role is deleted; its holders who held no other role hold END_USER.",
	"permission-created": "The permission is created: roles may carry it now.",
	"permission-deleted": "The permission is deleted.",
}

// consoleRoles lists the roles with their permissions and holders, and
// every permission, as GET /v1/admin/roles does; with roles:write, the
// forms that make roles and permissions.
func (s *Server) consoleRoles(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Roles and permissions"
	roles, perms, err := s.admin.Roles(r.Context())
	var holders map[string]int
	if err == nil {
		holders, err = s.admin.RoleHolderCounts(r.Context())
	}
	if err != nil {
		s.consoleFail(w, r, v, v.Title, err)
		return
	}
	p := rolesPage{Permissions: perms}
	for _, ro := range roles {
		p.Roles = append(p.Roles, lineOf(ro, holders))
	}
	v.Data = p
	v.Notice = roleNotices[r.URL.Query().Get("done")]
	s.render(w, http.StatusOK, "roles", v)
}

// rolePatch reads a role's form: its description, admin flag and the
// permissions ticked (none when none is).
func rolePatch(r *http.Request) rbac.RolePatch {
	desc, admin := r.PostFormValue("description"), r.PostFormValue("is_admin") == "on"
	perms := r.PostForm["permissions"]
	if perms == nil {
		perms = []string{}
	}
	return rbac.RolePatch{Description: &desc, IsAdmin: &admin, Permissions: &perms}
}

// rolesDone goes back to the roles' page with an action's notice.
func rolesDone(w http.ResponseWriter, r *http.Request, action string) {
	http.Redirect(w, r, "/admin/roles?done="+url.QueryEscape(action), http.StatusSeeOther)
}

// consoleCreateRole makes a role, as POST /v1/admin/roles does.
func (s *Server) consoleCreateRole(w http.ResponseWriter, r *http.Request, v *consoleView) {
	p := rolePatch(r)
	name := r.PostFormValue("name")
	p.Name = &name
	if _, err := s.admin.CreateRole(r.Context(), v.who(), p); err != nil {
		s.failBack(w, r, v, "Create a role", "/admin/roles", err)
		return
	}
	rolesDone(w, r, "created")
}

// rolePage is a role's page (or, without a role, the new role's): the
// role, and every permission as a checkbox.
type rolePage struct {
	roleLine
	Groups []permGroup
}

// consoleRole shows a role with the form that changes it and the one that
// deletes it (roles:write).
func (s *Server) consoleRole(w http.ResponseWriter, r *http.Request, v *consoleView) {
	roles, perms, err := s.admin.Roles(r.Context())
	var holders map[string]int
	if err == nil {
		holders, err = s.admin.RoleHolderCounts(r.Context())
	}
	var ro rbac.Role
	if err == nil {
		ro, err = findRole(roles, r.PathValue("role"))
	}
	if err != nil {
		s.failBack(w, r, v, "Role", "/admin/roles", err)
		return
	}
	v.Title = "Role " + ro.Name
	v.Data = rolePage{roleLine: lineOf(ro, holders), Groups: groupPermissions(perms, ro.Permissions)}
	s.render(w, http.StatusOK, "role", v)
}

// consoleUpdateRole changes a role's description, admin flag and
// permissions, as PATCH /v1/admin/roles/{id} does.
func (s *Server) consoleUpdateRole(w http.ResponseWriter, r *http.Request, v *consoleView) {
	id, err := roleID(r.PathValue("role"))
	if err == nil {
		_, err = s.admin.UpdateRole(r.Context(), v.who(), id, rolePatch(r))
	}
	if err != nil {
		s.failBack(w, r, v, "Change the role", "/admin/roles/"+url.PathEscape(r.PathValue("role")), err)
		return
	}
	rolesDone(w, r, "updated")
}

// errRoleNotConfirmed refuses a deletion whose typed name is not the role's.
var errRoleNotConfirmed = userd.Invalid([]userd.FieldError{{Field: "confirm", Code: "not_confirmed", Message: "Type the role's name exactly to delete it."}})

// consoleDeleteRole deletes a role, as DELETE /v1/admin/roles/{id} does,
// once the administrator typed its name.
func (s *Server) consoleDeleteRole(w http.ResponseWriter, r *http.Request, v *consoleView) {
	roles, _, err := s.admin.Roles(r.Context())
	var ro rbac.Role
	if err == nil {
		ro, err = findRole(roles, r.PathValue("role"))
	}
	if err == nil && r.PostFormValue("confirm") != ro.Name {
		err = errRoleNotConfirmed
	}
	if err == nil {
		err = s.admin.DeleteRole(r.Context(), v.who(), ro.ID)
	}
	if err != nil {
		s.failBack(w, r, v, "Delete the role", "/admin/roles/"+url.PathEscape(r.PathValue("role")), err)
		return
	}
	rolesDone(w, r, "deleted")
}

// consoleCreatePermission defines an application's permission, as POST
// /v1/admin/permissions does.
func (s *Server) consoleCreatePermission(w http.ResponseWriter, r *http.Request, v *consoleView) {
	if _, err := s.admin.CreatePermission(r.Context(), v.who(), r.PostFormValue("key"), r.PostFormValue("description")); err != nil {
		s.failBack(w, r, v, "Create a permission", "/admin/roles#permissions", err)
		return
	}
	rolesDone(w, r, "permission-created")
}

// errInUse is rbac.ErrPermissionInUse in the console's words.
var errInUse = userd.Errorf(userd.KindConflict, "permission_in_use",
	"Roles or API keys carry this permission, so it was not deleted. To delete it anyway, tick “Also take it from the roles and API keys that carry it”: they lose it at once.")

// consoleDeletePermission deletes an application's permission, as DELETE
// /v1/admin/permissions/{key} does: with force, also while roles or API
// keys carry it.
func (s *Server) consoleDeletePermission(w http.ResponseWriter, r *http.Request, v *consoleView) {
	err := s.admin.DeletePermission(r.Context(), v.who(), r.PathValue("key"), r.PostFormValue("force") == "on")
	if errors.Is(err, rbac.ErrPermissionInUse) {
		err = errInUse
	}
	if err != nil {
		s.failBack(w, r, v, "Delete the permission", "/admin/roles#permissions", err)
		return
	}
	rolesDone(w, r, "permission-deleted")
}

// consoleNewRole shows the form that makes a role: every permission as a
// checkbox, none ticked.
func (s *Server) consoleNewRole(w http.ResponseWriter, r *http.Request, v *consoleView) {
	v.Title = "Create a role"
	_, perms, err := s.admin.Roles(r.Context())
	if err != nil {
		s.failBack(w, r, v, v.Title, "/admin/roles", err)
		return
	}
	v.Data = rolePage{Groups: groupPermissions(perms, nil)}
	s.render(w, http.StatusOK, "role", v)
}
