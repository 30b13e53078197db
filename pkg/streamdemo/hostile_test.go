package streamdemo_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// bodyTransport answers every request with 200 and the given body, in memory.
type bodyTransport func() io.Reader

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(b()), Request: r}, nil
}

func hostileStream(t testing.TB, protocol string, body func() io.Reader) result {
	cfg := streamdemo.WithStreamLimit(streamdemo.Config{Provider: streamdemo.Compatible, BaseURL: "http://hostile.test/v1",
		Protocol: protocol, Retries: -1, IdleTimeout: 2 * time.Second, Transport: bodyTransport(body)}, streamLimit)
	return collect(t, context.Background(), cfg, streamdemo.Request{Model: "m", Messages: seedMessages})
}

// endless repeats b forever; i counts the bytes read.
type endless struct {
	b []byte
	i int
}

func (e *endless) Read(p []byte) (int, error) {
	for n := range p {
		p[n] = e.b[e.i%len(e.b)]
		e.i++
	}
	return len(p), nil
}

// streamLimit is the stream limit for these tests: 4 MiB rather than
// MaxStreamBytes, so that even under the race detector the endless events
// reach it in seconds.
const streamLimit = 4 << 20

func TestHostileServersCannotExhaustTheClient(t *testing.T) {
	t.Parallel()
	delta := `data: {"type":"response.output_text.delta","delta":"more "}` + "\n\n"
	for _, tc := range []struct {
		name     string
		protocol string
		body     *endless
		kind     streamdemo.Kind
	}{
		{"an endless line", streamdemo.ProtocolResponses, &endless{b: []byte("data: aaaaaaaa")}, streamdemo.ErrTooLarge},
		{"endless events", streamdemo.ProtocolResponses, &endless{b: []byte(delta)}, streamdemo.ErrTooLarge},
		{"endless comments", streamdemo.ProtocolChat, &endless{b: []byte(": ping\n")}, streamdemo.ErrBroken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := hostileStream(t, tc.protocol, func() io.Reader { return tc.body })
			if !errors.Is(r.err, tc.kind) {
				t.Fatalf("got %v, want %s", r.err, tc.kind)
			}
			// The client stops reading at the limit (plus one read buffer).
			if read := tc.body.i; read > streamLimit+64<<10 || len(r.stream.Text()) > read {
				t.Errorf("read %d bytes and kept %d, want reading to stop at %d", read, len(r.stream.Text()), streamLimit)
			}
		})
	}
	nested := hostileStream(t, streamdemo.ProtocolChat, func() io.Reader {
		return strings.NewReader("data: " + strings.Repeat("[", 500000) + "\n\n")
	})
	if !errors.Is(nested.err, streamdemo.ErrMalformed) {
		t.Errorf("deeply nested JSON: got %v, want %s", nested.err, streamdemo.ErrMalformed)
	}
}

func TestInvalidUTF8BecomesReplacementCharacters(t *testing.T) {
	t.Parallel()
	body := "data: {\"type\":\"response.output_text.delta\",\"delta\":\"caf\xe9 \xff ok\"}\n\n" +
		`data: {"type":"response.completed","response":{"model":"m"}}` + "\n\n"
	r := hostileStream(t, streamdemo.ProtocolResponses, func() io.Reader { return strings.NewReader(body) })
	if r.err != nil || !utf8.ValidString(r.stream.Text()) || !strings.HasSuffix(r.stream.Text(), " ok") {
		t.Fatalf("got %q, %v", r.stream.Text(), r.err)
	}
}

// FuzzStream serves arbitrary bytes as a streamed answer: the client must end
// cleanly or with an *Error, never panic, and keep no more than it received.
func FuzzStream(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"), false)
	f.Add([]byte("data: {\"type\":\"response.output_text.delta\",\"delta\":\"x\"}\n\ndata: {\"type\":\"response.completed\"}"), true)
	f.Add([]byte("event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\n"), false)
	f.Add([]byte(": ping\n\ndata: {\"type\":\"error\",\"message\":\"m\"}\n"), true)
	f.Add([]byte("data: [DONE]\n\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, agent bool) {
		protocol := streamdemo.ProtocolChat
		if agent {
			protocol = streamdemo.ProtocolResponses
		}
		r := hostileStream(t, protocol, func() io.Reader { return bytes.NewReader(body) })
		var e *streamdemo.Error
		if r.err != nil && !errors.As(r.err, &e) {
			t.Fatalf("error %T %v is not an *Error", r.err, r.err)
		}
		if len(r.stream.Text()) > 3*len(body) { // a byte may become U+FFFD (3 bytes)
			t.Fatalf("kept %d bytes of text from a %d-byte body", len(r.stream.Text()), len(body))
		}
	})
}
