package gateway

import (
	"bufio"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// leaseRenewal is how often a replica renews its lease and sweeps.
const leaseRenewal = 2 * time.Second

// usageIn is what a finished Agent API answer reported it used.
func usageIn(t testing.TB, body string) (u ledger.Totals) {
	t.Helper()
	for _, p := range events(body) {
		if ev := decodeEvent(t, p); ev.Response != nil && ev.Response.Usage != nil {
			u.Requests++
			u.InputTokens += ev.Response.Usage.InputTokens
			u.OutputTokens += ev.Response.Usage.OutputTokens
			u.USD += ev.Response.Usage.Cost.TotalCost
		}
	}
	return u
}

func addTotals(u *ledger.Totals, v ledger.Totals) {
	u.Requests, u.InputTokens, u.OutputTokens, u.USD = u.Requests+v.Requests, u.InputTokens+v.InputTokens, u.OutputTokens+v.OutputTokens, u.USD+v.USD
}

// doneTotals is what the ledger holds of finished answers.
func doneTotals(t testing.TB, db *sql.DB) (done ledger.Totals) {
	t.Helper()
	if err := db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cost_usd), 0)
		FROM requests WHERE state = 'done'`).Scan(&done.Requests, &done.InputTokens, &done.OutputTokens, &done.USD); err != nil {
		t.Fatal(err)
	}
	return done
}

// sameTotals compares totals, dollars to a billionth.
func sameTotals(a, b ledger.Totals) bool {
	return a.Requests == b.Requests && a.InputTokens == b.InputTokens && a.OutputTokens == b.OutputTokens && fmt.Sprintf("%.9f", a.USD) == fmt.Sprintf("%.9f", b.USD)
}

// openStream starts a streamed answer through url and reads until n text
// deltas have arrived; it returns the response (to read on or drop).
func openStream(t *testing.T, url, token string, n int) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"v1/agent", strings.NewReader(agentBody("")))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("a stream through the balancer: HTTP %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	for deltas := 0; deltas < n; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended after %d deltas: %v", deltas, err)
		}
		if strings.Contains(line, "output_text.delta") {
			deltas++
		}
	}
	resp.Body = struct {
		*bufio.Reader
		closer
	}{br, closer{resp.Body}}
	return resp
}

type closer struct{ c interface{ Close() error } }

func (c closer) Close() error { return c.c.Close() }

// classOnHosts is three (or n) replicas in namespaces on one PostgreSQL
// ledger, a balancer in front, and a ledger of the test's own on the same
// database.
func classOnHosts(t *testing.T, subnet string, n, pgPort int, opts practice.Options) (*classHosts, []*hostReplica, *balancer, *ledger.Ledger, *sql.DB) {
	t.Helper()
	bin := buildStreamdemo(t)
	h := newClassHosts(t, subnet, n, pgPort)
	upstream := h.startUpstream(t, opts)
	l := reopenTestLedger(t, h.databaseURL(), nil)
	t.Cleanup(func() { l.Close() })
	var replicas []*hostReplica
	for i := 1; i <= n; i++ {
		replicas = append(replicas, h.serveInNamespace(t, bin, upstream, i))
	}
	return h, replicas, newBalancer(t, replicas), l, rawDB(t, h.databaseURL())
}

func TestKillDashNineOfAReplicaAcrossHosts(t *testing.T) {
	_, replicas, front, l, db := classOnHosts(t, "198.18.4", 3, 18210, practice.Options{TokensPerSecond: 60})
	ana, err := l.AddToken("ana", false, ledger.Limits{RequestsPerMinute: ptr[int64](0), ConcurrentStreams: ptr[int64](10)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var want ledger.Totals
	for range 3 { // one finished answer on each replica
		a := do(t, "POST", front.URL+"v1/agent", ana, agentBody(""))
		if a.Status != 200 {
			t.Fatalf("an answer through the balancer: HTTP %d %s", a.Status, a.Body)
		}
		addTotals(&want, usageIn(t, a.Body))
	}
	// Three answers streaming, one on each replica; the one on replica k is cut by kill -9.
	var streams []*http.Response
	for range 3 {
		streams = append(streams, openStream(t, front.URL, ana, 3))
	}
	k := 0
	var victim *http.Response
	for _, s := range streams {
		if s.Header.Get("X-Replica") == "1" {
			k, victim = 1, s
		}
	}
	if victim == nil {
		t.Fatalf("no stream went to replica 1")
	}
	replicas[k].cmd.Process.Signal(os.Kill)
	replicas[k].cmd.Wait()
	front.down[k].Store(true)
	victim.Body.Close()

	// The others finish their answers, and serve new ones, while the killed one's is closed.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range streams {
		if s == victim {
			continue
		}
		wg.Go(func() {
			defer s.Body.Close()
			var b strings.Builder
			sc := bufio.NewScanner(s.Body)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				b.WriteString(sc.Text() + "\n")
			}
			u := usageIn(t, b.String())
			if u.Requests != 1 {
				t.Errorf("an answer on a replica that was not killed did not finish: %.300s", b.String())
			}
			mu.Lock()
			addTotals(&want, u)
			mu.Unlock()
		})
	}
	for range 4 {
		a := do(t, "POST", front.URL+"v1/agent", ana, agentBody(""))
		if a.Status != 200 {
			t.Fatalf("a new answer after the kill: HTTP %d %s", a.Status, a.Body)
		}
		mu.Lock()
		addTotals(&want, usageIn(t, a.Body))
		mu.Unlock()
	}
	wg.Wait()
	var state string
	var reserved, charged int64
	for deadline := time.Now().Add(2*leaseRenewal + 5*time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := db.QueryRow(`SELECT state, reserved_tokens, output_tokens FROM requests WHERE state <> 'done'`).Scan(&state, &reserved, &charged)
		if err != nil {
			t.Fatalf("the killed answer's row: %v", err)
		}
		if state != "open" || time.Now().After(deadline) {
			break
		}
	}
	if state != "interrupted" || charged != reserved {
		t.Errorf("the answer cut by kill -9 is %s, charged %d of its reservation %d, with no gateway restarted; want interrupted at its reservation", state, charged, reserved)
	}
	var rows int
	db.QueryRow(`SELECT COUNT(*) FROM requests`).Scan(&rows)
	if got := doneTotals(t, db); !sameTotals(got, want) || rows != int(want.Requests)+1 {
		t.Logf("%d rows in the ledger", rows)
		t.Errorf("finished answers in the ledger %+v, want what the upstream reported %+v", got, want)
	}
	logged := false
	for i, r := range replicas {
		logged = logged || (i != k && strings.Contains(r.log.String(), "1 answers of replicas that stopped"))
	}
	if !logged {
		t.Errorf("no live replica logged closing the killed one's answer")
	}
}
