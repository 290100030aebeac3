package janitor_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/organization"
	"github.com/userd/userd/internal/janitor"
	"github.com/userd/userd/internal/platform/sqldb"
	"github.com/userd/userd/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestCleanup: expired rows go, live ones stay, and the job reschedules
// itself.
func TestCleanup(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		now := time.Now().UTC()
		old, live := now.Add(-48*time.Hour), now.Add(time.Hour)
		user := "01900000-0000-7000-8000-0000000000aa"
		for _, s := range []struct {
			q    string
			args []any
		}{
			{`INSERT INTO users (id, email, created_at, updated_at) VALUES ($1, 'u@example.com', $2, $2)`, []any{user, now}},
			{`INSERT INTO rate_limits (key, window_start, hits) VALUES ('old', $1, 3), ('new', $2, 1)`, []any{old, now}},
			{`INSERT INTO oauth_states (state_hash, provider, nonce, verifier, expires_at, created_at) VALUES ($1, 'p', 'n', $1, $2, $2), ($3, 'p', 'n', $3, $4, $4)`,
				[]any{[]byte("a"), old, []byte("b"), live}},
			{`INSERT INTO mfa_challenges (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $3), ($4, $2, $5, $5)`,
				[]any{[]byte("a"), user, old, []byte("b"), live}},
			{`INSERT INTO webauthn_challenges (token_hash, kind, session, expires_at, created_at) VALUES ($1, 'login', '{}', $2, $2), ($3, 'login', '{}', $4, $4)`,
				[]any{[]byte("a"), old, []byte("b"), live}},
			{`INSERT INTO verification_tokens (identifier, token, expires, created_at) VALUES ('x', $1, $2, $2), ('y', $3, $4, $4)`,
				[]any{[]byte("a"), old, []byte("b"), live}},
			{`INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, expires_at) VALUES
				('01900000-0000-7000-8000-0000000000b1', $1, $2, $3, $3, $3), ('01900000-0000-7000-8000-0000000000b2', $1, $4, $5, $5, $5)`,
				[]any{user, []byte("a"), old, []byte("b"), live}},
			{`INSERT INTO organizations (id, kind, name, slug, created_at, updated_at) VALUES ('01900000-0000-7000-8000-0000000000c1', 'team', 'T', 'team', $1, $1)`,
				[]any{now}},
			{`INSERT INTO organization_invitations (id, organization_id, email, role, token_hash, created_at, expires_at) VALUES
				('01900000-0000-7000-8000-0000000000d1', '01900000-0000-7000-8000-0000000000c1', 'a@example.com', 'member', $1, $2, $2),
				('01900000-0000-7000-8000-0000000000d2', '01900000-0000-7000-8000-0000000000c1', 'b@example.com', 'member', $3, $4, $4)`,
				[]any{[]byte("a"), now.Add(-organization.KeepExpired - time.Hour), []byte("b"), old}},
			{`INSERT INTO item_views (item_id, viewer_id, viewed_date_utc, created_at) VALUES ('i', 'v', $1, $3), ('i', 'v', $2, $3)`,
				[]any{engagement.Day(now.AddDate(0, 0, -2)), engagement.Day(now.AddDate(0, 0, -1)), now}},
		} {
			if _, err := db.SQL().Exec(s.q, s.args...); err != nil {
				t.Fatal(err)
			}
		}
		counts, err := janitor.Run(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]int64{"rate limits": 1, "log-in states": 1, "mfa challenges": 1, "passkey ceremonies": 1, "sessions and mailed tokens": 2,
			"organization invitations": 1, "views of past days": 1} {
			if counts[name] != want {
				t.Errorf("%s: deleted %d; want %d (all: %v)", name, counts[name], want, counts)
			}
		}
		for _, table := range []string{"rate_limits", "oauth_states", "mfa_challenges", "webauthn_challenges", "verification_tokens", "sessions", "organization_invitations", "item_views"} {
			var n int
			db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
			if n != 1 {
				t.Errorf("%s keeps %d rows; want the live one", table, n)
			}
		}
		// As a job: scheduled once, it reschedules itself an hour on.
		ctx := context.Background()
		for range 2 {
			if err := janitor.Schedule(ctx, db); err != nil {
				t.Fatal(err)
			}
		}
		r := jobs.NewRunner(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		janitor.Register(r, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if n, err := r.RunDue(ctx); n != 1 || err != nil {
			t.Fatalf("ran %d, %v", n, err)
		}
		var pending int
		var runAt time.Time
		db.SQL().QueryRow(`SELECT count(*) FROM jobs WHERE kind = $1 AND done_at IS NULL`, janitor.Kind).Scan(&pending)
		db.SQL().QueryRow(`SELECT run_at FROM jobs WHERE kind = $1 AND done_at IS NULL`, janitor.Kind).Scan(&runAt)
		if pending != 1 || runAt.Sub(now) < 50*time.Minute {
			t.Fatalf("pending %d, next run %v", pending, runAt)
		}
	})
}
