package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// invalid returns the field and code of each field error of a KindInvalid
// error, and fails for any other error.
func invalid(t *testing.T, err error) []string {
	t.Helper()
	e := userd.ErrorOf(err)
	if e == nil || e.Kind != userd.KindInvalid {
		t.Fatalf("err = %v; want a KindInvalid error", err)
	}
	out := []string{}
	for _, f := range e.Fields {
		out = append(out, f.Field+"/"+f.Code)
	}
	return out
}

// refusal is an operation that must fail, with the field errors of a
// KindInvalid error (fields) or with err.
type refusal struct {
	name   string
	op     func() error
	fields []string
	err    error
}

// refuse runs each refusal as a subtest and checks that it changes nothing.
func (b *bench) refuse(t *testing.T, rs []refusal) { b.refuseIn(t, b.world, rs) }

// refuseIn is refuse, with world saying what must not change.
func (b *bench) refuseIn(t *testing.T, world func() string, rs []refusal) {
	t.Helper()
	for _, r := range rs {
		t.Run(r.name, func(t *testing.T) {
			b.t = t
			before := world()
			err := r.op()
			if r.err != nil && !errors.Is(err, r.err) {
				t.Fatalf("err = %v; want %v", err, r.err)
			}
			if r.err == nil {
				if got := invalid(t, err); !cmp.Equal(got, r.fields) {
					t.Fatalf("field errors %v; want %v", got, r.fields)
				}
			}
			if diff := cmp.Diff(before, world()); diff != "" {
				t.Fatalf("a refused operation changed the database (-before +after):\n%s", diff)
			}
		})
	}
	b.t = t
}

// metadata returns the metadata of an actor's entries with the given
// action, oldest first.
func (b *bench) metadata(actorID, action string) []map[string]any {
	b.t.Helper()
	rows, err := b.db.SQL().Query(`SELECT metadata FROM activity_logs WHERE user_id = $1 AND action = $2 ORDER BY id`, actorID, action)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var raw string
		var m map[string]any
		rows.Scan(&raw)
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			b.t.Fatalf("metadata %q: %v", raw, err)
		}
		out = append(out, m)
	}
	return out
}

// names returns the people (see bench.name) of users, in order.
func (b *bench) names(us []account.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, b.name(u.ID))
	}
	return out
}

// TestAdminUsers: search (by any identifier or name, without regard to
// case, '%' and '_' literal) and its pages, newest first; creation with
// roles, normalised, and what it refuses; a change of status ends the
// user's sessions when it is not active, and the trail records the fields,
// the statuses and the sessions ended; a user that does not exist is
// account.ErrNotFound; deletion.
func TestAdminUsers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		b.personWith("ann", account.New{Identity: account.Identity{Email: "ann@example.com", Username: "ann_b"}, Profile: account.Profile{FirstName: "Annabel"}})
		b.personWith("bob", account.New{Identity: account.Identity{Email: "bob@example.com", PhoneNumber: "+14155550199"}})
		b.person("real", "100%_real@example.com")
		all := []string{"real", "bob", "ann", "adm"}
		for q, want := range map[string][]string{"": all, "ANNA": {"ann"}, "ann_": {"ann"}, "+1415": {"bob"}, "example.com": all,
			"100%": {"real"}, "%": {"real"}, "_real": {"real"}, "  bob ": {"bob"}, "nobody": {}} {
			us, err := b.s.ListUsers(ctx, q, "", 50)
			if got := b.names(us); err != nil || !cmp.Equal(got, want) {
				t.Errorf("search %q = %v, %v; want %v", q, got, err, want)
			}
		}
		cursor := ""
		for i, want := range [][]string{{"real", "bob"}, {"ann", "adm"}, {}} {
			us, err := b.s.ListUsers(ctx, "", cursor, 2)
			if got := b.names(us); err != nil || !cmp.Equal(got, want) {
				t.Fatalf("page %d = %v, %v; want %v", i+1, got, err, want)
			}
			if len(us) > 0 {
				cursor = us[len(us)-1].ID
			}
		}

		adm := b.who("adm")
		carol, err := b.s.CreateUser(ctx, adm, admin.NewUser{Identity: account.Identity{Email: "  Carol@Example.com"}, Roles: []string{"AGENT"}, IsBeta: true})
		if err != nil || *carol.Email != "carol@example.com" || !carol.IsBeta || carol.Status != account.StatusActive || carol.EmailVerifiedAt != nil ||
			strings.Join(carol.Grants.Roles, ",") != "AGENT" || strings.Join(carol.Grants.Permissions, ",") != "account:read,account:write" {
			t.Fatalf("create = %+v, %+v, %v", carol.User, carol.Grants, err)
		}
		b.id["carol"] = carol.ID
		create := func(u admin.NewUser) func() error {
			return func() error { _, err := b.s.CreateUser(ctx, adm, u); return err }
		}
		dan := account.Identity{Email: "dan@example.com"}
		asleep := account.Status("asleep")
		b.refuse(t, []refusal{
			{"an unknown role", create(admin.NewUser{Identity: dan, Roles: []string{"NOPE"}}), []string{"roles/unknown_role"}, nil},
			{"a common password", create(admin.NewUser{Identity: dan, Password: "password"}), []string{"password/password_too_common"}, nil},
			{"a short password", create(admin.NewUser{Identity: dan, Password: "short"}), []string{"password/password_too_short"}, nil},
			{"the email as password", create(admin.NewUser{Identity: dan, Password: "DAN@example.com"}), []string{"password/password_is_identifier"}, nil},
			{"no identifier", create(admin.NewUser{Profile: account.Profile{FirstName: "Dan"}}), []string{"email/required"}, nil},
			{"bad fields", create(admin.NewUser{Identity: account.Identity{Email: "dan", PhoneNumber: "123"}, Profile: account.Profile{AvatarURL: "ftp://x"}}),
				[]string{"email/invalid_email", "phone_number/invalid_phone", "avatar_url/invalid_url"}, nil},
			{"an email taken", create(admin.NewUser{Identity: account.Identity{Email: "ANN@example.com"}}), nil, account.ErrEmailTaken},
			{"a username taken", create(admin.NewUser{Identity: account.Identity{Username: "Ann_B"}}), nil, account.ErrUsernameTaken},
			{"a phone taken", create(admin.NewUser{Identity: account.Identity{PhoneNumber: "+14155550199"}}), nil, account.ErrPhoneTaken},
			{"a bad status", func() error {
				_, err := b.s.UpdateUser(ctx, adm, b.id["ann"], account.Patch{Status: &asleep})
				return err
			},
				[]string{"status/invalid_status"}, nil},
			{"a user who does not exist", func() error {
				_, err := b.s.UpdateUser(ctx, adm, userd.NewID(db.Now()), account.Patch{FirstName: ptr("X")})
				return err
			}, nil, account.ErrNotFound},
			{"a deletion of a user who does not exist", func() error { return b.s.DeleteUser(ctx, adm, userd.NewID(db.Now())) }, nil, account.ErrNotFound},
		})
		if _, err := b.s.GetUser(ctx, userd.NewID(db.Now())); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("GetUser of nobody = %v", err)
		}

		// Suspension ends ann's session; so does a ban after she signed in
		// again; reactivation and an unchanged status end nothing.
		set := func(s account.Status, more account.Patch) admin.UserWithGrants {
			t.Helper()
			more.Status = &s
			u, err := b.s.UpdateUser(ctx, adm, b.id["ann"], more)
			if err != nil || u.Status != s {
				t.Fatalf("set %s = %+v, %v", s, u.User, err)
			}
			return u
		}
		u := set(account.StatusSuspended, account.Patch{Email: ptr("ann.new@example.com"), IsBeta: ptr(true)})
		if *u.Email != "ann.new@example.com" || !u.IsBeta || *u.Username != "ann_b" {
			t.Fatalf("suspended ann = %+v", u.User)
		}
		if _, err := b.auth.Authenticate(ctx, b.token["ann"]); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("a suspended user's session = %v; want ErrUnauthenticated (ended)", err)
		}
		set(account.StatusActive, account.Patch{})
		b.signIn("ann")
		set(account.StatusBanned, account.Patch{})
		if _, err := b.auth.Authenticate(ctx, b.token["ann"]); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("a banned user's session = %v; want ErrUnauthenticated (ended)", err)
		}
		set(account.StatusBanned, account.Patch{FirstName: ptr("Ann")})
		status := func(from, to string) map[string]any { return map[string]any{"from": from, "to": to} }
		want := []map[string]any{
			{"fields": []any{"email", "is_beta", "status"}, "status": status("active", "suspended"), "sessions_revoked": 1.0},
			{"fields": []any{"status"}, "status": status("suspended", "active")},
			{"fields": []any{"status"}, "status": status("active", "banned"), "sessions_revoked": 1.0},
			{"fields": []any{"first_name", "status"}},
		}
		if got := b.metadata(b.id["adm"], "admin.user_updated"); !cmp.Equal(got, want) {
			t.Fatalf("the trail of the changes (-want +got):\n%s", cmp.Diff(want, got))
		}

		if err := b.s.DeleteUser(ctx, adm, b.id["ann"]); err != nil {
			t.Fatal(err)
		}
		if _, err := b.s.GetUser(ctx, b.id["ann"]); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("GetUser after the deletion = %v", err)
		}
		if got, want := b.trail(b.id["adm"]), []string{"admin.user_created carol", "admin.user_updated ann", "admin.user_updated ann",
			"admin.user_updated ann", "admin.user_updated ann", "admin.user_deleted ann"}; !cmp.Equal(got, want) {
			t.Fatalf("adm's trail %v; want %v", got, want)
		}
	})
}

// TestAdminRoles: the seeded roles and permissions; creation of a role, and
// what it refuses; giving a role twice (the second changes nothing, as the
// trail says); a role's permissions and admin flag reach its holders at
// once; END_USER and ADMIN cannot be deleted; deleting a role takes it from
// its holders.
func TestAdminRoles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		user := b.person("user", "user@example.com")
		adm := b.who("adm")
		roles, perms, err := b.s.Roles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names, keys []string
		for _, r := range roles {
			names = append(names, r.Name)
		}
		for _, p := range perms {
			keys = append(keys, p.Key)
		}
		if got := strings.Join(names, ","); got != "ADMIN,AGENT,BROKER,END_USER,OPT_USER,OWNER,TC_ADMIN" || !cmp.Equal(keys, everyPermission) {
			t.Fatalf("roles %s, permissions %v", got, keys)
		}
		b.makeRoles(nil)

		createRole := func(p rbac.RolePatch) func() error {
			return func() error { _, err := b.s.CreateRole(ctx, adm, p); return err }
		}
		b.refuse(t, []refusal{
			{"a lower-case name", createRole(rbac.RolePatch{Name: ptr("support")}), []string{"name/invalid_role_name"}, nil},
			{"an unknown permission", createRole(rbac.RolePatch{Name: ptr("SUPPORT"), Permissions: &[]string{"users:fly"}}), []string{"permissions/unknown_permission"}, nil},
			{"no name", createRole(rbac.RolePatch{Permissions: &[]string{"users:read"}}), []string{"name/required"}, nil},
			{"a name taken", createRole(rbac.RolePatch{Name: ptr("OWNER")}), nil, rbac.ErrRoleNameTaken},
			{"an unknown role given", func() error { return b.s.SetRole(ctx, adm, user, "NOPE", true) }, nil, rbac.ErrRoleNotFound},
			{"END_USER deleted", func() error { return b.s.DeleteRole(ctx, adm, b.role["END_USER"]) }, nil, rbac.ErrRoleProtected},
			{"ADMIN deleted", func() error { return b.s.DeleteRole(ctx, adm, b.role["ADMIN"]) }, nil, rbac.ErrRoleProtected},
		})

		r, err := b.s.CreateRole(ctx, adm, rbac.RolePatch{Name: ptr("AUDITOR"), Permissions: &[]string{"activity_logs:read", "account:read"}})
		if err != nil || r.Name != "AUDITOR" || strings.Join(r.Permissions, ",") != "account:read,activity_logs:read" || r.IsAdmin {
			t.Fatalf("create = %+v, %v", r, err)
		}
		b.role["AUDITOR"] = r.ID
		for range 2 {
			if err := b.s.SetRole(ctx, adm, user, "AUDITOR", true); err != nil {
				t.Fatal(err)
			}
		}
		grants := func(want string) {
			t.Helper()
			g := b.user(user).Grants
			if got := strings.Join(g.Roles, ",") + " " + strings.Join(g.Permissions, ",") + map[bool]string{true: " admin"}[g.Admin]; got != want {
				t.Fatalf("the user's grants: %s; want %s", got, want)
			}
		}
		grants("AUDITOR,END_USER account:read,account:write,activity_logs:read")
		if _, err := b.s.UpdateRole(ctx, adm, r.ID, rbac.RolePatch{Permissions: &[]string{"account:read"}}); err != nil {
			t.Fatal(err)
		}
		grants("AUDITOR,END_USER account:read,account:write")
		if _, err := b.s.UpdateRole(ctx, adm, r.ID, rbac.RolePatch{IsAdmin: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		grants("AUDITOR,END_USER " + strings.Join(everyPermission, ",") + " admin")
		if err := b.s.DeleteRole(ctx, adm, r.ID); err != nil {
			t.Fatal(err)
		}
		grants("END_USER account:read,account:write")
		if err := b.s.DeleteRole(ctx, adm, r.ID); !errors.Is(err, rbac.ErrRoleNotFound) {
			t.Fatalf("delete twice = %v; want ErrRoleNotFound", err)
		}
		if err := b.s.SetRole(ctx, adm, user, "OWNER", false); err != nil {
			t.Fatalf("taking a role the user lacks = %v", err)
		}
		changed := func(role string, did bool) map[string]any { return map[string]any{"role": role, "changed": did} }
		if got, want := b.metadata(b.id["adm"], "admin.role_assigned"), []map[string]any{changed("AUDITOR", true), changed("AUDITOR", false)}; !cmp.Equal(got, want) {
			t.Fatalf("the trail of the assignments %v; want %v", got, want)
		}
		if got, want := b.metadata(b.id["adm"], "admin.role_removed"), []map[string]any{changed("OWNER", false)}; !cmp.Equal(got, want) {
			t.Fatalf("the trail of the removal %v; want %v", got, want)
		}
		if got, want := b.trail(b.id["adm"]), []string{"admin.role_created AUDITOR", "admin.role_assigned user", "admin.role_assigned user",
			"admin.role_updated AUDITOR", "admin.role_updated AUDITOR", "admin.role_deleted AUDITOR", "admin.role_removed user"}; !cmp.Equal(got, want) {
			t.Fatalf("adm's trail %v; want %v", got, want)
		}
	})
}

// TestAdminNotify: a notification goes to each recipient once, in the order
// named, trimmed; a request with no recipient, too many, an id that is
// malformed or names nobody, or a bad notification is refused with its field
// errors and sends nothing at all, not even to the recipients that exist.
func TestAdminNotify(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.person("adm", "admin@example.com", rbac.AdminRole)
		ann, bob := b.person("ann", "ann@example.com"), b.person("bob", "bob@example.com")
		adm := b.who("adm")
		sent, err := b.s.Notify(ctx, adm, []string{ann}, notify.New{Type: "test.ping", Title: "  ping ", Data: json.RawMessage(`{"n":1}`)})
		if err != nil || len(sent) != 1 || sent[0].UserID != ann || sent[0].Title != "ping" || sent[0].Type != "test.ping" || sent[0].ReadAt != nil {
			t.Fatalf("notify ann = %+v, %v", sent, err)
		}
		sent, err = b.s.Notify(ctx, adm, []string{bob, strings.ToUpper(ann), ann, bob}, notify.New{Type: "news", Title: "Hello both"})
		if err != nil || len(sent) != 2 || sent[0].UserID != bob || sent[1].UserID != ann || string(sent[1].Data) != "{}" {
			t.Fatalf("notify both = %+v, %v", sent, err)
		}
		send := func(ids []string, n notify.New) func() error {
			return func() error { _, err := b.s.Notify(ctx, adm, ids, n); return err }
		}
		ok := notify.New{Type: "x", Title: "t"}
		many := make([]string, 1001)
		for i := range many {
			many[i] = ann
		}
		nobody := userd.NewID(db.Now())
		b.refuse(t, []refusal{
			{"no recipient", send(nil, ok), []string{"user_ids/required"}, nil},
			{"1001 recipients", send(many, ok), []string{"user_ids/too_many"}, nil},
			{"a malformed id", send([]string{ann, "nope"}, ok), []string{"user_ids/unknown_user"}, nil},
			{"an id of nobody", send([]string{ann, nobody}, ok), []string{"user_ids/unknown_user"}, nil},
			{"a bad type", send([]string{ann}, notify.New{Type: "Has Spaces", Title: "t"}), []string{"type/invalid_type_name"}, nil},
			{"a blank title", send([]string{ann}, notify.New{Type: "x", Title: " "}), []string{"title/invalid_text"}, nil},
			{"data not an object", send([]string{ann}, notify.New{Type: "x", Title: "t", Data: json.RawMessage(`[1]`)}), []string{"data/invalid_data"}, nil},
			{"everything wrong", send(nil, notify.New{Type: "", Title: ""}), []string{"type/invalid_type_name", "title/invalid_text", "user_ids/required"}, nil},
		})
		if got, want := b.metadata(b.id["adm"], "admin.notification_sent"), []map[string]any{
			{"type": "test.ping", "recipients": 1.0}, {"type": "news", "recipients": 2.0}}; !cmp.Equal(got, want) {
			t.Fatalf("the trail of the notifications %v; want %v", got, want)
		}
	})
}
