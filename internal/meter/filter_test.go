package meter

import (
	"fmt"
	"io"
	"testing"

	"github.com/streamdemo/streamdemo/internal/redact"
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
// answer: "go test -run='^$' -bench=Filter -benchmem ./internal/meter".
func BenchmarkFilter(b *testing.B) {
	hide := redact.New("sk-UPSTREAM-TESTKEY-0123456789abcdefghijklmnop")
	for _, c := range []struct {
		name   string
		events [][]byte
	}{{"capture", sse(captured(b))}, {"agent-text", sse(textDeltas(200))}, {"chat", sse(chatChunks(200))}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 32<<10)
			var f io.Reader
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%10000 == 0 { // an answer is at most sizes.MaxStream long
					f = NewFilter(&cycling{events: c.events}, &Tally{}, hide, nil)
				}
				if _, err := f.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
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
