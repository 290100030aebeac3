package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/userd/userd/internal/testkit/dbtest"
)

// asUserd, set in a child's environment, makes the test binary run userd's
// main instead of the tests: a real process that a test can signal.
const asUserd = "USERD_TEST_AS_USERD"

// process is userd running as a child process.
type process struct {
	cmd    *exec.Cmd
	base   string
	stderr *strings.Builder
	exited chan error
}

// startUserd runs `userd serve` with args in a child process and waits
// until it answers.
func startUserd(t *testing.T, args ...string) *process {
	t.Helper()
	return startBinary(t, os.Args[0], args...)
}

// startBinary is startUserd with the test binary at bin, a copy of it.
func startBinary(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), asUserd+"=1")
	p := &process{cmd: cmd, base: "http://" + addr, stderr: &strings.Builder{}, exited: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	waitHealthy(t, p.base)
	return p
}

// lockedWriter lets the process's output be read while it runs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestSIGTERMDuringStorm sends SIGTERM to a userd process while 16 clients
// follow, read and unfollow as fast as they can and a notification stream
// is open: no request that reached the server is cut (each gets its whole
// answer; the only errors are refused connections once the listener has
// closed), the stream ends with a retry hint, the process exits 0, and no
// job is left leased to it.
func TestSIGTERMDuringStorm(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			args := []string{"--data-dir", dataDir, "--rate-limits", "off", "--argon2-memory", "64", "--argon2-time", "1"}
			where := filepath.Join(dataDir, "userd.db")
			if engine == "postgres" {
				where = dbtest.NewPostgresURL(t, false)
				args = append(args, "--database-url", where)
			}
			p := startUserd(t, args...)

			const workers = 16
			tokens, ids := make([]string, workers), make([]string, workers)
			for i := range workers {
				tokens[i], ids[i] = signupVia(t, p.base, fmt.Sprintf("storm%d@example.com", i))
			}
			stream := openStream(t, p.base, tokens[0])

			var served, refused atomic.Int64
			cuts := make(chan string, workers)
			var wg sync.WaitGroup
			for i := range workers {
				wg.Go(func() {
					client := &http.Client{Transport: &http.Transport{}}
					other := ids[(i+1)%workers]
					for n := 0; ; n++ {
						var method, path string
						switch n % 3 {
						case 0:
							method, path = http.MethodPut, "/v1/users/"+other+"/follow"
						case 1:
							method, path = http.MethodGet, "/v1/me"
						default:
							method, path = http.MethodDelete, "/v1/users/"+other+"/follow"
						}
						req, _ := http.NewRequest(method, p.base+path, nil)
						req.Header.Set("Authorization", "Bearer "+tokens[i])
						// PUT and DELETE are idempotent here: a client may
						// send them again on a connection the server closed.
						req.Header.Set("Idempotency-Key", fmt.Sprint(i, "-", n))
						res, err := client.Do(req)
						if err == nil {
							_, err = io.Copy(io.Discard, res.Body)
							res.Body.Close()
							if err == nil && res.StatusCode >= 500 {
								err = fmt.Errorf("status %d", res.StatusCode)
							}
						}
						switch {
						case err == nil:
							served.Add(1)
						case errors.Is(err, syscall.ECONNREFUSED):
							refused.Add(1)
							return
						default:
							cuts <- fmt.Sprintf("%s %s: %v", method, path, err)
							return
						}
					}
				})
			}
			for served.Load() < 300 {
				time.Sleep(10 * time.Millisecond)
			}
			atStop := served.Load()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			close(cuts)
			for c := range cuts {
				t.Errorf("cut: %s", c)
			}
			if refused.Load() != workers {
				t.Errorf("%d of %d clients ended on a refused connection", refused.Load(), workers)
			}
			select {
			case err := <-p.exited:
				p.exited <- err // for the cleanup
				if err != nil {
					t.Fatalf("userd exited with %v; want 0\n%s", err, p.stderr)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("userd did not exit")
			}
			if tail := stream.rest(t); !strings.Contains(tail, ": shutting down\nretry: ") {
				t.Errorf("the stream ended with %q; want a retry hint", tail)
			}
			t.Logf("%d requests served before SIGTERM, %d in all", atStop, served.Load())

			db, err := dbtest.OpenAt(context.Background(), engine, where)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var leased int
			if err := db.SQL().QueryRow(`SELECT count(*) FROM jobs WHERE done_at IS NULL AND locked_by IS NOT NULL`).Scan(&leased); err != nil {
				t.Fatal(err)
			}
			if leased != 0 {
				t.Fatalf("%d jobs still leased to the stopped process", leased)
			}
		})
	}
}

// signupVia signs a user up over HTTP and returns their session token and
// id.
func signupVia(t *testing.T, base, email string) (token, id string) {
	t.Helper()
	out := call(t, http.MethodPost, base+"/v1/auth/signup", "", map[string]string{"email": email, "password": "correct horse battery"})
	session, _ := out["session"].(map[string]any)
	user, _ := out["user"].(map[string]any)
	token, _ = session["token"].(string)
	id, _ = user["id"].(string)
	if token == "" || id == "" {
		t.Fatalf("sign-up answered %v", out)
	}
	return token, id
}

// sse is an open event stream.
type sse struct {
	r    *bufio.Reader
	body io.Closer
}

func openStream(t *testing.T, base, token string) *sse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/me/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v, %v", res, err)
	}
	s := &sse{r: bufio.NewReader(res.Body), body: res.Body}
	t.Cleanup(func() { s.body.Close() })
	return s
}

// rest reads the stream to its end and returns what came after its
// opening comment and retry line.
func (s *sse) rest(t *testing.T) string {
	t.Helper()
	b, err := io.ReadAll(s.r)
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return strings.TrimPrefix(string(b), ": stream open\nretry: 3000\n\n")
}
