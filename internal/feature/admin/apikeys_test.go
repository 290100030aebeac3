package admin_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/apikey"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

// keyCount returns how many API keys and key permissions there are.
func (b *bench) keyCount() (keys, perms int) {
	b.t.Helper()
	b.db.SQL().QueryRow(`SELECT count(*) FROM api_keys`).Scan(&keys)
	b.db.SQL().QueryRow(`SELECT count(*) FROM api_key_permissions`).Scan(&perms)
	return keys, perms
}

// TestAPIKeyRules: what a key may be made of, who may make and revoke one
// (never a key stronger than its maker, a key included), that a key
// authenticates as its permissions and no user until it is revoked or
// expires, and what the trail records.
func TestAPIKeyRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b := newBench(t, db)
		b.makeRoles(map[string][]string{"OPS": {admin.APIKeysWrite, "users:read"}})
		b.person("ops", "ops@example.com", "OPS")
		b.person("ann", "ann@example.com")
		system := admin.Who{System: true}
		past := time.Now().Add(-time.Hour)
		long := strings.Repeat("k", 101)
		many := make([]string, apikey.MaxPermissions+1)
		for i := range many {
			many[i] = "users:read"
		}
		for _, c := range []struct {
			name string
			n    apikey.New
			want []string
		}{
			{"no name", apikey.New{Name: "  ", Permissions: []string{"users:read"}}, []string{"name/invalid_name"}},
			{"a long name", apikey.New{Name: long, Permissions: []string{"users:read"}}, []string{"name/invalid_name"}},
			{"a control character", apikey.New{Name: "b\x01ot", Permissions: []string{"users:read"}}, []string{"name/invalid_name"}},
			{"no permission", apikey.New{Name: "bot"}, []string{"permissions/required"}},
			{"too many", apikey.New{Name: "bot", Permissions: many}, []string{"permissions/too_many"}},
			{"an unknown permission", apikey.New{Name: "bot", Permissions: []string{"users:read", "users:fly"}}, []string{"permissions/unknown_permission"}},
			{"an expiry in the past", apikey.New{Name: "bot", Permissions: []string{"users:read"}, ExpiresAt: &past}, []string{"expires_at/in_the_past"}},
		} {
			_, _, err := b.s.CreateAPIKey(ctx, system, c.n)
			var ue *userd.Error
			if !errors.As(err, &ue) || ue.Kind != userd.KindInvalid {
				t.Fatalf("%s: err = %v", c.name, err)
			}
			var got []string
			for _, f := range ue.Fields {
				got = append(got, f.Field+"/"+f.Code)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: fields = %v, want %v", c.name, got, c.want)
			}
		}
		if k, p := b.keyCount(); k != 0 || p != 0 {
			t.Fatalf("refused keys left %d keys and %d permissions", k, p)
		}

		for who, perms := range map[string][]string{"ann": {"users:read"}, "ops": {"users:write"}} {
			if _, _, err := b.s.CreateAPIKey(ctx, b.who(who), apikey.New{Name: "bot", Permissions: perms}); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
				t.Errorf("%s making a key with %v: %v", who, perms, err)
			}
		}
		k, secret, err := b.s.CreateAPIKey(ctx, b.who("ops"), apikey.New{Name: " bot ", Permissions: []string{"users:read", admin.APIKeysWrite, "users:read"}})
		if err != nil {
			t.Fatal(err)
		}
		if k.Name != "bot" || k.CreatedBy != b.id["ops"] || !slices.Equal(k.Permissions, []string{admin.APIKeysWrite, "users:read"}) || !strings.HasPrefix(secret, apikey.Prefix) {
			t.Fatalf("key = %+v, %q", k, secret)
		}
		var stored []byte
		db.SQL().QueryRow(`SELECT key_hash FROM api_keys WHERE id = $1`, k.ID).Scan(&stored)
		if len(stored) != 32 || strings.Contains(string(stored), secret[4:]) {
			t.Fatalf("stored %d bytes for the key", len(stored))
		}

		caller, err := b.auth.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if a := caller.Actor; a.APIKeyID != k.ID || a.UserID != "" || a.Grants.Admin || !slices.Equal(a.Grants.Permissions, k.Permissions) {
			t.Fatalf("a key authenticates as %+v", a)
		}
		asKey := admin.Who{Actor: caller.Actor, Client: client}
		if _, _, err := b.s.CreateAPIKey(ctx, asKey, apikey.New{Name: "child", Permissions: []string{"users:write"}}); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
			t.Fatalf("a key minting a stronger key: %v", err)
		}
		child, childSecret, err := b.s.CreateAPIKey(ctx, asKey, apikey.New{Name: "child", Permissions: []string{"users:read"}})
		if err != nil || child.CreatedBy != "" || child.CreatedByKey != k.ID {
			t.Fatalf("a key minting a weaker key: %+v, %v", child, err)
		}

		// Revocation: at once; again changes nothing. Expiry: at its time.
		if err := b.s.RevokeAPIKey(ctx, b.who("ann"), k.ID); !errors.Is(err, rbac.ErrInsufficientPrivilege) {
			t.Fatalf("ann revoking: %v", err)
		}
		for range 2 {
			if err := b.s.RevokeAPIKey(ctx, b.who("ops"), k.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := b.auth.Authenticate(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("a revoked key authenticates: %v", err)
			}
		}
		if err := b.s.RevokeAPIKey(ctx, system, "not-an-id"); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("revoking no key: %v", err)
		}
		soon := time.Now().Add(time.Hour)
		_, expiring, err := b.s.CreateAPIKey(ctx, system, apikey.New{Name: "short", Permissions: []string{"users:read"}, ExpiresAt: &soon})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.auth.Authenticate(ctx, expiring); err != nil {
			t.Fatalf("a key before its expiry: %v", err)
		}
		db.SetClock(func() time.Time { return soon.Add(time.Second) })
		if _, err := b.auth.Authenticate(ctx, expiring); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("an expired key authenticates: %v", err)
		}
		if _, err := b.auth.Authenticate(ctx, childSecret); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("the key that the revoked key made authenticates: %v", err)
		}

		// An application's permission that a live key carries is in use.
		if _, err := b.s.CreatePermission(ctx, system, "items:create", ""); err != nil {
			t.Fatal(err)
		}
		_, itemsKey, err := b.s.CreateAPIKey(ctx, system, apikey.New{Name: "items", Permissions: []string{"items:create", "users:read"}})
		if err != nil {
			t.Fatal(err)
		}
		if c, err := b.auth.Authenticate(ctx, itemsKey); err != nil || !c.Actor.Grants.Has("items:create") {
			t.Fatalf("the items key: %+v, %v", c.Actor, err)
		}
		if err := b.s.DeletePermission(ctx, system, "items:create", false); !errors.Is(err, rbac.ErrPermissionInUse) {
			t.Fatalf("deleting a permission a key carries: %v", err)
		}
		if err := b.s.DeletePermission(ctx, system, "items:create", true); err != nil {
			t.Fatal(err)
		}
		if c, err := b.auth.Authenticate(ctx, itemsKey); err != nil || !slices.Equal(c.Actor.Grants.Permissions, []string{"users:read"}) {
			t.Fatalf("the items key after its permission went: %+v, %v", c.Actor, err)
		}

		var entries []string
		rows, err := db.SQL().Query(`SELECT action, COALESCE(CAST(user_id AS TEXT), '-'), COALESCE(CAST(actor_api_key_id AS TEXT), '-'), metadata FROM activity_logs WHERE action LIKE 'admin.api_key%' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var action, user, key, meta string
			rows.Scan(&action, &user, &key, &meta)
			entries = append(entries, action+" "+b.name(user)+" "+map[string]string{k.ID: "bot", "-": "-"}[key]+" "+strconv.FormatBool(strings.Contains(strings.ReplaceAll(meta, " ", ""), `"changed":true`)))
		}
		rows.Close()
		want := []string{
			"admin.api_key_created ops - false",
			"admin.api_key_created - bot false",
			"admin.api_key_revoked ops - true",
			"admin.api_key_revoked ops - false",
			"admin.api_key_created - - false",
			"admin.api_key_created - - false",
		}
		if !slices.Equal(entries, want) {
			t.Errorf("trail =\n%s\nwant\n%s", strings.Join(entries, "\n"), strings.Join(want, "\n"))
		}
	})
}
