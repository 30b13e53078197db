package meter

import (
	"bytes"
	"errors"
	"io"

	"github.com/streamdemo/streamdemo/internal/redact"
	"github.com/streamdemo/streamdemo/internal/sizes"
)

// MaxWhole bounds a whole (non-streamed) upstream body or error body. An
// SSE event longer than sizes.MaxEvent passes through unread; a stream
// longer than sizes.MaxStream is cut.
const MaxWhole = 8 << 20

// ErrTooLarge is an answer larger than the gateway forwards.
var ErrTooLarge = errors.New("the model server sent more than the gateway forwards in one answer")

// A Translator turns an answer's events into another protocol's, for a
// client that reads that one (a chat client reading an Agent API answer,
// package agentchat): Event returns the server-sent events, framed, that
// one event's data becomes, often none.
type Translator interface {
	Event(payload []byte) []byte
}

// eventFilter forwards an SSE body event by event: each complete event is
// read for accounting, has the key redacted, and is passed on unchanged
// (or dropped, for the usage chunk the client did not ask for), or
// translated. Bytes are held only until their event is complete.
type eventFilter struct {
	src     io.ReadCloser
	c       *Tally
	hide    *redact.Key
	into    Translator // nil: events pass on as they came
	buf     []byte
	in      []byte // received, event not yet complete
	scanned int    // bytes of in already searched for an event end
	out     []byte // ready to go to the client, from sent on
	sent    int
	total   int64
	err     error
}

// NewFilter forwards the SSE body src event by event, reading each
// into c as it passes and hiding what hide hides. With into, what goes on
// is each event translated (and nothing of an event too long to read);
// the tally reads the events as they came.
func NewFilter(src io.ReadCloser, c *Tally, hide *redact.Key, into Translator) io.ReadCloser {
	return &eventFilter{src: src, c: c, hide: hide, into: into, buf: make([]byte, 32<<10)}
}

func (f *eventFilter) Read(p []byte) (int, error) {
	if f.sent == len(f.out) {
		f.out, f.sent = f.out[:0], 0 // all went: the buffer is used again
	}
	for len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		n, err := f.src.Read(f.buf)
		f.total += int64(n)
		if f.total > sizes.MaxStream {
			f.err = ErrTooLarge
			continue
		}
		f.in = append(f.in, f.buf[:n]...)
		f.cut()
		if err != nil {
			f.out = append(f.out, f.process(f.in)...) // a last event without its blank line
			f.in, f.err = nil, err
		}
	}
	n := copy(p, f.out[f.sent:])
	f.sent += n
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
	if len(f.in)-start > sizes.MaxEvent { // hostile: no event end in sight; pass it on unread (untranslatable: dropped), all of it output
		f.c.Chars += int64(len(f.in) - start)
		if f.into == nil {
			f.out = append(f.out, f.redact(f.in[start:])...)
		}
		start, lineStart = len(f.in), len(f.in)
	}
	f.in = append(f.in[:0], f.in[start:]...)
	f.scanned = lineStart - start
}

// process accounts for one event and returns what to forward. An event's
// one data line (nearly every event has one) is read where it lies; the
// lines of one with several are joined first.
func (f *eventFilter) process(event []byte) []byte {
	var payload []byte
	lines := 0
	for rest := event; len(rest) > 0; {
		line, after, _ := bytes.Cut(rest, []byte("\n"))
		rest = after
		line = bytes.TrimRight(line, "\r")
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimPrefix(data, []byte(" "))
		switch lines++; lines {
		case 1:
			payload = data
		case 2:
			payload = append(append(append([]byte(nil), payload...), '\n'), data...)
		default:
			payload = append(append(payload, '\n'), data...)
		}
	}
	hide := len(payload) > 0 && !bytes.Equal(payload, []byte("[DONE]")) && f.c.Observe(payload)
	switch {
	case f.into != nil && len(payload) > 0:
		return f.redact(f.into.Event(payload))
	case hide || f.into != nil:
		return nil
	}
	return f.redact(event)
}

func (f *eventFilter) redact(b []byte) []byte { return f.hide.Bytes(b) }

func (f *eventFilter) Close() error { return f.src.Close() }
