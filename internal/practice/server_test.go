package practice

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/agentwire"
)

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer pplx-SECRET-practice-key-123456")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// dataLines returns the payloads of the stream's data lines, failing on any
// line that is neither data nor blank.
func dataLines(t *testing.T, r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "data: "); ok {
			out = append(out, p)
		} else if line != "" {
			t.Errorf("unexpected line %q", line)
		}
	}
	return out
}

func TestTokensRebuildEveryScript(t *testing.T) {
	for _, q := range []string{"How many stars are in the universe?", "What is the population of the world?", "Hi"} {
		for _, system := range []string{SeedSystemPrompt, "Answer in haiku"} {
			sc := Choose(system, q)
			if strings.Join(Tokens(sc.Text), "") != sc.Text || len(Tokens(sc.Text)) < 10 {
				t.Errorf("%s: tokens do not rebuild the text", sc.Name)
			}
		}
	}
}

func TestChooseFollowsTheLessonAndItsExercises(t *testing.T) {
	for _, tc := range []struct{ system, question, want string }{
		{SeedSystemPrompt, "How many stars are in the universe?", "stars"},
		{SeedSystemPrompt, "What is the population of the world?", "population"},
		{"You are an AI assistant that responds in haikus", "How many stars are in the universe?", "haiku-stars"},
		{"You are an AI assistant that responds in haikus", "Tell me about cats", "haiku-other"},
		{SeedSystemPrompt, "Tell me about cats", "no-model"},
	} {
		if got := Choose(tc.system, tc.question).Name; got != tc.want {
			t.Errorf("Choose(%q, %q) = %s, want %s", tc.system, tc.question, got, tc.want)
		}
	}
}

func TestAgentStreamIsShapedLikePerplexity(t *testing.T) {
	var log bytes.Buffer
	ts := httptest.NewServer(New(Options{Log: &log}))
	defer ts.Close()
	resp := post(t, ts.URL+"/v1/responses", `{"preset":"low","stream":true,"instructions":"`+SeedSystemPrompt+`","input":[{"type":"message","role":"user","content":"How many stars are in the universe?"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var types []string
	var text strings.Builder
	last := -1
	for i, p := range dataLines(t, resp.Body) {
		var ev struct {
			Type     string `json:"type"`
			Seq      *int   `json:"sequence_number"`
			Delta    string `json:"delta"`
			Response *struct {
				Usage *struct {
					OutputTokens int `json:"output_tokens"`
					Cost         struct {
						TotalCost float64 `json:"total_cost"`
						Currency  string  `json:"currency"`
					} `json:"cost"`
				} `json:"usage"`
			} `json:"response"`
		}
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatalf("event %d is not JSON: %q", i, p)
		}
		if ev.Seq == nil || *ev.Seq <= last {
			t.Fatalf("event %d has sequence_number %v after %d", i, ev.Seq, last)
		}
		last = *ev.Seq
		types = append(types, ev.Type)
		text.WriteString(ev.Delta)
		if ev.Type == "response.completed" && (ev.Response.Usage == nil || ev.Response.Usage.Cost.Currency != "USD" || ev.Response.Usage.Cost.TotalCost <= 0) {
			t.Errorf("completed event lacks usage with cost: %s", p)
		}
	}
	want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.reasoning.search_queries",
		"response.reasoning.search_results", "response.output_item.done", "response.output_item.added"}
	if strings.Join(types[:7], " ") != strings.Join(want, " ") {
		t.Errorf("opening events %v, want %v", types[:7], want)
	}
	end := types[len(types)-3:]
	if strings.Join(end, " ") != "response.output_text.done response.output_item.done response.completed" {
		t.Errorf("closing events %v", end)
	}
	if text.String() != Choose(SeedSystemPrompt, "How many stars are in the universe?").Text {
		t.Error("deltas do not add up to the seed answer")
	}
	if strings.Contains(log.String(), "SECRET") || !strings.Contains(log.String(), "POST /v1/responses") {
		t.Errorf("log line %q should name the request and never the key", log.String())
	}
}

func TestChatStreamEndsWithUsageThenDone(t *testing.T) {
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"How many stars are in the universe?"}]}`)
	lines := dataLines(t, resp.Body)
	n := len(lines)
	if lines[n-1] != "[DONE]" || !strings.Contains(lines[n-2], `"choices":[]`) || !strings.Contains(lines[n-2], `"completion_tokens"`) ||
		!strings.Contains(lines[n-3], `"finish_reason":"stop"`) {
		t.Errorf("stream should end with finish, usage (empty choices) and [DONE]:\n%s", strings.Join(lines[n-3:], "\n"))
	}
}

func TestAgentRequestsAreCheckedLikePerplexity(t *testing.T) {
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	unknown := func(field string) string {
		return `{"error":{"code":400,"message":"invalid request body: json: unknown field \"` + field + `\"","param":"` + field + `","type":"invalid_request"}}`
	}
	for _, tc := range []struct{ body, want string }{
		{`{"model":"perplexity/sonar","input":"hi","foo":1}`, unknown("foo")},
		{`{"model":"perplexity/sonar","input":"hi","tools":[{"type":"web_search","search_recency_filter":"day"}]}`, unknown("search_recency_filter")},
		{`{"model":"perplexity/sonar","input":"hi","text":{"format":{"type":"text"}}}`, unknown("format")},
		{`{"model":"perplexity/sonar","input":"hi","stream_options":{"include_usage":true,"x":1}}`, unknown("x")},
		{`{"model":"perplexity/sonar","preset":"low","input":"hi"}`, `"message":"exactly one of model, models or preset is required"`},
		{`{"model":"perplexity/sonar"}`, `"message":"input is required","param":"input","type":"invalid_request"`},
		{`{"model":"perplexity/sonar","input":"hi","max_output_tokens":"100"}`, `"type":"invalid_request"`},
		{`{"model":"sonar-pro","input":"hi"}`, `"type":"invalid_model"`},
		{`{"model":"fault/404","input":"hi"}`, `"type":"invalid_model"`},
		{`{"model":"perplexity/sonar-pro","input":"hi"}`, `"message":"model \"perplexity/sonar-pro\" is not available`},
		{`{"model":"perplexity/sonar","input":42}`, `"param":"input","type":"invalid_request"`},
		{`{"model":"perplexity/sonar","input":{"role":"user"}}`, `"param":"input","type":"invalid_request"`},
		{`{"model":"perplexity/sonar","input":[{"role":"user","content":7}]}`, `"param":"input","type":"invalid_request"`},
		{`{"models":["openai/gpt-5.4","openai/no-such-model"],"input":"hi"}`, `"type":"invalid_model"`},
	} {
		resp := post(t, ts.URL+"/v1/agent", tc.body)
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(got), tc.want) || !strings.Contains(string(got), `"code":400`) {
			t.Errorf("%s: got %d %s, want 400 with %s", tc.body, resp.StatusCode, got, tc.want)
		}
	}
	// Every documented field is accepted, nested ones included.
	valid := `{"model":"perplexity/sonar","input":[{"type":"message","role":"user","content":"hi"}],"instructions":"be brief",
		"stream":false,"stream_options":{"include_usage":true},"max_output_tokens":100,"temperature":0.2,"top_p":0.9,
		"tools":[{"type":"web_search","filters":{"search_domain_filter":["nasa.gov"],"search_recency_filter":"month"},
		"search_context_size":"high","user_location":{"country":"US","city":"Boston"},"max_results":5,
		"max_tokens":2000,"max_tokens_per_page":500}],
		"tool_choice":{"type":"web_search"},"parallel_tool_calls":true,"reasoning":{"effort":"low"},"language_preference":"en",
		"max_steps":3,"max_tool_calls":2,"metadata":{"class":"7b"},"store":false,"truncation":"auto","background":false}`
	for _, path := range []string{"/v1/agent", "/v1/responses"} {
		resp := post(t, ts.URL+path, valid)
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(got), `"type":"search_results"`) {
			t.Errorf("%s: every documented field should be accepted: %d %s", path, resp.StatusCode, got)
		}
	}
}

func TestAgentErrorsHaveTheRealTypes(t *testing.T) {
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	for fault, want := range map[string]string{"401": "forbidden", "403": "forbidden", "429": "request_rate_limit_exceeded", "500": "internal_error"} {
		resp := post(t, ts.URL+"/v1/agent", `{"model":"fault/`+fault+`","input":"hi"}`)
		var body struct {
			Error struct {
				Type string
				Code int
			}
		}
		json.NewDecoder(resp.Body).Decode(&body)
		if body.Error.Type != want || fmt.Sprint(body.Error.Code) != fault || fmt.Sprint(resp.StatusCode) != fault {
			t.Errorf("fault/%s: %d %+v, want type %s", fault, resp.StatusCode, body.Error, want)
		}
		if fault == "429" && resp.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Error("a 429 should carry X-RateLimit-* headers")
		}
	}
}

func TestChatErrorsHaveOpenAIsShape(t *testing.T) {
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}`, 404, `"code":"model_not_found"`},
		{`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"foo":1}`, 400, `"message":"Unrecognized request argument supplied: foo","param":null,"type":"invalid_request_error"`},
		{`{"model":"fault/401","messages":[{"role":"user","content":"hi"}]}`, 401, `"code":"invalid_api_key"`},
		{`{"model":"fault/500","messages":[{"role":"user","content":"hi"}]}`, 500, `"code":null`},
	} {
		resp := post(t, ts.URL+"/v1/chat/completions", tc.body)
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || !strings.Contains(string(got), tc.want) {
			t.Errorf("%s: got %d %s, want %d with %s", tc.body, resp.StatusCode, got, tc.status, tc.want)
		}
	}
	resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"fault/malformed","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	lines := dataLines(t, resp.Body)
	if cut := lines[len(lines)-1]; !strings.HasPrefix(cut, `{"choices":[{"delta":{"content":" unfin`) || json.Valid([]byte(cut)) {
		t.Errorf("fault/malformed should end with a cut chat chunk, got %q", cut)
	}
}

func TestChatCompletionsForPerplexityAnswerTheRetiredEndpoints403(t *testing.T) {
	ts := httptest.NewServer(New(Options{FirstToken: 0}))
	defer ts.Close()
	for _, path := range []string{"/v1/chat/completions", "/chat/completions", "/v1/sonar"} {
		for _, model := range []string{"sonar-pro", "sonar", "SONAR-Reasoning-Pro", "sonar-deep-research", "low", "perplexity/sonar", "openai/gpt-5.4", "replay/agent-web-search"} {
			// Perplexity's 403 comes before any check of the body: a field chat never had changes nothing.
			resp := post(t, ts.URL+path, `{"model":"`+model+`","stream":true,"search_mode":"web","messages":[{"role":"user","content":"hi"}]}`)
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 403 || string(got) != sonarRetiredBody {
				t.Errorf("%s with %s: got %d %s", path, model, resp.StatusCode, got)
			}
		}
	}
	// Where it stands in for OpenAI or a compatible server, it answers.
	for _, model := range []string{"gpt-4o-mini", "smollm2-135m", "practice/length-20"} {
		resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if lines := dataLines(t, resp.Body); resp.StatusCode != 200 || lines[len(lines)-1] != "[DONE]" {
			t.Errorf("%s: got %d %q", model, resp.StatusCode, lines)
		}
	}
}

func TestPaceSpreadsTheAnswerOverTime(t *testing.T) {
	ts := httptest.NewServer(New(Options{FirstToken: 100 * time.Millisecond, TokensPerSecond: 200}))
	defer ts.Close()
	start := time.Now()
	resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"haiku"},{"role":"user","content":"How many stars are in the universe?"}]}`)
	lines := dataLines(t, resp.Body)
	tokens := len(Tokens(Choose("haiku", "How many stars are in the universe?").Text))
	min := 100*time.Millisecond + time.Duration(tokens-1)*time.Second/200
	if took := time.Since(start); took < min {
		t.Errorf("%d tokens took %v, the pace asks for at least %v", tokens, took, min)
	}
	if len(lines) != tokens+3 {
		t.Errorf("got %d events, want role + %d tokens + finish + [DONE]", len(lines), tokens)
	}
}

func TestTokenIsRequiredWhenSet(t *testing.T) {
	ts := httptest.NewServer(New(Options{Token: "classroom-secret"}))
	defer ts.Close()
	resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 401 {
		t.Errorf("a wrong token got %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer classroom-secret")
	ok, err := http.DefaultClient.Do(req)
	if err != nil || ok.StatusCode != 200 {
		t.Fatalf("the right token got %v %v", ok, err)
	}
	ok.Body.Close()
}

// handlerGoroutines counts goroutines still inside the server's handlers.
func handlerGoroutines() int {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(stacks, "internal/practice.(*Server).stream") + strings.Count(stacks, "internal/practice.(*Server).answerWhole")
}

func TestDisconnectedClientsLeaveNothingBehind(t *testing.T) {
	srv := New(Options{FirstToken: 10 * time.Millisecond, TokensPerSecond: 50})
	ts := httptest.NewServer(srv)
	defer func() {
		if !t.Failed() { // a leaked handler would block Close forever
			ts.Close()
		}
	}()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, body := "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"How many stars are in the universe?"}]}`
			if i%2 == 1 {
				path, body = "/v1/responses", `{"preset":"low","stream":true,"input":"How many stars are in the universe?"}`
			}
			if i%5 == 0 { // a stalled stream must end when its client leaves
				body = strings.Replace(body, `"gpt-4o-mini"`, `"fault/stall"`, 1)
			}
			resp, err := client.Post(ts.URL+path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			r := bufio.NewReader(resp.Body)  // some of the answer, then hang up
			for range 2 * (1 + FaultAfter) { // up to the stall, if there is one
				r.ReadString('\n')
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for (srv.Active() > 0 || handlerGoroutines() > 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.Active() != 0 || handlerGoroutines() != 0 {
		t.Fatalf("after every client left: %d answers still active, %d handler goroutines", srv.Active(), handlerGoroutines())
	}
	disconnected := 0
	for _, r := range srv.Records() {
		if r.Disconnected {
			disconnected++
		}
	}
	if disconnected != 50 {
		t.Errorf("the server recorded %d disconnects, want 50", disconnected)
	}
}

func TestLastAnswerStampsEveryChunk(t *testing.T) {
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	before := time.Now().UnixNano()
	resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"haiku"},{"role":"user","content":"How many stars are in the universe?"}]}`)
	io.ReadAll(resp.Body)
	var last struct {
		Sent []Stamp `json:"sent"`
	}
	got, _ := http.Get(ts.URL + "/v1/practice/last")
	json.NewDecoder(got.Body).Decode(&last)
	got.Body.Close()
	text := Choose("haiku", "How many stars are in the universe?").Text
	total := 0
	for i, s := range last.Sent {
		total += s.Bytes
		if s.UnixNano < before || (i > 0 && s.UnixNano < last.Sent[i-1].UnixNano) {
			t.Fatalf("stamp %d out of order: %+v", i, s)
		}
	}
	if len(last.Sent) != len(Tokens(text)) || total != len(text) {
		t.Errorf("%d stamps for %d bytes, want %d for %d", len(last.Sent), total, len(Tokens(text)), len(text))
	}
}

func TestCompletedAnswerNamesTheModelThatRan(t *testing.T) {
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	for _, tc := range []struct{ body, asked, ran string }{
		{`{"preset":"low","input":"hi"}`, "low", presetModels["low"]},
		{`{"preset":"fast","input":"hi"}`, "fast", "openai/gpt-6-luna"},
		{`{"model":"perplexity/sonar","input":"hi"}`, "perplexity/sonar", "perplexity/sonar"},
	} {
		resp := post(t, ts.URL+"/v1/agent", tc.body)
		var whole struct{ Model string }
		json.NewDecoder(resp.Body).Decode(&whole)
		resp.Body.Close()
		if whole.Model != tc.ran || strings.Contains(whole.Model, tc.asked) && tc.asked != tc.ran {
			t.Errorf("%s: the answer names %q, want the model that ran, %q", tc.body, whole.Model, tc.ran)
		}
	}
	for _, preset := range append(slices.Collect(maps.Keys(previousPresets)), agentwire.Presets...) {
		if !agentModelKnown(presetModel(preset)) || strings.Contains(presetModel(preset), preset) {
			t.Errorf("preset %s runs %q, which is not a model of the catalogue", preset, presetModel(preset))
		}
	}
}
