package gateway

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/agentchat"
	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// BenchmarkGatewayChatOverAgentAPI streams the seed's answer through one
// gateway in front of an upstream that answers only the Agent API, as an
// Agent API request and as the chat completion translated to it,
// alternately. It reports how long after the practice server wrote each
// chunk the client had it (µs), and how long from the request to its first
// text chunk (µs, 10 more requests of each per iteration, left once that
// chunk arrived): each path's median and p99, and their ratios (chat over
// Agent API).
func BenchmarkGatewayChatOverAgentAPI(b *testing.B) {
	srv, upstream := startPractice(b, practice.Options{TokensPerSecond: 100})
	tg := startGateway(b, upstream, agentOnly)
	tok := tg.student(b, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](0), ConcurrentStreams: ptr[int64](0)})
	chat := chatBody(`,"stream_options":{"include_usage":true}`)
	agent, _, err := agentchat.Request([]byte(chat)) // the same request, as the Agent API takes it
	if err != nil {
		b.Fatal(err)
	}
	isAgentText := func(line string) bool { return strings.Contains(line, `"response.output_text.delta"`) }
	isChatText := func(line string) bool { return strings.Contains(line, `"delta":{"content":`) }
	var viaAgent, viaChat, agentFirst, chatFirst []time.Duration
	for b.Loop() {
		a := lags(b, srv, arrivals(b, tg.URL+"v1/agent", tok, string(agent)))
		c := lags(b, srv, textArrivals(b, tg.URL+"v1/chat/completions", tok, chat, isChatText))
		viaAgent, viaChat = append(viaAgent, a[1:]...), append(viaChat, c[1:]...)
		for range 10 {
			agentFirst = append(agentFirst, firstText(b, tg.URL+"v1/agent", tok, string(agent), isAgentText))
			chatFirst = append(chatFirst, firstText(b, tg.URL+"v1/chat/completions", tok, chat, isChatText))
		}
	}
	for _, m := range []struct {
		name        string
		agent, chat []time.Duration
		q           float64
	}{{"chunk-median", viaAgent, viaChat, 0.5}, {"chunk-p99", viaAgent, viaChat, 0.99},
		{"first-chunk-median", agentFirst, chatFirst, 0.5}, {"first-chunk-p99", agentFirst, chatFirst, 0.99}} {
		agentUS, chatUS := quantile(m.agent, m.q), quantile(m.chat, m.q)
		b.ReportMetric(agentUS, "agent-"+m.name+"-µs")
		b.ReportMetric(chatUS, "chat-"+m.name+"-µs")
		b.ReportMetric(chatUS/max(agentUS, 1), "chat/agent-"+m.name)
	}
}

// firstText is how long from sending a request to reading its first text
// chunk (isText); it leaves the answer there.
func firstText(b *testing.B, url, token, body string, isText func(string) bool) time.Duration {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if isText(sc.Text()) {
			return time.Since(start)
		}
	}
	b.Fatalf("no text chunk from %s", url)
	return 0
}
