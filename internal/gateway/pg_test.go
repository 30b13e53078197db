package gateway

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	durablePG.Stop()
	os.Exit(code)
}

// pg is the test binary's one PostgreSQL server, started on first use;
// durablePG a second one for the benchmarks, with fsync, synchronous
// commit and full pages on.
var pg, durablePG = pgtest.Server{}, pgtest.Server{Durable: true}

// pgDatabase makes a new, empty database on the test server and returns
// its URL. A missing PostgreSQL fails the test.
func pgDatabase(t testing.TB) string { return pg.Database(t) }

// onPostgres says whether this run of the suite is on PostgreSQL.
func onPostgres(t testing.TB) bool { return pgtest.OnPostgres(t) }

// openTestLedger opens a fresh ledger of the suite's kind, on clock; where
// names the SQLite folder or the PostgreSQL URL, for reopening it.
func openTestLedger(t testing.TB, clock *testClock) (l *ledger.Ledger, where string) {
	t.Helper()
	where = t.TempDir()
	if onPostgres(t) {
		where = pgDatabase(t)
	}
	return reopenTestLedger(t, where, clock), where
}

// reopenTestLedger opens the ledger at where (a folder or a URL), on clock
// (nil: the real one).
func reopenTestLedger(t testing.TB, where string, clock *testClock) *ledger.Ledger {
	t.Helper()
	cfg := ledger.Config{Dir: where}
	if strings.HasPrefix(where, "postgres://") {
		cfg = ledger.Config{Database: where}
	}
	if clock != nil {
		cfg.Now = clock.now
	}
	l, err := ledger.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// rawDB is a database handle of the test's own on the ledger at where,
// for looking at its rows (the ledger's SQL is its own business).
func rawDB(t testing.TB, where string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+filepath.Join(where, ledger.File)+"?_pragma=busy_timeout(10000)"
	if strings.HasPrefix(where, "postgres://") {
		driver, dsn = "pgx", where
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// pgDump is every row of every table of a PostgreSQL ledger, as text.
func pgDump(t testing.TB, where string) string {
	t.Helper()
	db := rawDB(t, where)
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
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
		rows, err := db.Query(`SELECT t::text FROM ` + name + ` t`)
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

// testClock is a clock the test moves.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// skip moves the clock on by d.
func (c *testClock) skip(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}
