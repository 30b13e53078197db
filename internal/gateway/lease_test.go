package gateway

import (
	"bytes"
	"testing"
	"time"
)

// crash ends a replica as kill -9 would: no more renewals, its lock's
// connection dropped, its lease row left as it was.
func crash(l *Ledger) {
	close(l.lease.stop)
	<-l.lease.done
	l.lease.conn.Raw(func(c any) error { return c.(interface{ Close() error }).Close() })
	l.lease.conn.Close()
	l.lease = nil
}

func TestALiveReplicaClosesTheOpenAnswersOfOneThatStopped(t *testing.T) {
	database := pgDatabase(t)
	start := func() *Ledger {
		l := reopenTestLedger(t, database)
		t.Cleanup(func() { l.Close() })
		if _, err := New(Config{Upstream: "http://127.0.0.1:9/v1", Key: testKey, Ledger: l, CookieSecret: bytes.Repeat([]byte("s"), 32)}); err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := start(), start()
	if err := a.ensureStudent(t.Context(), "ana"); err != nil {
		t.Fatal(err)
	}
	g, refusal, err := a.reserve(t.Context(), "ana", "v1/agent", "sonar", plan{DefaultOut: 100, MinUSD: 0.01})
	if err != nil || refusal != nil {
		t.Fatalf("reserve: %v %v", refusal, err)
	}
	state := func() (s string, charged int64) {
		b.db.QueryRow(`SELECT state, output_tokens FROM requests WHERE id = $1`, g.ID).Scan(&s, &charged)
		return s, charged
	}
	sweep := func() {
		if _, err := b.sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	sweep()
	if s, _ := state(); s != "open" {
		t.Fatalf("a running replica's answer is %s after another's sweep", s)
	}
	aID := a.replica
	crash(a)
	// Lease renewed before the database last started: the free lock means
	// nothing until the lease runs out.
	b.db.Exec(`UPDATE replicas SET renewed_at = 0 WHERE id = $1`, aID)
	time.Sleep(100 * time.Millisecond) // the server frees the dropped connection's lock
	sweep()
	if s, _ := state(); s != "open" {
		t.Errorf("an answer was %s while its replica's lease, renewed before a restart of the database, still ran", s)
	}
	b.db.Exec(`UPDATE replicas SET expires_at = 0 WHERE id = $1`, aID)
	sweep()
	if s, charged := state(); s != "interrupted" || charged != g.Held.Tokens {
		t.Errorf("after the lease ran out: %s, charged %d tokens; want interrupted at its reservation of %d", s, charged, g.Held.Tokens)
	}
}

func TestAKilledReplicasAnswerIsClosedAtTheNextRenewalOfAnother(t *testing.T) {
	database := pgDatabase(t)
	var logs []*lockedBuffer
	start := func() *Ledger {
		l := reopenTestLedger(t, database)
		t.Cleanup(func() { l.Close() })
		buf := &lockedBuffer{b: &bytes.Buffer{}}
		logs = append(logs, buf)
		if _, err := New(Config{Upstream: "http://127.0.0.1:9/v1", Key: testKey, Ledger: l, CookieSecret: bytes.Repeat([]byte("s"), 32), Log: buf}); err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := start(), start()
	a.ensureStudent(t.Context(), "ana")
	g, refusal, err := a.reserve(t.Context(), "ana", "v1/agent", "sonar", plan{DefaultOut: 100, MinUSD: 0.01})
	if err != nil || refusal != nil {
		t.Fatalf("reserve: %v %v", refusal, err)
	}
	crash(a) // its lease still runs for replicaLeaseTerm; its lock is free
	deadline := time.Now().Add(renewEvery + 3*time.Second)
	for {
		var s string
		b.db.QueryRow(`SELECT state FROM requests WHERE id = $1`, g.ID).Scan(&s)
		if s == "interrupted" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed replica's answer is still %s %s later", s, renewEvery+3*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !bytes.Contains([]byte(logs[1].String()), []byte("1 answers of replicas that stopped")) {
		t.Errorf("the sweeping replica did not log what it closed: %s", logs[1].String())
	}
}
