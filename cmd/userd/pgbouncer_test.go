package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/userd/userd/internal/testkit/dbtest"
	"github.com/userd/userd/internal/testkit/proxies"
)

// TestPgbouncer (PostgreSQL's: PgBouncer pools PostgreSQL's connections)
// runs userd through a real PgBouncer in transaction mode, with
// --database-pooler pgbouncer and the LISTEN connection straight to
// PostgreSQL: the migrations run, and sign-up, log-in, GET /v1/me, a follow
// and a notification delivered on an open stream all work. Without
// --database-pooler the named statements that pgx prepares meet other
// clients' server connections, and requests fail.
func TestPgbouncer(t *testing.T) {
	c := dbtest.OwnCluster(t, "pooled")
	direct := c.URL("pooled")
	pooled := startPgbouncer(t, direct)
	args := []string{"--data-dir", filepath.Join(t.TempDir(), "data"), "--database-url", pooled,
		"--listen-database-url", direct, "--rate-limits", "off", "--argon2-memory", "64", "--argon2-time", "1"}

	var cid, danID string // made through the pooler, for the run without the flag
	t.Run("pooler", func(t *testing.T) {
		p := startUserd(t, append(args, "--database-pooler", "pgbouncer")...)
		annToken, annID := signupVia(t, p.base, "ann@example.com")
		_, bobID := signupVia(t, p.base, "bob@example.com")
		cid, _ = signupVia(t, p.base, "cid@example.com")
		_, danID = signupVia(t, p.base, "dan@example.com")
		login := call(t, http.MethodPost, p.base+"/v1/auth/login", "", map[string]string{"identifier": "ann@example.com", "password": "correct horse battery"})
		session, _ := login["session"].(map[string]any)
		token, _ := session["token"].(string)
		if token == "" || token == annToken {
			t.Fatalf("log-in answered %v", login)
		}
		if me := call(t, http.MethodGet, p.base+"/v1/me", token, nil); me["id"] != annID || me["email"] != "ann@example.com" {
			t.Fatalf("GET /v1/me = %v", me)
		}
		call(t, http.MethodPut, p.base+"/v1/users/"+bobID+"/follow", token, nil)
		bob := call(t, http.MethodGet, p.base+"/v1/users/"+bobID, token, nil)
		if bob["followers_count"] != float64(1) || bob["followed_by_me"] != true {
			t.Fatalf("bob after ann's follow = %v", bob)
		}
		followers := call(t, http.MethodGet, p.base+"/v1/users/"+bobID+"/followers", "", nil)
		if items, _ := followers["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != annID {
			t.Fatalf("bob's followers = %v", followers)
		}

		// The stream hears of the notification by LISTEN on the direct
		// connection; the password change that makes it commits through
		// PgBouncer with its NOTIFY.
		stream := openStream(t, p.base, token)
		call(t, http.MethodPost, p.base+"/v1/me/password", token, map[string]string{"current_password": "correct horse battery", "new_password": "a brand new secret"})
		if ev := nextStreamEvent(t, stream); ev.event != "notification" || !strings.Contains(ev.data, `"type":"security.password_changed"`) {
			t.Fatalf("stream event = %+v; want the password change's notification", ev)
		}
		unread := call(t, http.MethodGet, p.base+"/v1/me/notifications/unread-count", token, nil)
		if unread["count"] != float64(1) {
			t.Fatalf("unread count = %v; want 1", unread)
		}
		if failed := followStorm(t, p.base, token, bobID); failed != 0 {
			t.Fatalf("%d of the storm's requests failed through PgBouncer", failed)
		}
	})

	t.Run("no pooler flag", func(t *testing.T) {
		if cid == "" {
			t.Skip("the pooler's run made no users")
		}
		p := startUserd(t, args...)
		failed := followStorm(t, p.base, cid, danID)
		if failed == 0 {
			t.Fatal("every request passed through PgBouncer with prepared statements; want failures")
		}
		log := p.stderr.String()
		at := strings.Index(log, "prepared statement")
		if at < 0 {
			t.Fatalf("the log names no prepared statement:\n%s", log)
		}
		t.Logf("%d of 240 requests failed; the log says: …%s…", failed, log[at:min(len(log), at+80)])
	})
}

// followStorm has 8 clients at once follow the user other, read the user and
// unfollow them, 10 times each, and returns how many answers failed.
func followStorm(t *testing.T, base, token, other string) int64 {
	t.Helper()
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
			for range 10 {
				for _, method := range []string{http.MethodPut, http.MethodGet, http.MethodDelete} {
					path := "/v1/users/" + other
					if method != http.MethodGet {
						path += "/follow"
					}
					req, _ := http.NewRequest(method, base+path, nil)
					req.Header.Set("Authorization", "Bearer "+token)
					res, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					res.Body.Close()
					if res.StatusCode >= 300 {
						failed.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	return failed.Load()
}

// streamEvent is one event of a stream.
type streamEvent struct{ event, data string }

// nextStreamEvent reads the stream's next event, failing after 10 s.
func nextStreamEvent(t *testing.T, s *sse) streamEvent {
	t.Helper()
	got := make(chan streamEvent, 1)
	go func() {
		var ev streamEvent
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				close(got)
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "" && ev.event != "":
				got <- ev
				return
			case strings.HasPrefix(line, "event: "):
				ev.event = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	select {
	case ev, ok := <-got:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return streamEvent{}
}

// startPgbouncer runs PgBouncer in transaction mode in front of the
// database at direct, on a free loopback port, and returns the URL that
// reaches the database through it. As root it runs as the postgres user
// (PgBouncer refuses root), which must read its configuration.
func startPgbouncer(t *testing.T, direct string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "userd-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pooled, _, stop, err := proxies.StartPgBouncer(dir, direct, freeAddr(t), 4)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
		t.Fatalf("%v\n%s", err, log)
	}
	t.Cleanup(stop)
	return pooled
}
