package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/agentchat"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// BenchmarkGatewayChatOverAgentAPI streams the seed's answer through one
// gateway in front of an upstream that answers only the Agent API, as an
// Agent API request and as the chat completion translated to it,
// alternately, and reports how long after the practice server wrote each
// chunk the client had it (µs), each path's median and p99 and the
// first chunk's, and their ratios (chat over Agent API).
func BenchmarkGatewayChatOverAgentAPI(b *testing.B) {
	srv, upstream := startPractice(b, practice.Options{TokensPerSecond: 100})
	tg := startGateway(b, upstream, agentOnly)
	tok := tg.student(b, "ana", Limits{RequestsPerMinute: ptr[int64](0)})
	chat := chatBody(`,"stream_options":{"include_usage":true}`)
	agent, _, err := agentchat.Request([]byte(chat)) // the same request, as the Agent API takes it
	if err != nil {
		b.Fatal(err)
	}
	isChatText := func(line string) bool { return strings.Contains(line, `"delta":{"content":`) }
	var viaAgent, viaChat, agentFirst, chatFirst []time.Duration
	for b.Loop() {
		a := lags(b, srv, arrivals(b, tg.URL+"v1/agent", tok, string(agent)))
		c := lags(b, srv, textArrivals(b, tg.URL+"v1/chat/completions", tok, chat, isChatText))
		viaAgent, viaChat = append(viaAgent, a[1:]...), append(viaChat, c[1:]...)
		agentFirst, chatFirst = append(agentFirst, a[0]), append(chatFirst, c[0])
	}
	for _, m := range []struct {
		name       string
		agent, api []time.Duration
		q          float64
	}{{"chunk-median", viaAgent, viaChat, 0.5}, {"chunk-p99", viaAgent, viaChat, 0.99}, {"first-chunk", agentFirst, chatFirst, 0.5}} {
		agentUS, chatUS := quantile(m.agent, m.q), quantile(m.api, m.q)
		b.ReportMetric(agentUS, "agent-"+m.name+"-µs")
		b.ReportMetric(chatUS, "chat-"+m.name+"-µs")
		b.ReportMetric(chatUS/max(agentUS, 1), "chat/agent-"+m.name)
	}
}
