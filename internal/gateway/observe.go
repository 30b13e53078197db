package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/streamdemo/streamdemo/internal/sizes"
)

// maxWholeBytes bounds a whole (non-streamed) upstream body or error body.
// An SSE event longer than sizes.MaxEvent passes through unread; a stream
// longer than sizes.MaxStream is cut.
const maxWholeBytes = 8 << 20

var errTooLarge = errors.New("the model server sent more than the gateway forwards in one answer")

// wireUsage is the union of the usage objects of both protocols.
type wireUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`     // chat completions
	CompletionTokens int64 `json:"completion_tokens"` // chat completions
	InputTokens      int64 `json:"input_tokens"`      // Agent API
	OutputTokens     int64 `json:"output_tokens"`     // Agent API
	Cost             *struct {
		TotalCost float64 `json:"total_cost"`
	} `json:"cost"` // Agent API (and Perplexity's legacy chat)
}

func (u *wireUsage) tokens() (in, out int64) {
	return u.InputTokens + u.PromptTokens, u.OutputTokens + u.CompletionTokens
}

// wireEvent is what accounting reads of one event (or of a whole answer).
type wireEvent struct {
	Type     string `json:"type"`
	Delta    string `json:"delta"` // Agent API text delta
	Model    string `json:"model"`
	Response *struct {
		Model string     `json:"model"`
		Usage *wireUsage `json:"usage"`
	} `json:"response"`
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *wireUsage `json:"usage"`
}

// observe reads one event's JSON payload into c's accounting and reports
// whether the event is the usage chunk the client did not ask for.
func (c *call) observe(payload []byte) (hide bool) {
	var ev wireEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return false
		}
	}
	if ev.Type == "response.output_text.delta" {
		c.chars += int64(len(ev.Delta))
	}
	for _, ch := range ev.Choices {
		c.chars += int64(len(ch.Delta.Content))
	}
	switch ev.Type {
	case "response.failed", "error":
		c.failed = true
	}
	usage, model := ev.Usage, ev.Model
	if ev.Response != nil {
		if ev.Response.Usage != nil {
			usage = ev.Response.Usage
		}
		if ev.Response.Model != "" {
			model = ev.Response.Model
		}
	}
	if model != "" {
		c.upstreamModel = model
	}
	if usage != nil {
		c.usage = usage
		return c.hideUsage && len(ev.Choices) == 0 && ev.Type == ""
	}
	return false
}

// eventFilter forwards an SSE body event by event: each complete event is
// read for accounting, has the key redacted, and is passed on unchanged
// (or dropped, for the usage chunk the client did not ask for). Bytes are
// held only until their event is complete.
type eventFilter struct {
	src     io.ReadCloser
	c       *call
	buf     []byte
	in      []byte // received, event not yet complete
	scanned int    // bytes of in already searched for an event end
	out     []byte // ready to go to the client
	total   int64
	err     error
}

func newEventFilter(src io.ReadCloser, c *call) *eventFilter {
	return &eventFilter{src: src, c: c, buf: make([]byte, 32<<10)}
}

func (f *eventFilter) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		n, err := f.src.Read(f.buf)
		f.total += int64(n)
		if f.total > sizes.MaxStream {
			f.err = errTooLarge
			continue
		}
		f.in = append(f.in, f.buf[:n]...)
		f.cut()
		if err != nil {
			f.out = append(f.out, f.process(f.in)...) // a last event without its blank line
			f.in, f.err = nil, err
		}
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// cut moves every complete event from in to out.
func (f *eventFilter) cut() {
	start := 0
	lineStart := f.scanned
	for i := f.scanned; i < len(f.in); i++ {
		if f.in[i] != '\n' {
			continue
		}
		if len(bytes.TrimRight(f.in[lineStart:i], "\r")) == 0 && lineStart > start {
			f.out = append(f.out, f.process(f.in[start:i+1])...)
			start = i + 1
		}
		lineStart = i + 1
	}
	if len(f.in)-start > sizes.MaxEvent { // hostile: no event end in sight; pass it on unread
		f.out = append(f.out, f.redact(f.in[start:])...)
		start, lineStart = len(f.in), len(f.in)
	}
	f.in = append(f.in[:0], f.in[start:]...)
	f.scanned = lineStart - start
}

// process accounts for one event and returns what to forward.
func (f *eventFilter) process(event []byte) []byte {
	var payload []byte
	for _, line := range bytes.Split(event, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if data, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if len(payload) > 0 {
				payload = append(payload, '\n')
			}
			payload = append(payload, bytes.TrimPrefix(data, []byte(" "))...)
		}
	}
	if len(payload) > 0 && !bytes.Equal(payload, []byte("[DONE]")) && f.c.observe(payload) {
		return nil
	}
	return f.redact(event)
}

func (f *eventFilter) redact(b []byte) []byte { return f.c.hide.Bytes(b) }

func (f *eventFilter) Close() error { return f.src.Close() }
