package gateway

import (
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// LedgerEnv chooses the ledger the suite runs on: "postgres" for a
// PostgreSQL server the tests start, else SQLite in a temporary folder.
const ledgerEnv = "STREAMDEMO_TEST_LEDGER"

func TestMain(m *testing.M) {
	code := m.Run()
	pg.stop()
	durablePG.stop()
	os.Exit(code)
}

// pg is the test binary's one PostgreSQL server: started on first use, as
// an unprivileged account, listening only on a Unix socket in its own
// folder (no TCP port at all), and stopped when the tests end. A watchdog
// shell stops it when the test binary's pipe closes, so it never outlives
// the tests even if they panic.
var pg pgServer

// durablePG is a second server for the benchmarks, with fsync, synchronous
// commit and full pages on: a commit waits for the disk, as SQLite's
// synchronous=FULL does.
var durablePG = pgServer{durable: true}

type pgServer struct {
	durable bool
	once    sync.Once
	dir     string // socket folder; the cluster is in dir/data
	err     error
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	n       atomic.Int64
}

// pgBin finds a PostgreSQL program, on PATH or in Debian's folder.
func pgBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) == 0 {
		return "", fmt.Errorf("%s not found: install PostgreSQL (Debian: apt-get install -y postgresql), then run the tests again", name)
	}
	return matches[len(matches)-1], nil
}

// asServerAccount runs cmd as nobody when the tests run as root (PostgreSQL
// refuses root), in its own process group.
func asServerAccount(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
}

func (p *pgServer) start() (string, error) {
	initdb, err := pgBin("initdb")
	if err != nil {
		return "", err
	}
	postgres, err := pgBin("postgres")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "streamdemo-pg-")
	if err != nil {
		return "", err
	}
	p.dir = dir
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, 65534, 65534); err != nil {
			return "", err
		}
	}
	cmd := exec.Command(initdb, "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	asServerAccount(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	// The watchdog: postgres in the background, stopped fast (SIGINT) as
	// soon as the test binary's end of the pipe closes, then its folder removed.
	fast := "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	if p.durable {
		fast = ""
	}
	cmd = exec.Command("/bin/sh", "-c", `"$0" -D "$1/data" -k "$1" -c listen_addresses= $2 \
		-c max_connections=300 >"$1/log" 2>&1 &
		p=$!; read _; kill -INT $p; wait $p; rm -rf "$1"`, postgres, dir, fast)
	asServerAccount(cmd)
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	p.cmd = cmd
	db, err := sql.Open("pgx", p.url("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err = db.Ping(); err == nil {
			return dir, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return "", fmt.Errorf("postgres did not start: %v: %s", err, log)
		}
	}
}

// stop shuts the server down (fast, then killed) and removes its folder.
func (p *pgServer) stop() {
	if p.cmd != nil {
		p.stdin.Close()
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

// pgURL is the URL of database name on the test server.
func pgURL(name string) string { return pg.url(name) }

func (p *pgServer) url(name string) string {
	return "postgres:///" + name + "?host=" + p.dir + "&user=postgres"
}

// pgDatabase makes a new, empty database on the test server (started on
// first use) and returns its URL. A missing PostgreSQL fails the test.
func pgDatabase(t testing.TB) string { return pg.database(t) }

func (p *pgServer) database(t testing.TB) string {
	t.Helper()
	p.once.Do(func() {
		if _, err := p.start(); err != nil {
			p.err = err
		}
	})
	if p.err != nil {
		t.Fatalf("the PostgreSQL tests need a server: %v", p.err)
	}
	name := fmt.Sprintf("t%d", p.n.Add(1))
	db, err := sql.Open("pgx", p.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE DATABASE ` + name + ` STRATEGY FILE_COPY`); err != nil {
		t.Fatal(err)
	}
	return p.url(name)
}

// onPostgres says whether this run of the suite is on PostgreSQL.
func onPostgres(t testing.TB) bool {
	switch v := os.Getenv(ledgerEnv); v {
	case "", "sqlite":
		return false
	case "postgres":
		return true
	default:
		t.Fatalf("%s=%q: use sqlite or postgres", ledgerEnv, v)
		return false
	}
}

// openTestLedger opens a fresh ledger of the suite's kind; where names
// the SQLite folder or the PostgreSQL URL, for reopening it.
func openTestLedger(t testing.TB) (l *Ledger, where string) {
	t.Helper()
	where = t.TempDir()
	if onPostgres(t) {
		where = pgDatabase(t)
	}
	l = reopenTestLedger(t, where)
	if l.pg != onPostgres(t) {
		t.Fatalf("%s=%s, but the ledger is not of that kind", ledgerEnv, os.Getenv(ledgerEnv))
	}
	return l, where
}

// reopenTestLedger opens the ledger at where (a folder or a URL).
func reopenTestLedger(t testing.TB, where string) *Ledger {
	t.Helper()
	var l *Ledger
	var err error
	if strings.HasPrefix(where, "postgres://") {
		l, err = OpenPostgres(where)
	} else {
		l, err = OpenLedger(where)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// pgDump is every row of every table of a PostgreSQL ledger, as text.
func pgDump(t testing.TB, l *Ledger) string {
	t.Helper()
	rows, err := l.db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 6 {
		t.Fatalf("the ledger has only the tables %v", tables)
	}
	var b strings.Builder
	for _, name := range tables {
		rows, err := l.db.Query(`SELECT t::text FROM ` + name + ` t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var row string
			rows.Scan(&row)
			b.WriteString(row + "\n")
		}
		rows.Close()
	}
	return b.String()
}

// ledgerArg is the command-line flag that names where: --data or --database.
func ledgerArg(where string) string {
	if strings.HasPrefix(where, "postgres://") {
		return "--database"
	}
	return "--data"
}
