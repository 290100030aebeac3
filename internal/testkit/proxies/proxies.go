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
	"strings"
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
