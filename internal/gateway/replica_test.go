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
	body := openAIChatBody(`,"max_tokens":100`)
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

// A teacher's change made on one replica (or from the command line, on the
// shared ledger) applies to the very next request on another: the class
// each gateway caches is checked against the ledger's version in every
// reservation, and read again when it changed.
func TestATeachersChangeOnOneReplicaAppliesOnTheOtherAtOnce(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	_, upstream := startPractice(t, fast)
	_, heldUpstream := startScripted(t, held(3, func(i int) string { return "data: {}\n\n" }, release, ""))
	replicas := startReplicas(t, upstream, 2)
	a, b := replicas[0], replicas[1]
	teacher := a.teacherToken(t)
	tok := a.student(t, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](0)})
	ask := func(path, body string) answer { return b.post(t, path, tok, body) }
	if got := ask("v1/agent", agentBody("")); got.Status != 200 {
		t.Fatalf("before any change, on replica B: HTTP %d %s", got.Status, got.Body)
	}
	switchOnA := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", a.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+teacher)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("the switch %s %s on replica A: %v %v", path, body, resp.Status, err)
		}
		resp.Body.Close()
	}

	switchOnA("teacher/pause", `{"all":true}`)
	if got := ask("v1/agent", agentBody("")); got.Status != 403 || refusalType(t, got.Body) != "class_paused" {
		t.Errorf("the class paused on A, on B: HTTP %d %s", got.Status, got.Body)
	}
	switchOnA("teacher/pause", `{"all":false}`)
	if got := ask("v1/agent", agentBody("")); got.Status != 200 {
		t.Errorf("the class resumed on A, on B: HTTP %d %s", got.Status, got.Body)
	}

	if err := a.ledger.SetModels([]string{"sonar-pro", "gpt-4o-mini"}, "test"); err != nil {
		t.Fatal(err)
	}
	if got := ask("v1/agent", agentBody("")); got.Status != 400 || refusalType(t, got.Body) != "class_model_not_allowed" {
		t.Errorf("perplexity/sonar taken off the class's models, on B: HTTP %d %s", got.Status, got.Body)
	}

	if err := a.ledger.SetPrice("gpt-4o-mini", 1000, 2000, "test"); err != nil {
		t.Fatal(err)
	}
	if got := ask("v1/chat/completions", openAIChatBody("")); got.Status != 200 {
		t.Fatalf("a chat answer on B: HTTP %d %s", got.Status, got.Body)
	}
	r := b.requests(t)
	last := r[len(r)-1]
	if want := (float64(last.In)*1000 + float64(last.Out)*2000) / 1e6; last.Cost != want {
		t.Errorf("a price set on A, an answer on B charged %g USD, want %g", last.Cost, want)
	}

	switchOnA("teacher/limits", `{"student":"ana","limits":{"tokens_per_day":10}}`)
	if got := ask("v1/chat/completions", chatBody("")); got.Status != 429 || refusalType(t, got.Body) != "class_budget_exceeded" {
		t.Errorf("a day's budget used up by a limit set on A, on B: HTTP %d %s", got.Status, got.Body)
	}

	// One stream at once, held open on B; raised to two on A, a second
	// is taken on B at once.
	switchOnA("teacher/limits", `{"student":"ana","limits":{"tokens_per_day":0,"concurrent_streams":1}}`)
	b2 := startReplicasOn(t, b.dir, heldUpstream, 1)[0]
	first := make(chan answer, 1)
	go func() { first <- b2.post(t, "v1/chat/completions", tok, chatBody("")) }()
	waitFor(t, 3*time.Second, "the first stream never opened", func() bool {
		var n int
		b2.db.QueryRow(`SELECT COUNT(*) FROM requests WHERE state = 'open'`).Scan(&n)
		return n == 1
	})
	if got := b2.post(t, "v1/chat/completions", tok, chatBody("")); got.Status != 429 {
		t.Fatalf("a second stream at once, with a limit of one: HTTP %d %s", got.Status, got.Body)
	}
	switchOnA("teacher/limits", `{"student":"ana","limits":{"concurrent_streams":2}}`)
	second := make(chan answer, 1)
	go func() { second <- b2.post(t, "v1/chat/completions", tok, chatBody("")) }()
	waitFor(t, 3*time.Second, "the limit raised on A to two streams at once, the second never opened on B", func() bool {
		var n int
		b2.db.QueryRow(`SELECT COUNT(*) FROM requests WHERE state = 'open'`).Scan(&n)
		return n == 2
	})
}
