package admin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/userd/userd"
	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/admin"
	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/rbac"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/authtest"
)

// client is where the administrators of these tests act from.
var client = userd.Client{IP: "192.0.2.10", UserAgent: "admin-test"}

// mailbox is a mail.Sender that keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

// take returns the mail sent so far, each as "to: subject", sorted, and
// forgets it.
func (m *mailbox) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []string{}
	for _, msg := range m.sent {
		out = append(out, msg.To+": "+msg.Subject)
	}
	m.sent = nil
	slices.Sort(out)
	return out
}

// bench is the administration as the API runs it: an admin.Service guarded
// by a real auth.Service (recent log-in, notices by mail and in the
// application), over one database.
type bench struct {
	t     *testing.T
	db    *sqldb.DB
	s     *admin.Service
	auth  *auth.Service
	mail  *mailbox
	token map[string]string // a session token, by person
	id    map[string]string // a user id, by person
	role  map[string]string // a role id, by name
}

func newBench(t *testing.T, db *sqldb.DB) *bench {
	t.Helper()
	b := &bench{t: t, db: db, mail: &mailbox{}, token: map[string]string{}, id: map[string]string{}, role: map[string]string{}}
	b.auth = authtest.New(t, db, authtest.Options{Mailer: b.mail, Config: auth.Config{CachedCallers: -1}})
	b.s = admin.New(db, authtest.Hasher(), b.auth)
	return b
}

// person makes a user with END_USER and the given roles (as sign-up and an
// operator would) and opens a session for them.
func (b *bench) person(name, email string, roles ...string) string {
	b.t.Helper()
	return b.personWith(name, account.New{Identity: account.Identity{Email: email}}, roles...)
}

// personWith is person for a user with the given fields.
func (b *bench) personWith(name string, n account.New, roles ...string) string {
	b.t.Helper()
	ctx := sqldb.System(context.Background())
	var id string
	err := b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := account.Insert(ctx, tx, n)
		id = u.ID
		return err
	})
	if err != nil {
		b.t.Fatalf("make %s: %v", name, err)
	}
	b.grant(id, append([]string{rbac.DefaultRole}, roles...)...)
	b.id[name] = id
	b.signIn(name)
	return id
}

// signIn opens a new session for a person: a log-in now.
func (b *bench) signIn(name string) {
	b.t.Helper()
	toks, err := b.auth.OpenMany(context.Background(), []string{b.id[name]})
	if err != nil {
		b.t.Fatal(err)
	}
	b.token[name] = toks[0]
}

// grant gives a user roles directly, as an operator would.
func (b *bench) grant(userID string, roles ...string) {
	b.t.Helper()
	ctx := sqldb.System(context.Background())
	err := b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, r := range roles {
			if _, err := rbac.Assign(ctx, tx, userID, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// makeRoles creates roles with the given permissions, as the system, and
// records the ids of every role.
func (b *bench) makeRoles(roles map[string][]string) {
	b.t.Helper()
	ctx := context.Background()
	for name, perms := range roles {
		if _, err := b.s.CreateRole(ctx, admin.Who{System: true}, rbac.RolePatch{Name: &name, Permissions: &perms}); err != nil {
			b.t.Fatalf("create %s: %v", name, err)
		}
	}
	all, _, err := b.s.Roles(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, r := range all {
		b.role[r.Name] = r.ID
	}
}

// who is a person as their request acts: the actor that their session
// authenticates (with their grants as they are now).
func (b *bench) who(name string) admin.Who {
	b.t.Helper()
	c, err := b.auth.Authenticate(context.Background(), b.token[name])
	if err != nil {
		b.t.Fatalf("authenticate %s: %v", name, err)
	}
	return admin.Who{Actor: c.Actor, Client: client}
}

// user returns a user's row and roles as the administration reads them.
func (b *bench) user(id string) admin.UserWithGrants {
	b.t.Helper()
	u, err := b.s.GetUser(context.Background(), id)
	if err != nil {
		b.t.Fatalf("get user %s: %v", id, err)
	}
	return u
}

// worldQueries read what an administrative operation can change.
var worldQueries = []string{
	`SELECT * FROM users ORDER BY id`,
	`SELECT user_id, role_id FROM user_roles ORDER BY user_id, role_id`,
	`SELECT id, user_id FROM sessions ORDER BY id`,
	`SELECT id, name, description, is_admin, updated_at FROM roles ORDER BY id`,
	`SELECT role_id, permission_id FROM role_permissions ORDER BY role_id, permission_id`,
	`SELECT id, user_id, action, target_type, target_id FROM activity_logs ORDER BY id`,
	`SELECT id, user_id, type FROM notifications ORDER BY id`,
}

// world returns the rows of worldQueries, a line each.
func (b *bench) world() string {
	b.t.Helper()
	ctx := sqldb.System(context.Background())
	var sb strings.Builder
	err := b.db.View(ctx, func(tx *sqldb.Tx) error {
		for _, q := range worldQueries {
			fmt.Fprintln(&sb, q)
			rows, err := tx.Query(ctx, q)
			if err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
			cols, _ := rows.Columns()
			vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return err
				}
				fmt.Fprintln(&sb, vals...)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return sb.String()
}

// name returns the person or the role whose id is id, else id.
func (b *bench) name(id string) string {
	for _, m := range []map[string]string{b.id, b.role} {
		for name, v := range m {
			if v == id {
				return name
			}
		}
	}
	return id
}

// trail returns the actions that an actor's administrative entries record,
// oldest first, each as "action target" (the target by name, see name).
func (b *bench) trail(actorID string) []string {
	b.t.Helper()
	rows, err := b.db.SQL().Query(`SELECT action, target_id FROM activity_logs WHERE user_id = $1 AND action LIKE 'admin.%' ORDER BY id`, actorID)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var action string
		var target *string
		rows.Scan(&action, &target)
		if target != nil {
			action += " " + b.name(*target)
		}
		out = append(out, action)
	}
	return out
}
