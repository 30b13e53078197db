package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/streamdemo/streamdemo/internal/sizes"
)

// maxWholeBytes bounds a whole (non-streamed) upstream body or error body.
// An SSE event longer than sizes.MaxEvent passes through unread; a stream
// longer than sizes.MaxStream is cut.
const maxWholeBytes = 8 << 20

var errTooLarge = errors.New("the model server sent more than the gateway forwards in one answer")

// wireUsage is the union of the usage objects of both protocols.
type wireUsage struct {
	PromptTokens     int64     `json:"prompt_tokens"`     // chat completions
	CompletionTokens int64     `json:"completion_tokens"` // chat completions
	InputTokens      int64     `json:"input_tokens"`      // Agent API
	OutputTokens     int64     `json:"output_tokens"`     // Agent API
	Cost             *wireCost `json:"cost"`
}

// wireCost is what an upstream says an answer cost, in USD, fees for its
// tools and searches included: {"total_cost": X} (the Agent API, Perplexity's
// legacy chat) or a bare number (OpenRouter's chat).
type wireCost struct{ TotalCost float64 }

func (c *wireCost) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &c.TotalCost); err == nil {
		return nil
	}
	var v struct {
		TotalCost float64 `json:"total_cost"`
	}
	err := json.Unmarshal(b, &v)
	c.TotalCost = v.TotalCost
	return err
}

// usd is the cost reported, 0 for none.
func (u *wireUsage) usd() float64 {
	if u == nil || u.Cost == nil {
		return 0
	}
	return u.Cost.TotalCost
}

func (u *wireUsage) tokens() (in, out int64) {
	return u.InputTokens + u.PromptTokens, u.OutputTokens + u.CompletionTokens
}

// wireEvent is what accounting reads of one event (or of a whole answer).
type wireEvent struct {
	Type     string          `json:"type"`
	Delta    json.RawMessage `json:"delta"`   // any Agent API "*.delta" event
	Thought  string          `json:"thought"` // Perplexity's reasoning events
	Item     json.RawMessage `json:"item"`    // response.output_item.added
	Output   json.RawMessage `json:"output"`  // a whole Agent API answer
	Model    string          `json:"model"`
	Response *struct {
		Model string     `json:"model"`
		Usage *wireUsage `json:"usage"`
	} `json:"response"`
	Choices []struct {
		Delta   json.RawMessage `json:"delta"`   // a chat chunk
		Message json.RawMessage `json:"message"` // a whole chat answer
	} `json:"choices"`
	Usage *wireUsage `json:"usage"`
}

// written is how many bytes of output the model wrote in ev: the one count
// of what a cut answer carried, for every kind of output in both protocols.
// Chat: everything a choice's delta (or a whole answer's message) holds:
// content, refusal, tool calls' names and arguments, reasoning under any
// name. Agent API: every "*.delta" event (text, refusal, function-call
// arguments, reasoning text and summaries, any other), an item added whole
// (Perplexity sends its function calls so), Perplexity's thoughts, and a
// whole answer's output. Not counted: what repeats output already counted
// (".done" events, the final response) and what a tool returned.
func (ev *wireEvent) written() int64 {
	n := int64(len(ev.Thought))
	for _, ch := range ev.Choices {
		n += textBytes(ch.Delta) + textBytes(ch.Message)
	}
	switch {
	case strings.HasSuffix(ev.Type, ".delta"):
		n += textBytes(ev.Delta)
	case ev.Type == "response.output_item.added":
		n += textBytes(ev.Item)
	case ev.Type == "":
		n += textBytes(ev.Output)
	}
	return n
}

// notWritten are the keys whose strings the model did not write: names of
// things, ids, states, citations, token details and opaque blobs.
var notWritten = map[string]bool{"id": true, "type": true, "role": true, "status": true, "call_id": true, "item_id": true,
	"object": true, "annotations": true, "logprobs": true, "encrypted_content": true}

// textBytes is the length of every string in raw but those under
// notWritten keys and the items a tool returned (Perplexity's
// "search_results", "fetch_url_results").
func textBytes(raw json.RawMessage) int64 {
	if len(raw) == 0 || raw[0] == 'n' {
		return 0
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return int64(len(raw)) // unreadable: all of it, rather than nothing
	}
	return stringBytes(v)
}

func stringBytes(v any) int64 {
	var n int64
	switch v := v.(type) {
	case string:
		n = int64(len(v))
	case []any:
		for _, x := range v {
			n += stringBytes(x)
		}
	case map[string]any:
		if typ, _ := v["type"].(string); strings.HasSuffix(typ, "_results") {
			return 0
		}
		for k, x := range v {
			if !notWritten[k] {
				n += stringBytes(x)
			}
		}
	}
	return n
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
	c.chars += ev.written()
	switch ev.Type {
	case "response.failed", "error":
		c.failed = true
	}
	usage, model := ev.Usage, ev.Model
	c.fees = max(c.fees, ev.Usage.usd())
	if ev.Type != "" { // an Agent API event's own usage is a step's (a search's), not the answer's
		usage = nil
	}
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
		c.fees = max(c.fees, usage.usd())
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
	if len(f.in)-start > sizes.MaxEvent { // hostile: no event end in sight; pass it on unread, all of it output
		f.c.chars += int64(len(f.in) - start)
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
