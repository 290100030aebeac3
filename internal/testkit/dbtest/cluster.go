package dbtest

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// PGCluster is a throwaway PostgreSQL cluster in a temporary folder.
type PGCluster struct {
	dir   string
	bin   string
	port  int
	opts  string // the server's options, for a start again
	admin *sql.DB
}

const installHint = "PostgreSQL is not installed: initdb and pg_ctl were not found on the PATH " +
	"or under /usr/lib/postgresql/*/bin. Install it with `apt-get install -y postgresql` (Debian) " +
	"and run the tests again; they never skip PostgreSQL"

// pgBin finds the folder that holds initdb and pg_ctl.
func pgBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", errors.New(installHint)
	}
	slices.SortFunc(found, func(a, b string) int { return versionOf(b) - versionOf(a) })
	return filepath.Dir(found[0]), nil
}

func versionOf(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// StartPG runs initdb and pg_ctl start on a free loopback port, with the
// given settings ("shared_buffers=512MB") besides its own. As root it runs
// them as the postgres user, which owns the cluster's folder.
func StartPG(settings ...string) (*PGCluster, error) {
	bin, err := pgBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "userd-pg-")
	if err != nil {
		return nil, fmt.Errorf("cluster folder: %w", err)
	}
	c := &PGCluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		if err := chownToPostgres(dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := c.place(settings); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.admin, err = sql.Open("pgx", c.URL("postgres"))
	if err == nil {
		err = c.admin.Ping()
	}
	if err != nil {
		c.Stop()
		return nil, fmt.Errorf("connect to test cluster: %w", err)
	}
	return c, nil
}

func (c *PGCluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// PID returns the process id of the cluster's server (the postmaster,
// whose children serve the connections).
func (c *PGCluster) PID() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// place gives the cluster a free loopback port and its server's options.
func (c *PGCluster) place(settings []string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	c.opts = fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400", c.dir, port)
	for _, s := range settings {
		c.opts += " -c " + s
	}
	return nil
}

// StartReplica makes a streaming replica of the cluster (pg_basebackup -R,
// on loopback) in a folder and on a port of its own, and starts it; it
// accepts read-only connections when it returns.
func (c *PGCluster) StartReplica() (*PGCluster, error) {
	dir, err := os.MkdirTemp("", "userd-pg-replica-")
	if err != nil {
		return nil, fmt.Errorf("replica folder: %w", err)
	}
	r := &PGCluster{dir: dir, bin: c.bin}
	if os.Geteuid() == 0 {
		if err := chownToPostgres(dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if out, err := r.run("pg_basebackup", "-D", filepath.Join(dir, "data"), "-R", "-X", "stream", "-N", "-c", "fast",
		"-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_basebackup: %v: %s", err, out)
	}
	if err := r.place(nil); err == nil {
		err = r.Start()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if r.admin, err = sql.Open("pgx", r.URL("postgres")); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// Start starts the cluster's server, with its data as it was.
func (c *PGCluster) Start() error {
	if out, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-o", c.opts, "-w", "-t", "60", "-l", filepath.Join(c.dir, "log"), "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	return nil
}

// Halt stops the cluster's server as an operator's restart does (fast
// mode: connections are ended, what committed stays), and keeps its data
// for Start.
func (c *PGCluster) Halt() error {
	if out, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// Stop stops the cluster at once and removes its folder.
func (c *PGCluster) Stop() error {
	if c.admin != nil {
		c.admin.Close()
	}
	out, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.dir)
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

func (c *PGCluster) run(name string, args ...string) (string, error) {
	prog := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", prog}, args...)...)
	} else {
		cmd = exec.Command(prog, args...)
	}
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func chownToPostgres(dir string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs the postgres user (from Debian's postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("chown cluster folder: %w", err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
