package ledger

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/pgtest"
)

// pg is the test binary's PostgreSQL server, started on first use.
var pg pgtest.Server

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

// onPostgres says whether this run of the suite is on PostgreSQL.
func onPostgres(t testing.TB) bool { return pgtest.OnPostgres(t) }

// testPlace is a fresh place for a ledger of the run's kind: a folder, or
// a database's URL.
func testPlace(t testing.TB) string {
	if onPostgres(t) {
		return pg.Database(t)
	}
	return t.TempDir()
}

// openAt opens the ledger at where (a folder or a postgres:// URL), closed
// when the test ends.
func openAt(t testing.TB, where string) *Ledger {
	t.Helper()
	cfg := Config{Dir: where}
	if strings.HasPrefix(where, "postgres://") {
		cfg = Config{Database: where}
	}
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// count runs a query for one number on l's database.
func count(t testing.TB, l *Ledger, query string, args ...any) (n int64) {
	t.Helper()
	if err := l.q().row(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// reserveFor reserves an answer of a plan for student, planned from the
// class as l last read it.
func reserveFor(t testing.TB, l *Ledger, student string, p Plan) (Grant, *Refusal, error) {
	t.Helper()
	class, err := l.Class(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l.Reserve(context.Background(), Ask{Student: student, Path: "v1/agent", Model: "sonar", Plan: p, Class: class})
}
