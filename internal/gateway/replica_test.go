package gateway

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// startReplicas runs n gateways on one PostgreSQL ledger, each with its
// own connection pool and sessions, as separate machines would.
func startReplicas(t testing.TB, upstream string, n int) []*testGateway {
	t.Helper()
	return startReplicasOn(t, pgDatabase(t), upstream, n)
}

// startReplicasOn runs n gateways on the PostgreSQL ledger at database.
func startReplicasOn(t testing.TB, database, upstream string, n int) []*testGateway {
	t.Helper()
	var out []*testGateway
	for range n {
		l := reopenTestLedger(t, database, nil)
		t.Cleanup(func() { l.Close() })
		secret, err := l.CookieSecret("")
		if err != nil {
			t.Fatal(err)
		}
		buf := &lockedBuffer{b: &bytes.Buffer{}}
		gw, err := New(Config{Upstream: upstream, Key: testKey, Ledger: l, CookieSecret: secret, Log: buf})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(gw.Handler())
		t.Cleanup(ts.Close)
		out = append(out, &testGateway{URL: ts.URL + gw.prefix, ledger: l, db: rawDB(t, database), gw: gw, log: buf, dir: database})
	}
	return out
}

// roundRobin is a load balancer in front of the replicas: each request
// goes to the next one.
func roundRobin(t testing.TB, replicas []*testGateway) *testGateway {
	t.Helper()
	var next atomic.Int64
	var proxies []*httputil.ReverseProxy
	for _, r := range replicas {
		u, _ := url.Parse(r.URL)
		p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
		p.FlushInterval = -1
		proxies = append(proxies, p)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[int(next.Add(1)-1)%len(proxies)].ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	front := *replicas[0]
	front.URL = ts.URL + "/"
	return &front
}

func TestReplicasAdmitExactlyTheConcurrentStreamLimit(t *testing.T) {
	// Slow first token: all 20 streams are open at once while the limit is checked.
	_, upstream := startPractice(t, practice.Options{FirstToken: time.Second})
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) {
			replicas := startReplicas(t, upstream, n)
			front := roundRobin(t, replicas)
			tok := front.student(t, "ana", ledger.Limits{ConcurrentStreams: ptr[int64](4), RequestsPerMinute: ptr[int64](0)})
			var wg sync.WaitGroup
			answers := make(chan answer, 20)
			for range 20 {
				wg.Go(func() { answers <- front.post(t, "v1/agent", tok, agentBody("")) })
			}
			wg.Wait()
			close(answers)
			admitted, refused := tallyAnswers(t, answers, "class_rate_limited")
			if admitted != 4 || refused != 16 {
				t.Errorf("%d streams admitted, %d refused across %d replicas; want 4 and 16", admitted, refused, n)
			}
		})
	}
}

func TestADayBudgetUsedOnOneReplicaIsRefusedOnTheOther(t *testing.T) {
	_, upstream := startPractice(t, fast)
	replicas := startReplicas(t, upstream, 2)
	a, b := replicas[0], replicas[1]
	body := chatBody(`,"max_tokens":100`)
	limit := int64(len(body)+3)/4 + 100 // one answer's reservation
	tok := a.student(t, "ana", ledger.Limits{TokensPerDay: &limit, RequestsPerMinute: ptr[int64](0)})
	if got := a.post(t, "v1/chat/completions", tok, body); got.Status != 200 {
		t.Fatalf("the first answer, on replica A: HTTP %d %s", got.Status, got.Body)
	}
	got := b.post(t, "v1/chat/completions", tok, body)
	if got.Status != http.StatusTooManyRequests || refusalType(t, got.Body) != "class_budget_exceeded" {
		t.Errorf("the second answer, on replica B, after the day's budget went on A: HTTP %d %s", got.Status, got.Body)
	}
}

func TestReplicasShareOneCookieSecret(t *testing.T) {
	_, upstream := startPractice(t, fast)
	replicas := startReplicas(t, upstream, 3)
	a := replicas[0].gw.sessions
	cookie := "some-session-id." + a.mac("session", "some-session-id")
	for i, r := range replicas[1:] {
		if _, ok := r.gw.sessions.parseCookie(cookie); !ok {
			t.Errorf("a cookie signed by replica A does not verify on replica %d", i+2)
		}
	}
	other := startReplicas(t, upstream, 1)[0]
	if _, ok := other.gw.sessions.parseCookie(cookie); ok {
		t.Errorf("a cookie signed for one class's database verifies on another's")
	}
}

func TestATeachersCookieFromOneReplicaWorksOnTheOther(t *testing.T) {
	_, upstream := startPractice(t, fast)
	replicas := startReplicas(t, upstream, 2)
	a, b := replicas[0], replicas[1]
	teacher := a.teacherToken(t)
	c, csrf := tokenLogin(t, a.URL, teacher)
	// The browser sends A's cookie to B (same host, another port: the jar
	// does not care about ports).
	if got := send(t, c, "GET", b.URL+"usage", "", csrfHeader, csrf); got != 200 {
		t.Fatalf("the session opened on replica A, used on replica B: HTTP %d", got)
	}
	if got := send(t, c, "POST", b.URL+"teacher/pause", `{"all":true,"paused":true}`, csrfHeader, csrf, "Sec-Fetch-Site", "same-origin"); got != 200 {
		t.Errorf("a switch through replica B with A's session: HTTP %d", got)
	}
	if got := send(t, c, "POST", b.URL+"teacher/logout", "", csrfHeader, csrf, "Sec-Fetch-Site", "same-origin"); got >= 400 {
		t.Fatalf("logout on replica B: HTTP %d", got)
	}
	if got := send(t, c, "GET", a.URL+"usage", "", csrfHeader, csrf); got != 401 {
		t.Errorf("the session logged out on B, used on A: HTTP %d, want 401", got)
	}
	// The ledger holds neither the token nor the session id.
	dump := pgDump(t, a.dir)
	for _, ck := range c.Jar.Cookies(mustURL(t, a.URL)) {
		if id, _, _ := strings.Cut(ck.Value, "."); id != "" && strings.Contains(dump, id) {
			t.Errorf("the ledger holds the session id")
		}
	}
	if strings.Contains(dump, teacher) || strings.Contains(dump, teacher[len(ledger.TokenPrefix):20]) {
		t.Errorf("the ledger holds the teacher's token")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
