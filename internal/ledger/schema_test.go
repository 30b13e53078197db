package ledger

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

func TestTheLedgerRefusesNegativeValuesAndMigrationKeepsRows(t *testing.T) {
	dir := t.TempDir()
	// A ledger at schema 1 holding what the overflow bug left: a negative reservation.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0].sqlite, `PRAGMA user_version = 1`,
		`INSERT INTO students (name, created_at) VALUES ('ana', 1)`,
		`INSERT INTO prices VALUES ('sonar', 9, 9)`,
		`INSERT INTO requests (student, day, started_at, path, model, state, reserved_tokens, reserved_usd, cost_usd)
			VALUES ('ana', '2026-01-01', 1, 'v1/agent', 'x', 'done', -9223372036854775000, 0.5, 0.25)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	l := openAt(t, dir)
	var reserved int64
	var usd, cost float64
	if err := l.db.QueryRow(`SELECT reserved_tokens, reserved_usd, cost_usd FROM requests WHERE student = 'ana'`).Scan(&reserved, &usd, &cost); err != nil {
		t.Fatalf("the row did not survive the migration: %v", err)
	}
	if reserved != 0 || usd != 0.5 || cost != 0.25 {
		t.Errorf("after migration: reserved %d, %g USD, cost %g; want 0, 0.5, 0.25", reserved, usd, cost)
	}
	class, err := l.Class(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p, unpriced := class.Price([]string{"sonar"}); unpriced != "" || p.Input != 9 {
		t.Errorf("the teacher's price of sonar was replaced by the default: %+v", p)
	}
	if p, unpriced := class.Price([]string{"sonar-pro"}); unpriced != "" || p.Output != 15 {
		t.Errorf("no default price for sonar-pro: %+v %q", p, unpriced)
	}
	for _, q := range []string{
		`UPDATE requests SET output_tokens = -1`, `UPDATE requests SET cost_usd = -0.01`,
		`UPDATE requests SET reserved_tokens = -1`, `UPDATE limits SET usd_per_day = -1`,
		`UPDATE limits SET tokens_total = -5`, `INSERT INTO prices VALUES ('y', -1, 0)`} {
		if _, err := l.db.Exec(q); err == nil {
			t.Errorf("the ledger took %s", q)
		}
	}
	if err := l.SetLimits("*", Limits{USDPerDay: ptr(-1.0)}, "test"); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("a negative limit: %v", err)
	}
}

// The largest reservation a request can make, left open by a killed
// gateway, is charged at the restart without wrapping.
func TestTheLargestReservationLeftOpenIsChargedWhole(t *testing.T) {
	where := testPlace(t)
	l := openAt(t, where)
	if _, err := l.AddToken("bob", false, Limits{}, "test"); err != nil {
		t.Fatal(err)
	}
	const input = 1 << 20 / 4 // a body of the largest size taken, at 4 bytes a token
	if _, refusal, err := reserveFor(t, l, "bob", Plan{InputTokens: input, Cap: MaxOutputCap, Answers: MaxAnswers, DefaultOut: 1024, MinUSD: 0.01}); err != nil || refusal != nil {
		t.Fatalf("reserve: %v %v", refusal, err)
	}
	l.Close()
	l = openAt(t, where)
	if n, err := l.CloseInterrupted(nil); n != 1 || err != nil {
		t.Fatalf("restart settled %d open answers: %v", n, err)
	}
	if n := count(t, l, `SELECT COUNT(*) FROM requests WHERE reserved_tokens < 0 OR reserved_usd < 0 OR output_tokens < 0 OR cost_usd < 0`); n > 0 {
		t.Errorf("%d ledger rows with a negative value", n)
	}
	if out := count(t, l, `SELECT output_tokens FROM requests WHERE student = 'bob'`); out != input+MaxOutputCap*MaxAnswers {
		t.Errorf("the interrupted answer was charged %d tokens, want its reservation %d", out, input+MaxOutputCap*MaxAnswers)
	}
}

// A ledger made before admission read charges gets them counted from its
// answers when it opens: what the reservations read is what they hold.
func TestAnOldLedgerGetsItsChargesCounted(t *testing.T) {
	where := testPlace(t)
	var db *sql.DB
	var err error
	var steps []string
	if onPostgres(t) {
		db, err = sql.Open("pgx", where)
		steps = []string{`CREATE TABLE schema_version (version BIGINT NOT NULL)`, `INSERT INTO schema_version VALUES (4)`}
		for _, m := range migrations[:4] {
			steps = append(steps, m.postgres)
		}
	} else {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(where, File))
		steps = []string{`PRAGMA user_version = 4`}
		for _, m := range migrations[:4] {
			steps = append(steps, m.sqlite)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, `INSERT INTO students (name, created_at) VALUES ('ana', 1), ('bob', 1)`,
		`INSERT INTO requests (student, day, started_at, path, model, state, reserved_tokens, reserved_usd, input_tokens, output_tokens, cost_usd)
			VALUES ('ana', '2026-12-01', 1, 'v1/agent', 'x', 'done', 500, 0.01, 40, 60, 0.002),
			('ana', '2026-12-01', 2, 'v1/agent', 'x', 'open', 700, 0.03, 0, 0, 0),
			('ana', '2026-12-02', 3, 'v1/agent', 'x', 'interrupted', 300, 0.01, 0, 300, 0.01),
			('bob', '2026-12-02', 4, 'v1/agent', 'x', 'failed', 200, 0.01, 0, 0, 0)`)
	for _, s := range steps {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%.60s: %v", s, err)
		}
	}
	db.Close()
	l := openAt(t, where)
	kept, counted := charges(t, l)
	if kept != counted || !strings.Contains(kept, "ana 2026-12-01 open=1 tokens=800 usd=0.032000000") {
		t.Errorf("charges after migrating:\n%swant:\n%s", kept, counted)
	}
}
