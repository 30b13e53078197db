package ledger

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// crash ends a replica as kill -9 would: no more renewals, its lock's
// connection dropped, its lease row left as it was.
func crash(l *Ledger) {
	p := l.dialect.(*postgres)
	ls := p.lease
	close(ls.stop)
	<-ls.done
	ls.conn.Raw(func(c any) error { return c.(interface{ Close() error }).Close() })
	ls.conn.Close()
	p.lease = nil
}

// replica opens the ledger at database as one more replica, logging to log.
func replica(t *testing.T, database string, log *logBuffer) *Ledger {
	t.Helper()
	l := openAt(t, database)
	if _, err := l.CloseInterrupted(log.printf); err != nil {
		t.Fatal(err)
	}
	return l
}

// logBuffer is a log the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openAnswer has ana's answer open on l.
func openAnswer(t *testing.T, l *Ledger) Grant {
	t.Helper()
	if err := l.EnsureStudent(t.Context(), "ana"); err != nil {
		t.Fatal(err)
	}
	g, refusal, err := reserveFor(t, l, "ana", Plan{DefaultOut: 100, MinUSD: 0.01})
	if err != nil || refusal != nil {
		t.Fatalf("reserve: %v %v", refusal, err)
	}
	return g
}

func TestALiveReplicaClosesTheOpenAnswersOfOneThatStopped(t *testing.T) {
	database := pg.Database(t)
	a, b := replica(t, database, &logBuffer{}), replica(t, database, &logBuffer{})
	g := openAnswer(t, a)
	state := func() (s string, charged int64) {
		b.db.QueryRow(`SELECT state, output_tokens FROM requests WHERE id = $1`, g.ID).Scan(&s, &charged)
		return s, charged
	}
	sweep := func() {
		if _, err := b.dialect.(*postgres).lease.sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	sweep()
	if s, _ := state(); s != "open" {
		t.Fatalf("a running replica's answer is %s after another's sweep", s)
	}
	aID := a.dialect.replica()
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
	database := pg.Database(t)
	bLog := &logBuffer{}
	a, b := replica(t, database, &logBuffer{}), replica(t, database, bLog)
	g := openAnswer(t, a)
	crash(a) // its lease still runs for leaseTerm; its lock is free
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
	if !bytes.Contains([]byte(bLog.String()), []byte("1 answers of replicas that stopped")) {
		t.Errorf("the sweeping replica did not log what it closed: %s", bLog.String())
	}
}

func TestAGatewayStartingBesideAnotherLeavesItsAnswersOpen(t *testing.T) {
	database := pg.Database(t)
	a := replica(t, database, &logBuffer{})
	openAnswer(t, a)
	b := replica(t, database, &logBuffer{}) // beside a: a's answer is streaming
	if n := count(t, b, `SELECT COUNT(*) FROM requests WHERE state = 'open'`); n != 1 {
		t.Fatalf("a gateway starting beside a running one closed its open answer (%d open)", n)
	}
	a.Close()
	b.Close()
	c := replica(t, database, &logBuffer{}) // alone: what was open was interrupted
	if n := count(t, c, `SELECT COUNT(*) FROM requests WHERE state = 'open'`); n != 0 {
		t.Errorf("a gateway starting alone left %d answers open", n)
	}
}

func TestReplicasStartingAtOnceMigrateOnce(t *testing.T) {
	database := pg.Database(t)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			l, err := Open(Config{Database: database})
			if err == nil {
				l.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a gateway starting with others: %v", err)
		}
	}
	l := openAt(t, database)
	version, prices := count(t, l, `SELECT version FROM schema_version`), count(t, l, `SELECT COUNT(*) FROM prices WHERE model = 'sonar-pro'`)
	if version != int64(len(migrations)) || prices != 1 {
		t.Errorf("schema version %d with %d sonar-pro prices; want %d and 1", version, prices, len(migrations))
	}
}
