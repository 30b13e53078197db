package gateway

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// testKey is a recognisable upstream key: no response, header, log or
// ledger byte may ever contain it.
const testKey = "sk-UPSTREAM-TESTKEY-0123456789abcdefghijklmnop"

// seedQuestion is the lesson's question; the practice server answers it.
const seedQuestion = "How many stars are in the universe?"

// chatBody is a streamed chat request for sonar-pro, which has a default
// price; the practice server answers it as Perplexity does today (403).
func chatBody(extra string) string {
	return `{"model":"sonar-pro","stream":true` + extra + `,"messages":[{"role":"user","content":"` + seedQuestion + `"}]}`
}

// openAIChatBody is a streamed chat request the practice server answers as
// OpenAI does.
func openAIChatBody(extra string) string {
	return `{"model":"gpt-4o-mini","stream":true` + extra + `,"messages":[{"role":"user","content":"` + seedQuestion + `"}]}`
}

func agentBody(extra string) string {
	return `{"model":"perplexity/sonar","stream":true` + extra + `,"input":"` + seedQuestion + `"}`
}

// testGateway is a gateway on loopback in front of some upstream.
type testGateway struct {
	URL    string // with the prefix, ending in /
	ledger *ledger.Ledger
	db     *sql.DB // the test's own handle on the ledger's database
	clock  *testClock
	gw     *Gateway
	log    *lockedBuffer
	dir    string // the SQLite folder, or the PostgreSQL URL
}

type gatewayOption func(*Config)

// startGateway runs a gateway in front of upstream (a base URL ending in /v1).
func startGateway(t testing.TB, upstream string, opts ...gatewayOption) *testGateway {
	t.Helper()
	clock := &testClock{}
	l, dir := openTestLedger(t, clock)
	t.Cleanup(func() { l.Close() })
	buf := &lockedBuffer{b: &bytes.Buffer{}}
	cfg := Config{Upstream: upstream, Key: testKey, Ledger: l, CookieSecret: bytes.Repeat([]byte("s"), 32), Log: buf}
	for _, o := range opts {
		o(&cfg)
	}
	gw, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gw.Handler())
	t.Cleanup(ts.Close)
	return &testGateway{URL: ts.URL + gw.prefix, ledger: l, db: rawDB(t, dir), clock: clock, gw: gw, log: buf, dir: dir}
}

// startPractice runs a practice server on loopback, fast unless told.
func startPractice(t testing.TB, opts practice.Options) (*practice.Server, string) {
	t.Helper()
	srv := practice.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts.URL + "/v1"
}

// student issues a token with optional limits.
func (tg *testGateway) student(t testing.TB, name string, lim ledger.Limits) string {
	t.Helper()
	tok, err := tg.ledger.AddToken(name, false, lim, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (tg *testGateway) teacherToken(t testing.TB) string {
	t.Helper()
	tok, err := tg.ledger.AddToken("tina", true, ledger.Limits{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// answer is one response as a client saw it.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

// post sends body to path (after the prefix) with a bearer token.
func (tg *testGateway) post(t testing.TB, path, token, body string) answer {
	t.Helper()
	return do(t, http.MethodPost, tg.URL+path, token, body)
}

func do(t testing.TB, method, url, token, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// events are the data payloads of an SSE body.
func events(body string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, p)
		}
	}
	return out
}

// streamedText joins the text deltas of either protocol.
func streamedText(body string) string {
	var b strings.Builder
	for _, p := range events(body) {
		var ev struct {
			Type    string `json:"type"`
			Delta   string `json:"delta"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		json.Unmarshal([]byte(p), &ev)
		if ev.Type == "response.output_text.delta" {
			b.WriteString(ev.Delta)
		}
		for _, c := range ev.Choices {
			b.WriteString(c.Delta.Content)
		}
	}
	return b.String()
}

// refusalType is the error type in a refusal body.
func refusalType(t testing.TB, body string) string {
	t.Helper()
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("refusal body is not JSON: %q", body)
	}
	return e.Error.Type
}

// requestRows are the ledger's request rows, oldest first.
type requestRow struct {
	Student, State              string
	Reserved, In, Out, Estimate int64
	Cost                        float64
}

func (tg *testGateway) requests(t testing.TB) []requestRow {
	t.Helper()
	rows, err := tg.db.Query(`SELECT student, state, reserved_tokens, input_tokens, output_tokens, estimated, cost_usd FROM requests ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []requestRow
	for rows.Next() {
		var r requestRow
		rows.Scan(&r.Student, &r.State, &r.Reserved, &r.In, &r.Out, &r.Estimate, &r.Cost)
		out = append(out, r)
	}
	return out
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
