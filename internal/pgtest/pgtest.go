// Package pgtest runs throwaway PostgreSQL servers for the ledger's tests
// and the gateway's benchmarks, as net/http/httptest runs HTTP servers: each
// started on first use, as an unprivileged account, listening only on a
// Unix socket in a folder of its own (no TCP port at all), and stopped when
// the tests end. A watchdog shell stops a server when the test binary's
// pipe closes, so none outlives its tests even if they panic.
package pgtest

import (
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the server is reached as the ledger reaches it
)

// Server is one PostgreSQL server. The zero value is a fast server for
// tests: fsync, synchronous commit and full-page writes off. Durable turns
// them on, so that a commit waits for the disk as SQLite's synchronous=FULL
// does: the server benchmarks compare ledgers on.
type Server struct {
	Durable bool

	once  sync.Once
	dir   string // socket folder; the cluster is in dir/data
	err   error
	cmd   *exec.Cmd
	stdin io.WriteCloser
	n     atomic.Int64
}

// Bin finds a PostgreSQL program, on PATH or in Debian's folder.
func Bin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) == 0 {
		return "", fmt.Errorf("%s not found: install PostgreSQL (Debian: apt-get install -y postgresql), then run the tests again", name)
	}
	return matches[len(matches)-1], nil
}

// AsServerAccount runs cmd as nobody when the tests run as root
// (PostgreSQL refuses root), in its own process group.
func AsServerAccount(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
}

func (s *Server) start() error {
	initdb, err := Bin("initdb")
	if err != nil {
		return err
	}
	postgres, err := Bin("postgres")
	if err != nil {
		return err
	}
	if s.dir, err = os.MkdirTemp("", "streamdemo-pg-"); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(s.dir, 65534, 65534); err != nil {
			return err
		}
	}
	cmd := exec.Command(initdb, "-D", filepath.Join(s.dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	AsServerAccount(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	// The watchdog: postgres in the background, stopped fast (SIGINT) as
	// soon as the test binary's end of the pipe closes, then its folder removed.
	fast := "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	if s.Durable {
		fast = ""
	}
	cmd = exec.Command("/bin/sh", "-c", `"$0" -D "$1/data" -k "$1" -c listen_addresses= $2 \
		-c max_connections=300 >"$1/log" 2>&1 &
		p=$!; read _; kill -INT $p; wait $p; rm -rf "$1"`, postgres, s.dir, fast)
	AsServerAccount(cmd)
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err = db.Ping(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
			return fmt.Errorf("postgres did not start: %v: %s", err, log)
		}
	}
}

// Stop shuts the server down (fast, then killed) and removes its folder.
// A TestMain calls it once the tests have run.
func (s *Server) Stop() {
	if s.cmd != nil {
		s.stdin.Close()
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// URL is the URL of database name on the server.
func (s *Server) URL(name string) string {
	return "postgres:///" + name + "?host=" + s.dir + "&user=postgres"
}

// Database makes a new, empty database on the server (started on first
// use) and returns its URL. A missing PostgreSQL fails t.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	s.once.Do(func() { s.err = s.start() })
	if s.err != nil {
		t.Fatalf("the PostgreSQL tests need a server: %v", s.err)
	}
	name := fmt.Sprintf("t%d", s.n.Add(1))
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE DATABASE ` + name + ` STRATEGY FILE_COPY`); err != nil {
		t.Fatal(err)
	}
	return s.URL(name)
}

// LedgerEnv chooses the ledger the tests that run on either use:
// "postgres" for a server of this package's, else SQLite in a folder.
const LedgerEnv = "STREAMDEMO_TEST_LEDGER"

// OnPostgres says whether this run of the tests is on PostgreSQL, as
// LedgerEnv says; any other value than sqlite or postgres fails t.
func OnPostgres(t testing.TB) bool {
	switch v := os.Getenv(LedgerEnv); v {
	case "", "sqlite":
		return false
	case "postgres":
		return true
	default:
		t.Fatalf("%s=%q: use sqlite or postgres", LedgerEnv, v)
		return false
	}
}
