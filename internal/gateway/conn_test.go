package gateway

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// serveReal runs the gateway behind its own http.Server (as "gateway serve" does).
func serveReal(t *testing.T, upstream string, bodyTimeout time.Duration) (*testGateway, string) {
	tg := startGateway(t, upstream, func(c *Config) { c.BodyTimeout = bodyTimeout })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := tg.gw.Server()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return tg, ln.Addr().String()
}

func TestASlowBodyIsCutButALongAnswerIsNot(t *testing.T) {
	_, upstream := startPractice(t, practice.Options{FirstToken: 600 * time.Millisecond})
	tg, addr := serveReal(t, upstream, 300*time.Millisecond)
	tok := tg.student(t, "ana", ledger.Limits{})
	srv := tg.gw.Server()
	if srv.IdleTimeout == 0 || srv.ReadHeaderTimeout == 0 || srv.MaxHeaderBytes == 0 || srv.WriteTimeout != 0 {
		t.Errorf("server limits: idle %v, header %v, max header %d, write %v", srv.IdleTimeout, srv.ReadHeaderTimeout, srv.MaxHeaderBytes, srv.WriteTimeout)
	}
	// Headers, then a body that trickles and stops.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/agent HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"mo", tok)
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, conn) // until the server answers and closes
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a stalled body held the connection %v (body timeout 300ms)", took)
	}
	// A stream that takes longer than the body timeout still arrives whole.
	a := do(t, "POST", "http://"+addr+"/v1/agent", tok, agentBody(""))
	if a.Status != 200 || !bytes.Contains([]byte(a.Body), []byte("response.completed")) {
		t.Errorf("a 600 ms answer behind a 300 ms body timeout: HTTP %d %.200s", a.Status, a.Body)
	}
}

func TestJunkTokensDoNotEvictAValidOne(t *testing.T) {
	hub := startHub(t)
	hub.give("good", hubUser{Kind: "user", Name: "ana", Scopes: []string{access}})
	auth := newHubAuth(&Hub{APIURL: hub.URL + "/hub/api", Service: "llm", CacheFor: time.Minute})
	clock := &fakeClock{t: time.Now()}
	auth.now = clock.now
	r := httptest.NewRequest("GET", "/", nil)
	if _, ok, err := auth.identify(r, "good"); !ok || err != nil {
		t.Fatalf("good token: %v %v", ok, err)
	}
	// 10,000 junk tokens straight into the cache (as the hub refused them),
	// and 10,000 more valid ones of another student's own making.
	for i := range maxCachedTokens {
		auth.cache.put(sha256.Sum256(fmt.Appendf(nil, "junk-%d", i)), Identity{}, false, clock.now().Add(time.Minute))
	}
	clock.add(10 * time.Second)
	auth.identify(r, "good") // in use
	for i := range maxCachedTokens - 1 {
		auth.cache.put(sha256.Sum256(fmt.Appendf(nil, "minted-%d", i)), Identity{Name: "bob"}, true, clock.now().Add(time.Minute))
	}
	before := hub.calls.Load()
	if _, ok, _ := auth.identify(r, "good"); !ok || hub.calls.Load() != before {
		t.Errorf("the valid token was evicted: ok %v, %d more hub calls", ok, hub.calls.Load()-before)
	}
	// Expiry follows the injected clock, not the wall clock.
	clock.add(2 * time.Minute)
	auth.identify(r, "good")
	if hub.calls.Load() != before+1 {
		t.Errorf("an expired answer was trusted: %d hub calls", hub.calls.Load()-before)
	}
}

func TestConcurrentIdenticalLookupsAskTheHubOnce(t *testing.T) {
	release := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	var n int
	var mu sync.Mutex
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			calls.Done()
		}
		<-release
		fmt.Fprintf(w, `{"kind":"user","name":"ana","scopes":[%q]}`, access)
	}))
	t.Cleanup(hub.Close)
	var releaseOnce sync.Once
	releaseHub := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseHub) // before hub.Close, which waits for its handlers
	auth := newHubAuth(&Hub{APIURL: hub.URL + "/hub/api", Service: "llm"})
	var wg sync.WaitGroup
	results := make(chan bool, 50)
	for range 50 {
		wg.Go(func() {
			_, ok, _ := auth.identify(httptest.NewRequest("GET", "/", nil), "same-token")
			results <- ok
		})
	}
	calls.Wait()
	// The hub holds the first look-up; the other 49 must all wait on it.
	key := sha256.Sum256([]byte("same-token"))
	waitFor(t, 5*time.Second, "49 look-ups waiting on the first", func() bool { return auth.merge.waiting(key) == 49 })
	releaseHub()
	wg.Wait()
	close(results)
	for ok := range results {
		if !ok {
			t.Error("a merged look-up did not get the answer")
		}
	}
	if n != 1 {
		t.Errorf("%d hub requests for 50 identical look-ups at once, want 1", n)
	}
}

// waiting says how many callers wait on the look-up of key in flight.
func (m *lookups) waiting(key [32]byte) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.pending[key]; f != nil {
		return f.waiters
	}
	return 0
}
