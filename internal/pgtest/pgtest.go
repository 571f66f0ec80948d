// Package pgtest runs a throwaway PostgreSQL cluster for tests: initdb into
// a temporary directory, a server listening only on a unix socket in that
// directory, one database per caller, and everything removed at the end.
//
// A test package shares one cluster (started on first use, stopped by Main
// from its TestMain):
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.Shared(t).NewDatabase(t) // a fresh, empty database
//		…
//	}
//
// Where no PostgreSQL server is installed Shared skips the test, saying so,
// unless the environment variable CI is set: CI must never skip, so there
// it fails. initdb refuses to run as root, so as root the cluster is made
// and run as the postgres OS user (the Debian package creates it).
//
// GPSOC_TEST_POSTGRES, when set, names an existing server instead (a
// superuser URL): each NewDatabase makes a database on it.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoServer is returned by Start when no PostgreSQL server is installed.
var ErrNoServer = errors.New("no PostgreSQL server found (install the postgresql-15 package, or put initdb and pg_ctl on PATH)")

// Cluster is a running PostgreSQL server.
type Cluster struct {
	// Dir holds the data directory, the socket and the log (empty for an
	// existing server named by GPSOC_TEST_POSTGRES).
	Dir string
	// admin is a superuser URL on the postgres database.
	admin   string
	bin     string
	runAs   *user.User // nil: run as ourselves
	dbs     atomic.Int64
	stopMu  sync.Mutex
	stopped bool
}

// Options tune a cluster started by Start.
type Options struct {
	// Durable keeps fsync on (benchmarks of writes that claim durability;
	// GPSOC_TEST_PG_DURABLE=1 sets it for Main); tests run without it.
	Durable bool
	// TCP also listens on a loopback port (Port) besides the socket.
	TCP bool
	// Settings are more server settings, name=value each (a diagnostic
	// run's shared_preload_libraries=pg_stat_statements, say).
	Settings []string
}

// FindBin returns the directory holding initdb and pg_ctl: PATH first,
// then the newest /usr/lib/postgresql/N/bin (Debian's layout, not on PATH).
func FindBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNoServer
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Start makes and starts a new cluster. Stop it with Stop.
func Start(opt Options) (*Cluster, error) {
	if u := os.Getenv("GPSOC_TEST_POSTGRES"); u != "" {
		c := &Cluster{admin: u}
		if err := c.ping(); err != nil {
			return nil, fmt.Errorf("GPSOC_TEST_POSTGRES: %w", err)
		}
		return c, nil
	}
	bin, err := FindBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		// initdb refuses root; the server runs as the postgres OS user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and there is no postgres OS user to run the test cluster as (initdb refuses root): %w", err)
		}
		c.runAs = u
	}
	// Short path: the socket's path must stay under 107 bytes.
	dir, err := os.MkdirTemp("/tmp", "gpsoc-pg-")
	if err != nil {
		return nil, err
	}
	c.Dir = dir
	if c.runAs != nil {
		uid, _ := strconv.Atoi(c.runAs.Uid)
		gid, _ := strconv.Atoi(c.runAs.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("give the test cluster's directory to postgres: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	port := 5432
	listen := "''"
	if opt.TCP {
		port = freePort()
		listen = "127.0.0.1"
	}
	pgOpts := fmt.Sprintf("-k %s -c listen_addresses=%s -p %d -c max_connections=200 -c shared_buffers=128MB", dir, listen, port)
	if !opt.Durable {
		pgOpts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	for _, kv := range opt.Settings {
		pgOpts += " -c " + kv
	}
	if out, err := c.run(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", pgOpts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	c.watch()
	q := url.Values{"host": {dir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}
	if opt.TCP {
		c.admin = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	} else {
		c.admin = "postgres://postgres@/postgres?" + q.Encode()
	}
	if err := c.ping(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// watch starts a watchdog that stops the server and removes its directory
// when this process ends without Stop (a test binary killed, or stopped by
// its -timeout): a throwaway cluster never outlives its tests.
func (c *Cluster) watch() {
	script := `while kill -0 "$1" 2>/dev/null; do sleep 1; done
pid=$(head -1 "$2/data/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null
sleep 2; rm -rf "$2"`
	cmd := exec.Command("/bin/sh", "-c", script, "pgtest-watchdog", strconv.Itoa(os.Getpid()), c.Dir)
	// As ourselves: as postgres it could not probe a root test process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cmd.Start() == nil {
		go cmd.Wait()
	}
}

func (c *Cluster) credential() *syscall.Credential {
	uid, _ := strconv.Atoi(c.runAs.Uid)
	gid, _ := strconv.Atoi(c.runAs.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// run runs a server program, as the postgres OS user when we are root.
func (c *Cluster) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(prog, args...)
	cmd.Dir = "/"
	if c.runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.credential()}
		cmd.Env = append(os.Environ(), "HOME="+c.runAs.HomeDir, "USER=postgres", "LOGNAME=postgres")
	}
	return cmd.CombinedOutput()
}

// freePort is a loopback port the kernel gives now (the server takes it a
// moment later: a race another process could win, and then start fails).
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 20000 + os.Getpid()%20000
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *Cluster) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.admin)
	if err != nil {
		return fmt.Errorf("connect to the test cluster: %w", err)
	}
	return conn.Close(ctx)
}

// AdminURL is a superuser URL on the cluster's postgres database.
func (c *Cluster) AdminURL() string { return c.admin }

// URL is a superuser URL on database db.
func (c *Cluster) URL(db string) string {
	u, _ := url.Parse(c.admin)
	u.Path = "/" + db
	return u.String()
}

// CreateDatabase makes an empty database and returns a superuser URL on it.
func (c *Cluster) CreateDatabase(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

// NewDatabase makes a fresh, empty database for one test and returns a
// superuser URL on it.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.dbs.Add(1))
	u, err := c.CreateDatabase(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Stop stops the server and removes its directory.
func (c *Cluster) Stop() error {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if c.stopped || c.Dir == "" {
		return nil
	}
	c.stopped = true
	out, err := c.run(filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.Dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.Dir)
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

var shared struct {
	once sync.Once
	c    *Cluster
	err  error
	opt  Options
}

// Main runs a test package's tests and then stops its shared cluster, if
// one was started. Call it from TestMain.
func Main(m *testing.M) { MainWith(m, Options{}) }

// MainWith is Main with options for the shared cluster.
func MainWith(m *testing.M, opt Options) {
	if os.Getenv("GPSOC_TEST_PG_DURABLE") == "1" {
		opt.Durable = true // benchmarks of durable writes
	}
	shared.opt = opt
	code := m.Run()
	if shared.c != nil {
		if err := shared.c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// Shared is the package's cluster, started on first use. Where no server
// is installed it skips the test (fails it when CI is set); any other
// failure to start fails the test.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.once.Do(func() { shared.c, shared.err = Start(shared.opt) })
	if shared.err != nil {
		if errors.Is(shared.err, ErrNoServer) && os.Getenv("CI") == "" {
			t.Skipf("skipped: %v", shared.err)
		}
		if errors.Is(shared.err, ErrNoServer) {
			t.Fatalf("CI is set and %v: CI must run the PostgreSQL tests (.ci/run installs postgresql-15)", shared.err)
		}
		t.Fatalf("start the test PostgreSQL cluster: %v", shared.err)
	}
	return shared.c
}

// Available reports whether a server is installed (or named by GPSOC_TEST_POSTGRES).
func Available() bool {
	if os.Getenv("GPSOC_TEST_POSTGRES") != "" {
		return true
	}
	_, err := FindBin()
	return err == nil
}
