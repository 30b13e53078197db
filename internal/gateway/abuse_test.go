package gateway

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/classwire"
	"github.com/streamdemo/streamdemo/internal/ledger"
)

// scripted is an upstream the test drives: it records each body it got and
// answers with handle.
type scripted struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func startScripted(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) (*scripted, string) {
	s := &scripted{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		s.mu.Lock()
		s.bodies = append(s.bodies, m)
		s.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(ts.Close)
	return s, ts.URL + "/v1"
}

func (s *scripted) seen() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

// noNegatives fails if any ledger value is below zero.
func noNegatives(t *testing.T, db *sql.DB) {
	t.Helper()
	var n int
	db.QueryRow(`SELECT COUNT(*) FROM requests WHERE reserved_tokens < 0 OR reserved_usd < 0 OR input_tokens < 0
		OR output_tokens < 0 OR cost_usd < 0`).Scan(&n)
	if n > 0 {
		t.Errorf("%d ledger rows with a negative value", n)
	}
}

func TestHugeNegativeAndTwistedCapsAreRefused(t *testing.T) {
	up, upstream := startScripted(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	tg := startGateway(t, upstream)
	lim := int64(5000)
	tok := tg.student(t, "ana", ledger.Limits{TokensPerDay: &lim})
	for _, c := range []struct{ path, extra string }{
		{"v1/chat/completions", `,"MAX_TOKENS":9223372036854775807`},
		{"v1/chat/completions", `,"max_tokens":9223372036854775807`},
		{"v1/chat/completions", `,"max_tokens":-5`},
		{"v1/chat/completions", `,"max_tokens":0`},
		{"v1/chat/completions", `,"max_tokens":1e3`},
		{"v1/chat/completions", `,"max_tokens":"100"`},
		{"v1/chat/completions", `,"max_completion_tokens":200000`},
		{"v1/chat/completions", `,"max_tokens":10,"max_tokens":100000`},
		{"v1/chat/completions", `,"max_toKens":100000`}, // KELVIN SIGN: encoding/json matches it
		{"v1/chat/completions", `,"Model":"sonar"`},
		{"v1/agent", `,"Max_Output_Tokens":5`},
		{"v1/agent", `,"max_output_tokens":-9223372036854775808`},
		{"v1/responses", `,"max_output_tokens":128001`},
	} {
		body := chatBody(c.extra)
		if c.path != "v1/chat/completions" {
			body = agentBody(c.extra)
		}
		a := tg.post(t, c.path, tok, body)
		var e struct {
			Error struct {
				Type string `json:"type"`
				Code any    `json:"code"`
			} `json:"error"`
		}
		json.Unmarshal([]byte(a.Body), &e)
		wantType, wantCode := "invalid_request_error", any("invalid_request_error")
		if c.path != "v1/chat/completions" {
			wantType, wantCode = "invalid_request", any(float64(400)) // Perplexity's shape: the status as code
		}
		if a.Status != 400 || e.Error.Type != wantType || e.Error.Code != wantCode || a.Header.Get("X-Should-Retry") != "false" {
			t.Errorf("%s %s: HTTP %d %s (x-should-retry %q)", c.path, c.extra, a.Status, a.Body, a.Header.Get("X-Should-Retry"))
		}
	}
	if n := len(up.seen()); n != 0 {
		t.Errorf("%d bad caps reached the upstream", n)
	}
}

// held sends n events made by event, then waits for release before the
// last one (which, if the client left, never goes).
func held(n int, event func(i int) string, release <-chan struct{}, last string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range n {
			io.WriteString(w, event(i))
		}
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, last)
	}
}

// chatStream is a chat stream whose usage chunk waits for release.
func chatStream(chunks int, release <-chan struct{}, usage string) func(http.ResponseWriter, *http.Request) {
	return held(chunks, func(i int) string {
		return fmt.Sprintf("data: {\"model\":\"sonar-pro\",\"choices\":[{\"delta\":{\"content\":\"word %04d of the answer \"}}]}\n\n", i)
	}, release, "data: {\"choices\":[],\"usage\":"+usage+"}\n\ndata: [DONE]\n\n")
}

// agentStream is an Agent API stream whose response.completed waits for release.
func agentStream(deltas int, release <-chan struct{}) func(http.ResponseWriter, *http.Request) {
	return held(deltas, func(i int) string {
		return fmt.Sprintf("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"part %04d of the answer \"}\n\n", i)
	}, release, "data: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":10,\"output_tokens\":10,\"cost\":{\"total_cost\":0}}}}\n\n")
}

// readThenLeave reads n data lines of a stream (for 10 s at most), then closes it.
func readThenLeave(t *testing.T, url, token, body string, n int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxTimeout(t, 10*time.Second), "POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for got := 0; got < n && sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "data:") {
			got++
		}
	}
	resp.Body.Close()
}

func TestAnAnswerCutBeforeItsUsageIsCharged(t *testing.T) {
	release := make(chan struct{}) // never: every answer is cut before its usage
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	for _, c := range []struct {
		name, path, body string
		handle           func(http.ResponseWriter, *http.Request)
		leave            func(t *testing.T, url, tok, body string)
		wantState        string
		wantAtLeast      float64
	}{
		{"agent, closed right before response.completed", "v1/agent", agentBody(""), agentStream(200, release),
			func(t *testing.T, url, tok, body string) { readThenLeave(t, url, tok, body, 200) }, "stopped", 0.01},
		{"chat, closed right before the usage chunk", "v1/chat/completions", chatBody(""), chatStream(300, release, `{}`),
			func(t *testing.T, url, tok, body string) { readThenLeave(t, url, tok, body, 300) }, "stopped",
			// 300 chunks of ~24 bytes at sonar-pro's 15 USD/Mtok out: more than the smallest reservation.
			max(0.01, float64(300*24/4)*15/1e6)},
		{"closed before the headers (the upstream hangs)", "v1/agent", agentBody(""),
			func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-hang:
				case <-r.Context().Done():
				}
			},
			func(t *testing.T, url, tok, body string) {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}, "stopped", 0.01},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, upstream := startScripted(t, c.handle)
			tg := startGateway(t, upstream)
			tok := tg.student(t, "ana", ledger.Limits{USDPerDay: ptr(1.0)})
			c.leave(t, tg.URL+c.path, tok, c.body)
			var rows []requestRow
			waitFor(t, 3*time.Second, "the cut answer was never settled", func() bool {
				rows = tg.requests(t)
				return len(rows) == 1 && rows[0].State != "open"
			})
			if r := rows[0]; r.State != c.wantState || r.Cost < c.wantAtLeast || r.In == 0 {
				t.Errorf("charged %+v, want %s and at least %g USD", r, c.wantState, c.wantAtLeast)
			}
		})
	}
}

func TestAnAnswerOfAnUnpricedModelCutShortIsChargedItsReservation(t *testing.T) {
	_, upstream := startScripted(t, agentStream(50, make(chan struct{})))
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{TokensPerDay: ptr[int64](100000)}) // a dollar limit refuses an unpriced model
	readThenLeave(t, tg.URL+"v1/agent", tok, `{"model":"vendor/unpriced","stream":true,"input":"hi"}`, 50)
	waitFor(t, 3*time.Second, "never settled", func() bool { r := tg.requests(t); return len(r) == 1 && r[0].State != "open" })
	var reserved, cost float64
	tg.db.QueryRow(`SELECT reserved_usd, cost_usd FROM requests`).Scan(&reserved, &cost)
	if cost <= 0 || cost != reserved {
		t.Errorf("charged %g USD for a reservation of %g, want the reservation", cost, reserved)
	}
}

func TestOneCentLeftBuysOneCentOfAnswer(t *testing.T) {
	release := make(chan struct{})
	close(release)
	up, upstream := startScripted(t, chatStream(3, release, `{"prompt_tokens":40,"completion_tokens":600}`))
	tg := startGateway(t, upstream)
	// sonar-pro: 3 USD/Mtok in, 15 out (the default prices). 0.0101 USD left.
	tok := tg.student(t, "ana", ledger.Limits{USDPerDay: ptr(0.0101)})
	for _, extra := range []string{``, `,"max_tokens":100000`} {
		body := chatBody(extra)
		a := tg.post(t, "v1/chat/completions", tok, body)
		if a.Status != 200 {
			t.Fatalf("HTTP %d %s", a.Status, a.Body)
		}
		seen := up.seen()
		got := seen[len(seen)-1]["max_tokens"]
		in := float64((len(body) + 3) / 4)
		want := float64(int64((0.0101 - in*3/1e6) / (15.0 / 1e6)))
		if got != want {
			t.Errorf("%q: the upstream got max_tokens %v, want %v (what 0.0101 USD buys)", extra, got, want)
		}
		// The answer used what it was allowed: the next finds the budget used up.
		tg.db.Exec(`DELETE FROM requests`)
	}
	tg.post(t, "v1/chat/completions", tok, chatBody(""))
	a := tg.post(t, "v1/chat/completions", tok, chatBody(""))
	if a.Status != 429 || refusalType(t, a.Body) != "class_budget_exceeded" || a.Header.Get("X-Should-Retry") != "false" {
		t.Errorf("after the last cent: HTTP %d %s %v", a.Status, a.Body, a.Header)
	}
	var spent float64
	tg.db.QueryRow(`SELECT SUM(cost_usd) FROM requests`).Scan(&spent)
	if spent > 0.0101+1e-9 {
		t.Errorf("spent %g USD of a 0.0101 budget", spent)
	}
	noNegatives(t, tg.db)
}

func TestOnlyAllowedModelsAndPresetsPass(t *testing.T) {
	up, upstream := startScripted(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	tg := startGateway(t, upstream, func(c *Config) { c.Models = []string{"perplexity/sonar", "pro-search"} })
	tok := tg.student(t, "ana", ledger.Limits{})
	cases := []struct {
		path, body string
		ok         bool
	}{
		{"v1/agent", `{"model":"perplexity/sonar","input":"hi"}`, true},
		{"v1/agent", `{"preset":"pro-search","input":"hi"}`, true},
		{"v1/agent", `{"model":"openai/gpt-5.2","input":"hi"}`, false},
		{"v1/agent", `{"models":["perplexity/sonar","anthropic/claude-opus"],"input":"hi"}`, false},
		{"v1/agent", `{"preset":"deep-research","input":"hi"}`, false},
		{"v1/agent", `{"input":"hi"}`, false},
		{"v1/chat/completions", `{"model":"sonar-pro","messages":[]}`, false},
	}
	check := func(when string) {
		for _, c := range cases {
			a := tg.post(t, c.path, tok, c.body)
			if ok := a.Status == 200; ok != c.ok {
				t.Errorf("%s: %s: HTTP %d %s", when, c.body, a.Status, a.Body)
			}
			if !c.ok && (a.Status != 400 || refusalType(t, a.Body) != "class_model_not_allowed" ||
				!strings.Contains(a.Body, "perplexity/sonar, pro-search") || a.Header.Get("X-Should-Retry") != "false") {
				t.Errorf("%s: %s refused as HTTP %d %s", when, c.body, a.Status, a.Body)
			}
		}
	}
	check("the default list")
	if n := len(up.seen()); n != 2 {
		t.Errorf("%d requests reached the upstream, want the 2 allowed", n)
	}
	// The teacher's list replaces the default, at once; "default" goes back.
	if err := tg.ledger.SetModels([]string{"sonar-pro"}, "test"); err != nil {
		t.Fatal(err)
	}
	if a := tg.post(t, "v1/chat/completions", tok, `{"model":"sonar-pro","messages":[]}`); a.Status != 200 {
		t.Errorf("the teacher's list: HTTP %d %s", a.Status, a.Body)
	}
	// A lesson name allows what the library sends for it on the Agent API, and nothing more.
	if a := tg.post(t, "v1/agent", tok, `{"preset":"low","input":"hi"}`); a.Status != 200 {
		t.Errorf("sonar-pro allowed, its preset low refused: HTTP %d %s", a.Status, a.Body)
	}
	if a := tg.post(t, "v1/agent", tok, `{"preset":"high","input":"hi"}`); a.Status != 400 {
		t.Errorf("sonar-pro allowed, preset high passed: HTTP %d", a.Status)
	}
	if a := tg.post(t, "v1/agent", tok, `{"model":"perplexity/sonar","input":"hi"}`); a.Status != 400 {
		t.Errorf("a model only the default allowed: HTTP %d", a.Status)
	}
	tg.ledger.SetModels(nil, "test")
	check("back to the default")
}

func TestModelsListMeetsTheSwitchesAndTheRateLimit(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](3), USDPerDay: ptr(0.0001)})
	if a := do(t, "GET", tg.URL+"v1/models", tok, ""); a.Status != 200 {
		t.Fatalf("models: HTTP %d %s", a.Status, a.Body)
	}
	tg.ledger.PauseStudent("ana", true, "test")
	if a := do(t, "GET", tg.URL+"v1/models", tok, ""); a.Status != 403 || refusalType(t, a.Body) != "class_paused" || a.Header.Get("X-Should-Retry") != "false" {
		t.Errorf("models while paused: HTTP %d %s", a.Status, a.Body)
	}
	tg.ledger.PauseStudent("ana", false, "test")
	do(t, "GET", tg.URL+"v1/models", tok, "")
	do(t, "GET", tg.URL+"v1/models", tok, "")
	a := do(t, "GET", tg.URL+"v1/models", tok, "")
	if a.Status != 429 || refusalType(t, a.Body) != "class_rate_limited" || a.Header.Get("Retry-After") == "" {
		t.Errorf("fourth models call in a minute (3 rpm): HTTP %d %s", a.Status, a.Body)
	}
	var n int
	var usd float64
	tg.db.QueryRow(`SELECT COUNT(*), SUM(cost_usd + reserved_usd) FROM requests`).Scan(&n, &usd)
	if n != 3 || usd != 0 {
		t.Errorf("%d models calls counted, %g USD charged; want 3 and 0", n, usd)
	}
}

func TestTheUpstreamRefusingTheKeyIsTheTeachersProblem(t *testing.T) {
	_, upstream := startScripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided: sk-UPSTREAM...","type":"invalid_request_error","code":"invalid_api_key"}}`)
	})
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	for _, path := range []string{"v1/chat/completions", "v1/agent"} {
		a := tg.post(t, path, tok, chatBody(""))
		if a.Status != 502 || refusalType(t, a.Body) != "class_key_refused" || !strings.Contains(a.Body, classwire.KeyRefusedSentence) ||
			strings.Contains(a.Body, "Incorrect") || a.Header.Get("X-Should-Retry") != "false" {
			t.Errorf("%s: HTTP %d %s %v", path, a.Status, a.Body, a.Header)
		}
	}
	teacher := tg.teacherToken(t)
	a := do(t, "GET", tg.URL+"usage", teacher, "")
	var rep ledger.Report
	json.Unmarshal([]byte(a.Body), &rep)
	if rep.KeyRefused == nil || rep.KeyRefused.Status != 401 {
		t.Errorf("the teacher's report does not show the refused key: %s", a.Body)
	}
	if !strings.Contains(string(teacherPage), "key_refused") {
		t.Error("the teacher's page does not show the refused key")
	}
}
