package ledger

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// charges are what the triggers keep, by student and day, beside what the
// answers hold counted afresh.
func charges(t *testing.T, l *Ledger) (kept, counted string) {
	t.Helper()
	rows := func(query string) string {
		rs, err := l.q().rows(context.Background(), query)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out string
		for rs.Next() {
			var student, day string
			var open, tokens int64
			var usd float64
			if err := rs.Scan(&student, &day, &open, &tokens, &usd); err != nil {
				t.Fatal(err)
			}
			if open != 0 || tokens != 0 || math.Abs(usd) > 1e-12 { // a day whose answers were all deleted
				out += fmt.Sprintf("%s %s open=%d tokens=%d usd=%.9f\n", student, day, open, tokens, usd)
			}
		}
		return out
	}
	return rows(`SELECT student, day, open, tokens, usd FROM charges ORDER BY student, day`),
		rows(`SELECT student, day, CAST(SUM(` + openFlag("") + `) AS BIGINT), CAST(SUM(` + chargedTokens("") + `) AS BIGINT),
			SUM(` + chargedUSD("") + `) FROM requests GROUP BY student, day ORDER BY student, day`)
}

// What a reservation reads of a student's answers is kept as they change,
// whatever changes them: reservations, settling, answers interrupted by a
// restart, rows deleted, on two days.
func TestChargesAreWhatTheAnswersHold(t *testing.T) {
	where := testPlace(t)
	clock := time.Now()
	cfg := Config{Dir: where, Now: func() time.Time { return clock }}
	if onPostgres(t) {
		cfg.Dir, cfg.Database = "", where
	}
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, name := range []string{"ana", "bob"} {
		if _, err := l.AddToken(name, false, Limits{RequestsPerMinute: ptr[int64](0), ConcurrentStreams: ptr[int64](0)}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	for i := range 12 {
		if i == 6 {
			clock = clock.Add(24 * time.Hour) // the next day
		}
		g, refusal, err := reserveFor(t, l, []string{"ana", "bob"}[i%2], Plan{InputTokens: int64(10 + i), DefaultOut: 100, MinUSD: 0.01, Price: Price{1, 3}, Priced: true})
		if err != nil || refusal != nil {
			t.Fatalf("reserve %d: %v %v", i, refusal, err)
		}
		ids = append(ids, g.ID)
	}
	for i, id := range ids[:8] {
		if err := l.Settle(t.Context(), id, Outcome{State: "done", InputTokens: int64(i), OutputTokens: int64(7 * i), CostUSD: 0.001 * float64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	l.Settle(t.Context(), ids[0], Outcome{State: "done", OutputTokens: 1e6}) // settled twice: the second is ignored
	if _, err := l.db.Exec(l.dialect.bind(`DELETE FROM requests WHERE id = ?`), ids[2]); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openAt(t, where)
	if n, err := l.CloseInterrupted(nil); n != 4 || err != nil { // the four never settled
		t.Fatalf("closed %d answers left open: %v", n, err)
	}
	if kept, counted := charges(t, l); kept != counted || kept == "" {
		t.Errorf("charges kept:\n%swant what the answers hold:\n%s", kept, counted)
	}
}

// A teacher's change made through another ledger (another replica, or a
// command) is seen by the next reservation: planned from the class as it
// was, it is refused as stale, nothing recorded, and the class is read again.
func TestAReservationPlannedBeforeATeachersChangeIsPlannedAgain(t *testing.T) {
	where := testPlace(t)
	gateway, teacher := openAt(t, where), openAt(t, where)
	if _, err := teacher.AddToken("ana", false, Limits{}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, change := range []struct {
		name string
		do   func() error
	}{
		{"a price", func() error { return teacher.SetPrice("sonar", 7, 9, "test") }},
		{"the models", func() error { return teacher.SetModels([]string{"sonar"}, "test") }},
		{"a limit", func() error { return teacher.SetLimits("ana", Limits{TokensPerDay: ptr[int64](5000)}, "test") }},
		{"the class paused", func() error { return teacher.PauseAll(true, "test") }},
	} {
		before, err := gateway.Class(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := change.do(); err != nil {
			t.Fatal(err)
		}
		_, refusal, err := gateway.Reserve(t.Context(), Ask{Student: "ana", Path: "v1/agent", Model: "sonar", Plan: Plan{DefaultOut: 100}, Class: before})
		if !errors.Is(err, ErrStale) || refusal != nil {
			t.Errorf("%s changed elsewhere: reserving from the class before it gave %v, %v; want ErrStale", change.name, refusal, err)
		}
		after, err := gateway.Class(t.Context())
		if err != nil || after.Version <= before.Version {
			t.Errorf("%s changed elsewhere: the class read again is version %d, before %d (%v)", change.name, after.Version, before.Version, err)
		}
	}
	class, _ := gateway.Class(t.Context())
	if p, _ := class.Price([]string{"sonar"}); p != (Price{7, 9}) || !class.ModelsSet || class.Limits("ana").TokensPerDay != 5000 || !class.PausedAll {
		t.Errorf("the class read again lacks a change: %+v", class)
	}
	if _, refusal, err := gateway.Reserve(t.Context(), Ask{Student: "ana", Path: "v1/agent", Plan: Plan{DefaultOut: 100}, Class: class}); err != nil || refusal == nil || refusal.Reason != ClassPaused {
		t.Errorf("planned from the class read again: %v, %v; want the class paused", refusal, err)
	}
	if n := count(t, gateway, `SELECT COUNT(*) FROM requests`); n != 0 {
		t.Errorf("%d requests recorded by stale or refused reservations", n)
	}
}
