package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

// TestAStudentsRequestsBeyondHerLimitAreRefusedBeforeTheirBodies: a
// student at her limit of streams at once is refused at once, before the
// gateway reads (and holds) another body of hers, even one still arriving.
func TestAStudentsRequestsBeyondHerLimitAreRefusedBeforeTheirBodies(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	_, upstream := startScripted(t, chatStream(3, release, `{"prompt_tokens":1,"completion_tokens":1}`))
	tg := startGateway(t, upstream, func(c *Config) { c.BodyTimeout = 20 * time.Second })
	tok := tg.student(t, "ana", ledger.Limits{ConcurrentStreams: ptr[int64](2), RequestsPerMinute: ptr[int64](0)})
	for range 2 { // two answers streaming, held open
		req, _ := http.NewRequest("POST", tg.URL+"v1/chat/completions", strings.NewReader(chatBody("")))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("an answer within the limit: %v %v", resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
	}
	// A third whose body never ends: refused now, not when the body's time is up.
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(tg.URL, "/"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: 100000\r\n\r\n{\"model\":\"sonar-pro\",\"messages\":[", tok)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body was arriving (after %v): %v", time.Since(start).Round(time.Millisecond), err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("the refusal did not end while the body was arriving: %v", err)
	}
	if resp.StatusCode != 429 || refusalType(t, string(b)) != "class_rate_limited" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the third at once: HTTP %d %s", resp.StatusCode, b)
	}
	// Nor is a refused request counted: once one ends, the next goes.
	if n := len(tg.requests(t)); n != 2 {
		t.Errorf("%d requests in the ledger, want the 2 admitted", n)
	}
}

// TestHugeModelListsAreRefusedCheaply: a models list longer than the Agent
// API takes (5), or a model name longer than any model's, is refused in one
// sentence before the gateway looks one up; no log line or ledger row grows
// with what a student sent.
func TestHugeModelListsAreRefusedCheaply(t *testing.T) {
	up, upstream := startScripted(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	tg := startGateway(t, upstream, func(c *Config) { c.Models = []string{"perplexity/sonar"} })
	tok := tg.student(t, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](0)})
	many := strings.TrimSuffix(strings.Repeat(`"perplexity/sonar",`, 55000), ",") // 80,000 names cost 4 s before
	long := strings.Repeat("x", 200000)
	for _, c := range []struct{ name, body, says string }{
		{"55,000 allowed names", `{"models":[` + many + `],"input":"hi"}`, "at most 5"},
		{"six names", `{"models":["a/b","a/b","a/b","a/b","a/b","a/b"],"input":"hi"}`, "at most 5"},
		{"a long model name", `{"model":"` + long + `","input":"hi"}`, "at most 200"},
		{"a long name in the list", `{"models":["perplexity/sonar","` + long + `"],"input":"hi"}`, "at most 200"},
		{"a long preset", `{"preset":"` + long + `","input":"hi"}`, "at most 200"},
	} {
		start := time.Now()
		a := tg.post(t, "v1/agent", tok, c.body)
		took := time.Since(start)
		if a.Status != 400 || !strings.Contains(a.Body, c.says) || len(a.Body) > 400 {
			t.Errorf("%s: HTTP %d %.300s (in %v)", c.name, a.Status, a.Body, took)
		}
	}
	if a := tg.post(t, "v1/agent", tok, `{"models":["perplexity/sonar","perplexity/sonar"],"input":"hi"}`); a.Status != 200 {
		t.Errorf("two allowed names: HTTP %d %s", a.Status, a.Body)
	}
	if n := len(up.seen()); n != 1 {
		t.Errorf("%d requests reached the upstream, want 1", n)
	}
	var longest int
	tg.db.QueryRow(`SELECT COALESCE(MAX(LENGTH(model)), 0) FROM requests`).Scan(&longest)
	if longest > 2000 {
		t.Errorf("a ledger row holds a model of %d bytes", longest)
	}
	// A log line is bounded whatever goes into it.
	tg.gw.log.logf("ledger: %v", strings.Repeat("y", 1<<20))
	for _, line := range strings.Split(tg.log.String(), "\n") {
		if len(line) > maxLogLine+100 {
			t.Errorf("a log line of %d bytes: %.200s", len(line), line)
		}
	}
}
