package auth_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/audit"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// withSignupRoles returns an auth.Service over db whose sign-ups may choose
// the given roles, with the rate limits off.
func withSignupRoles(t *testing.T, db *sqldb.DB, roles ...string) *auth.Service {
	t.Helper()
	return authtest.New(t, db, authtest.Options{Config: auth.Config{SignupRoles: roles}})
}

// rolesOf returns the roles a user holds, comma-separated.
func rolesOf(t *testing.T, db *sqldb.DB, userID string) string {
	t.Helper()
	ctx := sqldb.System(context.Background())
	var g userd.Grants
	err := db.View(ctx, func(tx *sqldb.Tx) (err error) {
		g, err = rbac.Grants(ctx, tx, userID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(g.Roles, ",")
}

// written counts the rows that a sign-up writes.
func written(t *testing.T, db *sqldb.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"users", "user_roles", "sessions", "refresh_tokens", "verification_tokens", "activity_logs"} {
		out[table] = dbtest.Count(t, db, `SELECT count(*) FROM `+table)
	}
	return out
}

// fieldsOf returns the code of a KindInvalid error and its fields as
// field/code, and fails for any other error.
func fieldsOf(t *testing.T, err error) (string, []string) {
	t.Helper()
	e := userd.ErrorOf(err)
	if e == nil || e.Kind != userd.KindInvalid {
		t.Fatalf("err = %v; want a KindInvalid error", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field+"/"+f.Code)
	}
	return e.Code, out
}

// TestSignupRole: a sign-up that chooses a listed role gets it as its only
// role, and the trail says which; one that chooses none gets END_USER. A
// role not listed (in another case, a role that exists but is not listed,
// END_USER named, an unknown name, any role when none is listed) is 422
// role_not_allowed with a field error on role, listed first among the
// sign-up's field errors, and writes nothing; so is a listed role that has
// been deleted or has got the admin flag since.
func TestSignupRole(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		sys := sqldb.System(ctx)
		err := db.Tx(sys, func(tx *sqldb.Tx) error {
			for _, name := range []string{"GONE", "CHIEF"} {
				if _, err := rbac.Create(ctx, tx, rbac.RolePatch{Name: &name, Permissions: &[]string{"account:read", "account:write"}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s := withSignupRoles(t, db, "OWNER", "AGENT", "BROKER", "GONE", "CHIEF")
		if err := s.CheckSignupRoles(ctx); err != nil {
			t.Fatalf("the roles before the changes: %v", err)
		}
		agent, err := s.Signup(ctx, auth.Signup{Identity: account.Identity{Email: "agent@example.com"}, Password: pw, Role: "AGENT"}, client)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := s.Signup(ctx, auth.Signup{Identity: account.Identity{Email: "plain@example.com"}, Password: pw}, client)
		if err != nil {
			t.Fatal(err)
		}
		if got := rolesOf(t, db, agent.User.ID) + " " + rolesOf(t, db, plain.User.ID); got != "AGENT END_USER" {
			t.Fatalf("roles after sign-up: %s; want AGENT END_USER", got)
		}
		var meta []string
		rows, err := db.SQL().Query(`SELECT metadata FROM activity_logs WHERE action = $1 ORDER BY id`, audit.Signup)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var m string
			rows.Scan(&m)
			meta = append(meta, m)
		}
		rows.Close()
		var first map[string]any
		if len(meta) != 2 || json.Unmarshal([]byte(meta[0]), &first) != nil || !cmp.Equal(first, map[string]any{"role": "AGENT"}) || meta[1] != "{}" {
			t.Fatalf("the trail of the sign-ups: %q; want the role of the first alone", meta)
		}

		err = db.Tx(sys, func(tx *sqldb.Tx) error {
			gone, err := rbac.Named(ctx, tx, "GONE")
			if err != nil {
				return err
			}
			if _, err := rbac.Delete(ctx, tx, gone.ID); err != nil {
				return err
			}
			chief, err := rbac.Named(ctx, tx, "CHIEF")
			if err != nil {
				return err
			}
			admin := true
			_, err = rbac.Update(ctx, tx, chief.ID, rbac.RolePatch{IsAdmin: &admin})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		none := withSignupRoles(t, db)
		for _, tt := range []struct {
			name   string
			s      *auth.Service
			in     auth.Signup
			fields []string
		}{
			{"lower case", s, auth.Signup{Role: "agent"}, nil},
			{"a role not listed", s, auth.Signup{Role: "TC_ADMIN"}, nil},
			{"END_USER not listed", s, auth.Signup{Role: "END_USER"}, nil},
			{"ADMIN", s, auth.Signup{Role: "ADMIN"}, nil},
			{"no such role", s, auth.Signup{Role: "NOPE"}, nil},
			{"a listed role deleted since", s, auth.Signup{Role: "GONE"}, nil},
			{"a listed role made an administrator's since", s, auth.Signup{Role: "CHIEF"}, nil},
			{"none listed", none, auth.Signup{Role: "OWNER"}, nil},
			{"with a short password", s, auth.Signup{Role: "NOPE", Password: "short"}, []string{"password/password_too_short"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := written(t, db)
				in := tt.in
				in.Identity = account.Identity{Email: "new@example.com"}
				if in.Password == "" {
					in.Password = pw
				}
				_, err := tt.s.Signup(ctx, in, client)
				code, fields := fieldsOf(t, err)
				if want := append([]string{"role/role_not_allowed"}, tt.fields...); code != "role_not_allowed" || !cmp.Equal(fields, want) {
					t.Fatalf("error %s %v; want role_not_allowed %v", code, fields, want)
				}
				if diff := cmp.Diff(before, written(t, db)); diff != "" {
					t.Fatalf("a refused sign-up wrote rows (-before +after):\n%s", diff)
				}
			})
		}
	})
}

// TestCheckSignupRoles: serve's start-up check accepts no roles and
// existing ones, and names a role that does not exist or that has the
// admin flag.
func TestCheckSignupRoles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for _, tt := range []struct {
			roles []string
			want  string // in the error; "" for none
		}{
			{nil, ""},
			{[]string{"OWNER", "AGENT", "BROKER"}, ""},
			{[]string{"OWNER", "owner"}, `no role is called "owner"`},
			{[]string{"NOPE"}, `no role is called "NOPE"`},
			{[]string{"OWNER", "ADMIN"}, "ADMIN has the admin flag"},
		} {
			err := withSignupRoles(t, db, tt.roles...).CheckSignupRoles(ctx)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("%v: %v; want %q", tt.roles, err, tt.want)
			}
		}
	})
}
