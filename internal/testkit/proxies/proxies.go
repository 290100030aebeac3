// Package proxies writes the configurations of the real HAProxy and
// PgBouncer that the cluster tests and the load harness put in front of
// userd and PostgreSQL, and finds their programs.
package proxies

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Find returns the path of Debian's program name (on the PATH, or in
// /usr/sbin, which a user's PATH may lack), or an error that says how to
// install it.
func Find(name string) (string, error) {
	if bin, err := exec.LookPath(name); err == nil {
		return bin, nil
	}
	bin := "/usr/sbin/" + name
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s is not installed: apt-get install -y %s (Debian)", name, name)
	}
	return bin, nil
}

// HAProxy returns the configuration of an HAProxy that listens at front
// and balances HTTP round robin over the servers (host:port, or base URLs),
// checking each one's /readyz every check, and that retries on another
// server only a request whose connection was refused: one cut after it
// was sent may have committed.
func HAProxy(front string, servers []string, check time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
  maxconn 1024
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch
  retry-on conn-failure
frontend front
  bind %s
  default_backend userd
backend userd
  balance roundrobin
  option httpchk GET /readyz
`, front)
	for i, s := range servers {
		fmt.Fprintf(&b, "  server u%d %s check inter %dms fall 1 rise 2\n", i, strings.TrimPrefix(s, "http://"), check.Milliseconds())
	}
	return b.String()
}

// PgBouncer returns the configuration of a PgBouncer in transaction mode
// that listens at listen (host:port) and pools at most pool server
// connections to the database that direct (a postgres:// URL) names, and
// the URL that reaches the database through it.
func PgBouncer(direct, listen string, pool int) (ini, pooled string, err error) {
	u, err := url.Parse(direct)
	if err != nil {
		return "", "", fmt.Errorf("database URL: %w", err)
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", "", fmt.Errorf("listen address: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	pooled = fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", listen, name)
	return fmt.Sprintf(`[databases]
%s = host=%s port=%s dbname=%s user=postgres

[pgbouncer]
listen_addr = %s
listen_port = %s
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = %d
max_client_conn = 400
`, name, u.Hostname(), u.Port(), name, host, port, pool), pooled, nil
}

// StartPgBouncer runs a PgBouncer configured as PgBouncer says in front of
// the database at direct, listening at listen, with its configuration and
// its log (pgbouncer.log) in dir, and waits until it listens. It returns
// the URL that reaches the database through it, the process id of what it
// started (PgBouncer, or runuser as its parent) and a stop. As root it runs
// as the postgres user (PgBouncer refuses root), who must be able to read
// dir.
func StartPgBouncer(dir, direct, listen string, pool int) (pooled string, pid int, stop func(), err error) {
	bin, err := Find("pgbouncer")
	if err != nil {
		return "", 0, nil, err
	}
	ini, pooled, err := PgBouncer(direct, listen, pool)
	if err != nil {
		return "", 0, nil, err
	}
	conf := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(conf, []byte(ini), 0o644); err != nil {
		return "", 0, nil, fmt.Errorf("pgbouncer configuration: %w", err)
	}
	log, err := os.Create(filepath.Join(dir, "pgbouncer.log"))
	if err != nil {
		return "", 0, nil, fmt.Errorf("pgbouncer log: %w", err)
	}
	cmd := exec.Command(bin, conf)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", "-u", "postgres", "--", bin, conf)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // runuser and pgbouncer: one group to stop
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return "", 0, nil, fmt.Errorf("start pgbouncer: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop = func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		log.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		conn, err := net.Dial("tcp", listen)
		if err == nil {
			conn.Close()
			return pooled, cmd.Process.Pid, stop, nil
		}
		select {
		case <-exited:
			stop()
			return "", 0, nil, fmt.Errorf("pgbouncer exited (see %s)", log.Name())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, fmt.Errorf("pgbouncer did not listen on %s within 10 s (see %s)", listen, log.Name())
		}
	}
}
