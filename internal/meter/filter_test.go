package meter

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/agentchat"
	"github.com/streamdemo/streamdemo/internal/redact"
	"github.com/streamdemo/streamdemo/internal/sizes"
)

// cycling is an SSE body that never ends: each Read returns the next of
// its events, as an upstream's chunks arrive one at a time.
type cycling struct {
	events [][]byte
	i      int
}

func (c *cycling) Read(p []byte) (int, error) {
	n := copy(p, c.events[c.i%len(c.events)])
	c.i++
	return n, nil
}

func (c *cycling) Close() error { return nil }

// sse frames payloads as server-sent events.
func sse(payloads []string) [][]byte {
	var out [][]byte
	for _, p := range payloads {
		out = append(out, []byte("data: "+p+"\n\n"))
	}
	return out
}

// textDeltas are an Agent API answer's text chunks, as the real capture sends them.
func textDeltas(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf(`{"type":"response.output_text.delta","item_id":"msg_1","output_index":1,"content_index":0,"delta":"word %04d of the answer ","sequence_number":%d}`, i, i+5))
	}
	return out
}

// chatChunks are a chat answer's chunks.
func chatChunks(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"sonar-pro","choices":[{"index":0,"delta":{"content":"word %04d of the answer "},"finish_reason":null}],"usage":null}`, i))
	}
	return out
}

// BenchmarkFilter is the gateway's work on one chunk of an answer on its
// way to the student: read for accounting, the key hidden, passed on; per
// chunk of the real capture, of an Agent API answer's text and of a chat
// answer; and of the first two translated to chat chunks for a chat client
// (package agentchat). An op is one Read, which passes on one event, or
// (translated) reads events until one becomes a chat chunk; ns/event is per
// event the upstream sent: "go test -run='^$' -bench=Filter -benchmem ./internal/meter".
func BenchmarkFilter(b *testing.B) {
	hide := redact.New("sk-UPSTREAM-TESTKEY-0123456789abcdefghijklmnop")
	toChat := func() Translator {
		return agentchat.NewReply(agentchat.Asked{Model: "sonar-pro", Stream: true, IncludeUsage: true})
	}
	for _, c := range []struct {
		name   string
		events [][]byte
		into   func() Translator
	}{{"capture", sse(captured(b)), nil}, {"agent-text", sse(textDeltas(200)), nil}, {"chat", sse(chatChunks(200)), nil},
		{"capture-to-chat", sse(captured(b)), toChat}, {"agent-text-to-chat", sse(textDeltas(200)), toChat}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 32<<10)
			var f io.Reader
			var src *cycling
			events := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%10000 == 0 { // an answer is at most sizes.MaxStream long
					if src != nil {
						events += src.i
					}
					src = &cycling{events: c.events}
					var into Translator
					if c.into != nil {
						into = c.into()
					}
					f = NewFilter(src, &Tally{}, hide, into)
				}
				if _, err := f.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events+src.i), "ns/event")
		})
	}
}

// upper is a translator that passes each event's data on in capitals,
// and drops a chat chunk's.
type upper struct{}

func (upper) Event(payload []byte) []byte {
	if bytes.Contains(payload, []byte("chat.completion.chunk")) {
		return nil
	}
	return append(append([]byte("data: "), bytes.ToUpper(payload)...), "\n\n"...)
}

// With a translator, the client reads what it makes of each event and
// nothing else (not an event too long to read, whose bytes are still
// counted), while the tally reads the events as they came.
func TestATranslatedAnswerPassesOnOnlyTheTranslation(t *testing.T) {
	long := "data: " + strings.Repeat("x", sizes.MaxEvent+1)
	src := io.NopCloser(strings.NewReader(strings.Join([]string{
		"data: " + textDeltas(1)[0] + "\n\n", "event: ping\n\n", "data: " + chatChunks(1)[0] + "\n\n", long}, "")))
	tally := &Tally{}
	got, err := io.ReadAll(NewFilter(src, tally, redact.New("sk-x"), upper{}))
	if err != nil {
		t.Fatal(err)
	}
	if want := "data: " + strings.ToUpper(textDeltas(1)[0]) + "\n\n"; string(got) != want {
		t.Errorf("the client read %.300q, want %q", got, want)
	}
	if written := int64(len("word 0000 of the answer ")); tally.Chars < 2*written+sizes.MaxEvent {
		t.Errorf("counted %d bytes of output, want both chunks' text and the long event's", tally.Chars)
	}
}

// The filter passes every byte on as it came, a chunk at a time, whether
// the proxy reads a chunk at once or a few bytes at a time.
func TestTheFilterPassesEveryChunkAsItCame(t *testing.T) {
	events := sse(append(textDeltas(50), chatChunks(50)...))
	for _, size := range []int{32 << 10, 7} {
		f := NewFilter(&cycling{events: events}, &Tally{}, redact.New("sk-x"), nil)
		buf := make([]byte, size)
		for i, want := range events {
			var got []byte
			for len(got) < len(want) {
				n, err := f.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, buf[:n]...)
			}
			if string(got) != string(want) {
				t.Fatalf("reading %d bytes at a time, chunk %d: %q, want %q", size, i, got, want)
			}
		}
	}
}
