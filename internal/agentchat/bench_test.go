package agentchat

import (
	"bytes"
	"testing"

	"github.com/streamdemo/streamdemo/internal/capture"
)

// BenchmarkReplyTranslatesTheRealCapture turns the real Perplexity stream,
// event by event, into chat chunks: the translation's own work per event
// and per text chunk, without the network.
func BenchmarkReplyTranslatesTheRealCapture(b *testing.B) {
	c := readCapture(b, capture.RealStream+capture.Ext)
	texts := 0
	for _, ev := range c.events {
		if bytes.Contains(ev, []byte(`"type":"response.output_text.delta"`)) {
			texts++
		}
	}
	var sent int
	for b.Loop() {
		r := NewReply(Asked{Model: "sonar-pro", Stream: true, IncludeUsage: true})
		sent = 0
		for _, ev := range c.events {
			sent += len(r.Event(ev))
		}
	}
	perAnswer := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perAnswer/float64(len(c.events)), "ns/event")
	b.ReportMetric(perAnswer/float64(texts), "ns/text-chunk")
	b.ReportMetric(float64(sent), "chat-bytes/answer")
}
