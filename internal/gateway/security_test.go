package gateway

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

func TestNoBogusOrRevokedTokenIsRefused401(t *testing.T) {
	srv, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	revoked := tg.student(t, "bob", ledger.Limits{})
	if err := tg.ledger.RevokeToken("bob", "test"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", "sdg_bogus", revoked, testKey} {
		for _, path := range []string{"v1/agent", "v1/responses", "v1/chat/completions"} {
			a := tg.post(t, path, tok, chatBody(""))
			if a.Status != http.StatusUnauthorized || refusalType(t, a.Body) != "class_token_rejected" {
				t.Errorf("%s with token %.12q: HTTP %d %s, want 401", path, tok, a.Status, a.Body)
			}
		}
		if a := do(t, http.MethodGet, tg.URL+"v1/models", tok, ""); a.Status != http.StatusUnauthorized {
			t.Errorf("models with token %.12q: HTTP %d", tok, a.Status)
		}
	}
	if n := len(srv.Records()); n != 0 {
		t.Errorf("%d refused requests reached the upstream", n)
	}
}

// A gateway remembers who holds a token it found in the ledger, but a
// token revoked or replaced (on this gateway's ledger or from the command
// line) is refused at its next request, before anything reaches the upstream.
func TestARememberedTokenRevokedIsRefusedAtOnce(t *testing.T) {
	srv, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	bob, cy := tg.student(t, "bob", ledger.Limits{}), tg.student(t, "cy", ledger.Limits{})
	for _, tok := range []string{bob, cy} {
		if a := tg.post(t, "v1/agent", tok, agentBody("")); a.Status != 200 {
			t.Fatalf("before: HTTP %d %s", a.Status, a.Body)
		}
	}
	other := reopenTestLedger(t, tg.dir, nil) // as "streamdemo gateway token ..." opens it
	defer other.Close()
	if err := other.RevokeToken("bob", "test"); err != nil {
		t.Fatal(err)
	}
	newCy, err := other.AddToken("cy", false, ledger.Limits{}, "test") // a lost token replaced
	if err != nil {
		t.Fatal(err)
	}
	asked := len(srv.Records())
	for _, tok := range []string{bob, cy} {
		if a := tg.post(t, "v1/agent", tok, agentBody("")); a.Status != http.StatusUnauthorized || refusalType(t, a.Body) != "class_token_rejected" {
			t.Errorf("a remembered token revoked or replaced: HTTP %d %s, want 401", a.Status, a.Body)
		}
		if a := do(t, http.MethodGet, tg.URL+"v1/models", tok, ""); a.Status != http.StatusUnauthorized {
			t.Errorf("models with a remembered token revoked or replaced: HTTP %d", a.Status)
		}
	}
	if n := len(srv.Records()) - asked; n != 0 {
		t.Errorf("%d requests with revoked tokens reached the upstream", n)
	}
	if a := tg.post(t, "v1/agent", newCy, agentBody("")); a.Status != 200 {
		t.Errorf("the new token: HTTP %d %s", a.Status, a.Body)
	}
}

func TestAStudentCannotReachTheTeachersPageOrSwitches(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	ana := tg.student(t, "ana", ledger.Limits{})
	tg.student(t, "bob", ledger.Limits{})
	teacher := tg.teacherToken(t)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "usage", ""},
		{"POST", "teacher/pause", `{"all":true}`},
		{"POST", "teacher/pause", `{"student":"bob","paused":true}`},
		{"POST", "teacher/limits", `{"student":"ana","limits":{"tokens_per_day":0}}`},
	} {
		if a := do(t, c.method, tg.URL+c.path, ana, c.body); a.Status != http.StatusForbidden {
			t.Errorf("student %s %s: HTTP %d %s, want 403", c.method, c.path, a.Status, a.Body)
		}
		if a := do(t, c.method, tg.URL+c.path, "", c.body); a.Status != http.StatusUnauthorized {
			t.Errorf("nobody %s %s: HTTP %d, want 401", c.method, c.path, a.Status)
		}
	}
	// The login form does not take a student's token either.
	resp, err := http.PostForm(tg.URL+"login", map[string][]string{"token": {ana}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Errorf("login with a student's token: HTTP %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	rep, _ := tg.ledger.Usage(t.Context())
	if rep.PausedAll || len(rep.Switches) != 3 { // three tokens issued, nothing else
		t.Errorf("a student's switch took effect: %+v", rep.Switches)
	}
	if a := do(t, "GET", tg.URL+"usage", teacher, ""); a.Status != 200 || !strings.Contains(a.Body, `"name":"bob"`) {
		t.Errorf("the teacher cannot read usage: HTTP %d", a.Status)
	}
}

// echoUpstream is a hostile upstream that sends back everything it got,
// the key included, in headers, bodies and errors.
func echoUpstream(t *testing.T, seen *[]*http.Request, mu *sync.Mutex) string {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*seen = append(*seen, r.Clone(r.Context()))
		mu.Unlock()
		auth := r.Header.Get("Authorization")
		w.Header().Set("X-Echo", auth)
		w.Header().Set("Set-Cookie", "session="+auth)
		if strings.Contains(r.URL.Path, "models") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"Invalid key `+auth+`","type":"invalid_api_key","code":401}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"type":"response.output_text.delta","delta":"your key is `+auth+`"}`+"\n\n")
		w.(http.Flusher).Flush()
		io.WriteString(w, `data: {"type":"response.output_text.delta","delta":"and again: `+strings.TrimPrefix(auth, "Bearer ")+`"}`+"\n\n")
		io.WriteString(w, `data: {"type":"response.output_text.delta","delta":"and a piece: `+auth[20:32]+`"}`+"\n\n")
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/v1"
}

func TestTheUpstreamKeyNeverLeaves(t *testing.T) {
	var seen []*http.Request
	var mu sync.Mutex
	tg := startGateway(t, echoUpstream(t, &seen, &mu))
	tok := tg.student(t, "ana", ledger.Limits{})
	var everything bytes.Buffer
	for _, a := range []answer{
		tg.post(t, "v1/agent", tok, agentBody("")),
		tg.post(t, "v1/chat/completions", tok, chatBody("")),
		do(t, http.MethodGet, tg.URL+"v1/models", tok, ""),
		tg.post(t, "v1/agent", "", agentBody("")),
	} {
		everything.WriteString(a.Body)
		a.Header.Write(&everything)
	}
	if !strings.Contains(everything.String(), "[redacted]") {
		t.Fatalf("the hostile upstream's echo did not arrive at all:\n%s", everything.String())
	}
	if onPostgres(t) {
		everything.WriteString(pgDump(t, tg.dir))
	}
	tg.ledger.Close()
	everything.WriteString(tg.log.String())
	files, _ := filepath.Glob(filepath.Join(tg.dir, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		everything.Write(b)
	}
	for i := 0; i+8 <= len(testKey); i++ {
		if strings.Contains(everything.String(), testKey[i:i+8]) {
			t.Fatalf("the upstream key (its characters %d to %d) leaked into a response, header, log or ledger file", i, i+8)
		}
	}
	if len(seen) == 0 || seen[0].Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("the upstream did not get the key")
	}
}

func TestAStudentCannotRedirectTheUpstreamOrAddHeaders(t *testing.T) {
	var seen []*http.Request
	var mu sync.Mutex
	tg := startGateway(t, echoUpstream(t, &seen, &mu))
	tok := tg.student(t, "ana", ledger.Limits{})
	req, _ := http.NewRequest(http.MethodPost, tg.URL+"v1/chat/completions?url=http://evil.test/&api-version=x", strings.NewReader(chatBody("")))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Forwarded-Host", "evil.test")
	req.Header.Set("Cookie", "a=b")
	req.Header.Set("OpenAI-Organization", "org-student")
	req.Header.Set("X-Upstream", "http://evil.test")
	req.Host = "evil.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for _, p := range []string{"v1/../../admin", "v1/chat/completions/../../../x", "v1//chat/completions"} {
		do(t, http.MethodPost, tg.URL+p, tok, chatBody(""))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("nothing reached the upstream")
	}
	for _, r := range seen { // a path the gateway's router cleaned may arrive too, at a real endpoint
		if r.URL.Path != "/v1/chat/completions" || r.URL.RawQuery != "" || !strings.HasPrefix(r.Host, "127.0.0.1:") {
			t.Errorf("upstream got %s %s?%s", r.Host, r.URL.Path, r.URL.RawQuery)
		}
	}
	r := seen[0]
	allowed := map[string]bool{"Content-Type": true, "Accept": true, "Accept-Encoding": true, "User-Agent": true, "Authorization": true, "Content-Length": true}
	for name := range r.Header {
		if !allowed[name] {
			t.Errorf("header %s reached the upstream", name)
		}
	}
}

func TestHostileUpstreamsNeitherCrashNorLeak(t *testing.T) {
	_, practiceURL := startPractice(t, fast)
	endlessEvent := []byte(`data: {"type":"response.output_text.delta","delta":"more "}` + "\n\n")
	modes := map[string]http.HandlerFunc{
		"an endless line":  func(w http.ResponseWriter, r *http.Request) { sse(w); endless(w, r, []byte("data: aaaaaaaa")) },
		"endless events":   func(w http.ResponseWriter, r *http.Request) { sse(w); endless(w, r, endlessEvent) },
		"endless comments": func(w http.ResponseWriter, r *http.Request) { sse(w); endless(w, r, []byte(": ping\n")) },
		"deeply nested JSON": func(w http.ResponseWriter, r *http.Request) {
			sse(w)
			io.WriteString(w, "data: "+strings.Repeat("[", 500000)+"\n\n")
		},
		"a huge error body":      func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500); endless(w, r, []byte("x")) },
		"a stall, then nothing":  func(w http.ResponseWriter, r *http.Request) { sse(w); w.(http.Flusher).Flush(); <-r.Context().Done() },
		"a stall before headers": func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body); <-r.Context().Done() },
		"a cut mid-answer": func(w http.ResponseWriter, r *http.Request) {
			sse(w)
			w.Write(endlessEvent[:20])
			w.(http.Flusher).Flush()
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		},
	}
	baseline := runtime.NumGoroutine()
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) {
			ts := httptest.NewServer(mode)
			defer ts.Close()
			tg := startGateway(t, ts.URL+"/v1")
			tok := tg.student(t, "ana", ledger.Limits{})
			ctx := ctxTimeout(t, 2*time.Second)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tg.URL+"v1/agent", strings.NewReader(agentBody("")))
			req.Header.Set("Authorization", "Bearer "+tok)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, io.LimitReader(resp.Body, 80<<20))
				resp.Body.Close()
			}
			waitFor(t, 3*time.Second, "the answer was never settled", func() bool {
				rows := tg.requests(t)
				return len(rows) == 1 && rows[0].State != "open"
			})
		})
	}
	// The gateway still serves a normal answer afterwards.
	tg := startGateway(t, practiceURL)
	if a := tg.post(t, "v1/agent", tg.student(t, "ana", ledger.Limits{}), agentBody("")); a.Status != 200 {
		t.Errorf("after hostile upstreams: HTTP %d", a.Status)
	}
	http.DefaultClient.CloseIdleConnections()
	waitFor(t, 5*time.Second, "goroutines leaked", func() bool { return runtime.NumGoroutine() <= baseline+8 })
}

func sse(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
}

// endless writes b until the client leaves.
func endless(w http.ResponseWriter, r *http.Request, b []byte) {
	chunk := bytes.Repeat(b, 32<<10/len(b)+1)
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

var _ = practice.Options{}
