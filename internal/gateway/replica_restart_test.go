package gateway

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// readAll reads the rest of a stream opened by openStream.
func readAll(t *testing.T, r io.ReadCloser) string {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("the stream broke: %v", err)
	}
	return string(b)
}

func TestPostgresRestartedMidClassAcrossHosts(t *testing.T) {
	h, replicas, front, l, db := classOnHosts(t, "198.18.5", 2, 18211, practice.Options{TokensPerSecond: 40})
	ana, err := l.AddToken("ana", false, ledger.Limits{RequestsPerMinute: ptr[int64](0), ConcurrentStreams: ptr[int64](10)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var want ledger.Totals
	ask := func() answer { return do(t, "POST", front.URL+"v1/agent", ana, agentBody("")) }

	// The database stops while an answer streams, and students ask meanwhile
	// (pg_ctl restart split in two, so that they meet it down).
	streaming := openStream(t, front.URL, ana, 3)
	h.pgCtl(t, "stop", "-m", "fast")
	for range len(replicas) {
		a := ask()
		var e struct {
			Error struct{ Message, Type string }
		}
		json.Unmarshal([]byte(a.Body), &e)
		msg := e.Error.Message
		if (a.Status != 502 && a.Status != 503) || e.Error.Type != "class_gateway_error" ||
			!strings.HasSuffix(msg, ".") || strings.Contains(strings.TrimSuffix(msg, "."), ". ") {
			t.Errorf("with the database down, replica %s answers HTTP %d %s; want a 502 or 503 class_gateway_error in one sentence", a.Header.Get("X-Replica"), a.Status, a.Body)
		}
		if a.Header.Get("X-Should-Retry") == "false" {
			t.Errorf("with the database down, the refusal tells clients not to retry, though waiting helps")
		}
		if strings.Contains(a.Body, h.password) || strings.Contains(a.Body, h.subnet) {
			t.Errorf("the refusal names the database: %s", a.Body)
		}
	}
	// The answer ends while the database is down: its replica records it
	// once the database is back.
	addTotals(&want, usageIn(t, readAll(t, streaming.Body)))
	h.startPostgres(t)
	// The gateways re-dial on their own: each answers again within seconds.
	for deadline, ok := time.Now().Add(15*time.Second), 0; ok < len(replicas); {
		a := ask()
		if a.Status == 200 {
			ok++
			addTotals(&want, usageIn(t, a.Body))
		} else if time.Now().After(deadline) {
			t.Fatalf("15 s after the database came back, a replica still answers HTTP %d %s", a.Status, a.Body)
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}

	// A plain fast restart while an answer streams.
	streaming = openStream(t, front.URL, ana, 3)
	h.pgCtl(t, "restart", "-m", "fast")
	addTotals(&want, usageIn(t, readAll(t, streaming.Body)))
	for range len(replicas) {
		if a := ask(); a.Status != 200 {
			t.Errorf("after pg_ctl restart -m fast: HTTP %d %s", a.Status, a.Body)
		} else {
			addTotals(&want, usageIn(t, a.Body))
		}
	}

	// Nobody charged wrongly: every answer recorded as the upstream
	// reported it, none left open or closed at its reservation, and no
	// refused request charged.
	var open, other int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		db.QueryRow(`SELECT COUNT(*) FILTER (WHERE state = 'open'), COUNT(*) FILTER (WHERE state NOT IN ('open', 'done')) FROM requests`).Scan(&open, &other)
		if open == 0 || time.Now().After(deadline) {
			break
		}
	}
	if got := doneTotals(t, db); open != 0 || other != 0 || !sameTotals(got, want) {
		t.Errorf("the ledger holds %+v done, %d open and %d otherwise; want %+v done, nothing else", got, open, other, want)
	}
	recorded := false
	for _, r := range replicas {
		recorded = recorded || strings.Contains(r.log.String(), "after the database came back")
	}
	if !recorded {
		t.Errorf("no replica says it recorded the answer that ended while the database was down")
	}
	for i, r := range replicas {
		if t.Failed() {
			t.Logf("replica %d:\n%s", i, r.log.String())
		}
		if r.cmd.ProcessState != nil {
			t.Errorf("replica %d exited: %s", i, r.log.String())
		}
	}
}
