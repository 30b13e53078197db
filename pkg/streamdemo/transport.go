package streamdemo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/streamdemo/streamdemo/internal/sizes"
)

// watchTransport wraps the HTTP transport of one attempt: it hands on the
// response header (for Retry-After), reports every read (for the stall
// timer), holds the body to the limits, and ends the body with a newline so
// the SSE reader never drops a last unterminated line.
type watchTransport struct {
	base     http.RoundTripper
	limit    int // bytes the whole stream may have; MaxStreamBytes when 0
	onHeader func(http.Header)
	onRead   func()
}

func (t *watchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.onHeader(resp.Header)
	t.onRead()
	resp.Body = &watchedBody{body: resp.Body, onRead: t.onRead, limit: cmp.Or(t.limit, MaxStreamBytes)}
	if keep, ok := req.Context().Value(rawBodyKey{}).(*bytes.Buffer); ok {
		resp.Body = teeBody{resp.Body, keep}
	}
	return resp, nil
}

// rawBodyKey marks a request whose response body is kept as it arrived.
type rawBodyKey struct{}

// keepRawBody returns a context whose request keeps its response body in the
// returned buffer: go-openai's types drop fields (sources, cost) we need.
func keepRawBody(ctx context.Context) (context.Context, *bytes.Buffer) {
	buf := new(bytes.Buffer)
	return context.WithValue(ctx, rawBodyKey{}, buf), buf
}

type teeBody struct {
	io.ReadCloser
	keep *bytes.Buffer
}

func (b teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.keep.Write(p[:n])
	return n, err
}

// Limits on what a server may send: one event (1 MiB), and the whole stream
// (64 MiB). The class gateway holds answers to the same limits.
const (
	MaxEventBytes  = sizes.MaxEvent
	MaxStreamBytes = sizes.MaxStream
)

type watchedBody struct {
	body    io.ReadCloser
	line    int // bytes since the last newline
	total   int
	limit   int // MaxStreamBytes, or lower in tests
	onRead  func()
	last    byte // last byte read; 0 before any
	pending bool // a closing newline is still owed
	ended   bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.ended {
		if b.pending && len(p) > 0 {
			b.pending = false
			p[0] = '\n'
			return 1, io.EOF
		}
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	if n > 0 {
		b.last = p[n-1]
		b.onRead()
		if err := b.count(p[:n]); err != nil {
			return 0, err
		}
	}
	if err == io.EOF {
		b.ended = true
		if b.last != '\n' && b.last != 0 {
			if n < len(p) {
				p[n] = '\n'
				n++
			} else {
				b.pending = true
				err = nil
			}
		}
	}
	return n, err
}

// count enforces the limits, so a hostile server cannot make the reader
// buffer an endless line or an endless stream.
func (b *watchedBody) count(p []byte) error {
	b.total += len(p)
	if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
		b.line = len(p) - i - 1
	} else {
		b.line += len(p)
	}
	switch {
	case b.line > MaxEventBytes:
		return &Error{Kind: ErrTooLarge, Message: "an event longer than 1 MiB"}
	case b.total > b.limit:
		return &Error{Kind: ErrTooLarge, Message: fmt.Sprintf("more than %d MiB", b.limit>>20)}
	}
	return nil
}

func (b *watchedBody) Close() error { return b.body.Close() }
