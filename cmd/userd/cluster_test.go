package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/userd/userd/internal/testkit/dbtest"
	"github.com/userd/userd/internal/testkit/proxies"
)

// startHAProxy runs Debian's haproxy in front of the processes (see
// proxies.HAProxy), checking each one's /readyz every 200 ms, and returns
// its address.
func startHAProxy(t *testing.T, procs []*process) string {
	t.Helper()
	bin, err := proxies.Find("haproxy")
	if err != nil {
		t.Fatal(err)
	}
	front := freeAddr(t)
	var servers []string
	for _, p := range procs {
		servers = append(servers, p.base)
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	conf := proxies.HAProxy(front, servers, 200*time.Millisecond)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", cfg, "-db")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + front
	waitHealthy(t, base)
	return base
}

// TestClusterBehindHAProxy (PostgreSQL's: processes share one database):
// three userd processes on one PostgreSQL database behind HAProxy, round
// robin, so that consecutive requests land on different processes. A user
// signs up on one and logs in on another; a log-out and a suspension take
// effect on every process; a notification sent through one process reaches
// a stream held by another; each mail leaves once though every process runs
// the mail jobs; a rate limit counts every process's attempts exactly; and
// when one process is killed (SIGKILL) in the middle of a follow storm, the
// others carry on and every follow that was answered is there.
func TestClusterBehindHAProxy(t *testing.T) {
	c := dbtest.OwnCluster(t, "cluster")
	box := newSMTPBox(t)
	db := []string{"--data-dir", filepath.Join(t.TempDir(), "data"), "--database-url", c.URL("cluster")}
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"users", "create", "--email", "admin@example.com", "--password", "correct horse battery", "--role", "ADMIN"}, db...), &out); err != nil {
		t.Fatalf("users create: %v: %s", err, out.String())
	}
	args := append([]string{"--smtp-url", "smtp://" + box.addr, "--argon2-memory", "64", "--argon2-time", "1"}, db...)
	procs := []*process{startUserd(t, args...), startUserd(t, args...), startUserd(t, args...)}
	front := startHAProxy(t, procs)

	do := func(base, method, path, tok string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	login := func(email string) string {
		t.Helper()
		status, out := do(front, "POST", "/v1/auth/login", "", map[string]string{"identifier": email, "password": "correct horse battery"})
		tok, _ := out["session"].(map[string]any)["token"].(string)
		if status != http.StatusOK || tok == "" {
			t.Fatalf("log-in of %s = %d %v", email, status, out)
		}
		return tok
	}
	// everywhere returns the status of GET /v1/me on each process, once
	// they agree (within 2 s: another process hears of a change when the
	// database's notification arrives).
	everywhere := func(tok string, want int) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for {
			var got []int
			for _, p := range procs {
				s, _ := do(p.base, "GET", "/v1/me", tok, nil)
				got = append(got, s)
			}
			if got[0] == want && got[1] == want && got[2] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /v1/me on the three processes = %v; want %d on each", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	adm := login("admin@example.com")

	// Sign up through one process, log in through the next; every process
	// knows the session.
	_, annID := signupVia(t, front, "ann@example.com")
	ann := login("ann@example.com")
	everywhere(ann, http.StatusOK)
	if status, _ := do(front, "POST", "/v1/auth/logout", ann, nil); status != http.StatusNoContent {
		t.Fatalf("log-out = %d", status)
	}
	everywhere(ann, http.StatusUnauthorized)

	// A suspension ends the user's sessions on every process.
	ann = login("ann@example.com")
	everywhere(ann, http.StatusOK)
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if status, out := do(front, "POST", "/v1/admin/moderation-actions", adm, map[string]any{"user_id": annID, "action": "suspend", "reason": "Cool off.", "until": until}); status != http.StatusCreated {
		t.Fatalf("suspend = %d %v", status, out)
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, p := range procs {
		for {
			if s, _ := do(p.base, "GET", "/v1/me", ann, nil); s == http.StatusUnauthorized || s == http.StatusForbidden {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still serves a suspended user's session", p.base)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// A notification sent through one process reaches a stream held by
	// another.
	bob, bobID := signupVia(t, front, "bob@example.com")
	stream := openStream(t, procs[0].base, bob)
	if status, out := do(procs[1].base, "POST", "/v1/admin/notifications", adm, map[string]any{"user_id": bobID, "type": "live", "title": "across"}); status != http.StatusCreated {
		t.Fatalf("notify = %d %v", status, out)
	}
	got := make(chan string, 1)
	go func() {
		var seen strings.Builder
		for !strings.Contains(seen.String(), `"title":"across"`) {
			line, err := stream.r.ReadString('\n')
			if err != nil {
				break
			}
			seen.WriteString(line)
		}
		got <- seen.String()
	}()
	select {
	case s := <-got:
		if !strings.Contains(s, `"title":"across"`) {
			t.Fatalf("the stream on another process ended without the notification: %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the notification never reached the stream on another process")
	}

	// Each mail leaves once: four sign-ups (ann, bob and these two) and the
	// three runners' jobs.
	signupVia(t, front, "cat@example.com")
	signupVia(t, front, "dan@example.com")
	to := map[string]int{}
	for len(to) < 4 {
		select {
		case env := <-box.got:
			to[env.GetHeader("To")]++
		case <-time.After(20 * time.Second):
			t.Fatalf("mails received: %v; want one to each of the four users", to)
		}
	}
	select {
	case env := <-box.got:
		t.Fatalf("a mail left twice or more: another to %s (after %v)", env.GetHeader("To"), to)
	case <-time.After(2 * time.Second):
	}
	for addr, n := range to {
		if n != 1 {
			t.Errorf("%d mails to %s", n, addr)
		}
	}

	// A rate limit counts every process's attempts: of 12 failed log-ins
	// for one identifier, round robin over the three, exactly 10 are
	// checked (auth.DefaultLimits.LoginFailures) and 2 refused.
	counts := map[int]int{}
	for range 12 {
		s, _ := do(front, "POST", "/v1/auth/login", "", map[string]string{"identifier": "cat@example.com", "password": "wrong wrong wrong"})
		counts[s]++
	}
	if counts[http.StatusUnauthorized] != 10 || counts[http.StatusTooManyRequests] != 2 {
		t.Fatalf("12 failed log-ins answered %v; want 10 × 401 and 2 × 429", counts)
	}

	// A follow storm through the balancer; one process is killed in the
	// middle of it. What a process answered 2xx is there; the other
	// processes carry on (after the balancer's check marks the dead one
	// down, no request fails).
	const users = 24
	type member struct{ tok, id string }
	crowd := make([]member, users)
	for i := range crowd {
		crowd[i].tok, crowd[i].id = signupVia(t, front, fmt.Sprintf("f%02d@example.com", i))
	}
	var mu sync.Mutex
	followed := map[string]bool{} // follower>followee answered 2xx
	cut := map[string]bool{}      // sent, and no answer: the kill cut it
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < users*users; i += 8 {
				from, to := crowd[i/users], crowd[i%users]
				if from.id == to.id {
					continue
				}
				if i == users*users/2 && w == 0 {
					procs[2].cmd.Process.Signal(syscall.SIGKILL)
					close(killed)
				}
				status, err := tryFollow(front, from.tok, to.id)
				mu.Lock()
				switch {
				case err == nil && status/100 == 2:
					followed[from.id+">"+to.id] = true
				case err != nil || status == http.StatusBadGateway || status == http.StatusServiceUnavailable:
					cut[from.id+">"+to.id] = true
				default:
					t.Errorf("follow = %d", status)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	<-killed
	// Every follow answered 2xx is stored; a stored one that was not
	// answered is one the kill cut after its commit.
	direct, err := sql.Open("pgx", c.URL("cluster"))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	rows, err := direct.Query(`SELECT follower_id::text || '>' || following_id::text FROM user_follows`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var pair string
		rows.Scan(&pair)
		stored[pair] = true
	}
	rows.Close()
	for pair := range followed {
		if !stored[pair] {
			t.Errorf("follow %s was answered 2xx and is not stored", pair)
		}
	}
	for pair := range stored {
		if !followed[pair] && !cut[pair] {
			t.Errorf("follow %s is stored but was never sent", pair)
		}
	}
	// The counters agree with the rows.
	for _, m := range crowd {
		status, out := do(front, "GET", "/v1/users/"+m.id, adm, nil)
		n, _ := out["followers_count"].(float64)
		want := 0
		for pair := range stored {
			if strings.HasSuffix(pair, ">"+m.id) {
				want++
			}
		}
		if status != http.StatusOK || int(n) != want {
			t.Errorf("%s: %d followers_count %v; %d stored", m.id, status, out["followers_count"], want)
		}
	}
	// The two processes left serve every request once the balancer knows.
	time.Sleep(time.Second)
	for range 9 {
		if status, out := do(front, "GET", "/v1/me", adm, nil); status != http.StatusOK {
			t.Fatalf("after the kill, GET /v1/me through the balancer = %d %v", status, out)
		}
	}
	t.Logf("follow storm: %d answered 2xx, %d cut by the kill, %d stored", len(followed), len(cut), len(stored))
}

// tryFollow makes the follower follow a user through base and returns the
// status, or the error of a request that got no answer.
func tryFollow(base, tok, userID string) (int, error) {
	req, _ := http.NewRequest(http.MethodPut, base+"/v1/users/"+userID+"/follow", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
