package client_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// moduleRoot is the repository's root, relative to this package.
const moduleRoot = ".."

// binDir holds the programs that TestMain builds: userd, and the Go example.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "userd-client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var builds sync.Map // package path → *build

// build is one `go build` of a package, shared by the tests.
type build struct {
	once sync.Once
	path string
	err  error
}

// program builds the module's package pkg (such as ./cmd/userd) once per
// test binary and returns the path of the executable.
func program(t *testing.T, pkg string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	b.once.Do(func() {
		b.path = filepath.Join(binDir, strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "-"))
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Dir = moduleRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// userd is a userd process that a test started.
type userd struct {
	url, dataDir string
	log          *strings.Builder
}

// adminEmail and adminPassword sign in the administrator that startUserd
// makes.
const (
	adminEmail    = "admin@example.com"
	adminPassword = "an administrator's passphrase"
)

// startUserd makes an administrator with `userd users create`, then runs
// `userd serve` on SQLite in a fresh folder with args, and waits until it
// answers. The process is killed when the test ends.
func startUserd(t *testing.T, args ...string) *userd {
	t.Helper()
	bin := program(t, "./cmd/userd")
	dataDir := filepath.Join(t.TempDir(), "data")
	create := exec.Command(bin, "users", "create", "--email", adminEmail, "--password", adminPassword, "--role", "ADMIN", "--data-dir", dataDir)
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("userd users create: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	u := &userd{url: "http://" + addr, dataDir: dataDir, log: &strings.Builder{}}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--rate-limits", "off", "--argon2-memory", "64", "--argon2-time", "1"}, args...)...)
	cmd.Stderr = &lockedWriter{w: u.log}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("userd's log:\n%s", u.log)
		}
	})
	waitHealthy(t, u.url, exited)
	return u
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHealthy waits up to 60 s for GET /healthz at base to answer 200.
func waitHealthy(t *testing.T, base string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatal("the process exited before answering")
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 60 s", base)
}

// lockedWriter lets a process's output be read while it runs.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
