package streamdemo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// attempt is one HTTP try of a stream: the request, its silence timer
// (FirstByteTimeout until the first byte, then IdleTimeout between reads) and
// what came back. A timer of an earlier attempt can only touch its own.
type attempt struct {
	ctx             context.Context
	cancel          context.CancelFunc
	silence         *time.Timer   // fires when nothing arrived for too long
	stalled         atomic.Bool   // the silence timer fired
	gotBytes        atomic.Bool   // something arrived
	header          http.Header   // the response header, once it arrived
	firstByte, idle time.Duration // the silence timer's two limits
}

// newAttempt prepares one try under parent with s's timeouts.
func newAttempt(parent context.Context, s resolved) *attempt {
	a := &attempt{firstByte: s.FirstByteTimeout, idle: s.IdleTimeout}
	a.ctx, a.cancel = context.WithCancel(parent)
	a.silence = time.AfterFunc(a.firstByte, func() { a.stalled.Store(true); a.cancel() })
	return a
}

// end hangs up: it stops the silence timer and closes the connection.
func (a *attempt) end() { a.silence.Stop(); a.cancel() }

// read is told whenever bytes arrive; it restarts the silence timer.
func (a *attempt) read() { a.gotBytes.Store(true); a.silence.Reset(a.idle) }

// open sends the request and returns the answer's events.
func (a *attempt) open(p protocol, s resolved, req Request) (events, error) {
	cfg := openai.DefaultConfig(s.APIKey)
	cfg.BaseURL = s.BaseURL
	watch := &watchTransport{base: s.transport, limit: s.streamLimit, onRead: a.read,
		onHeader: func(h http.Header) { a.header = h }}
	cfg.HTTPClient = &http.Client{Transport: watch}
	if s.Protocol == ProtocolAgent {
		cfg.HTTPClient = &http.Client{Transport: agentPath{watch}}
	}
	return p.open(a.ctx, openai.NewClientWithConfig(cfg), s, req)
}

// over reports whether the attempt has ended: hung up, stalled or cancelled.
func (a *attempt) over() bool { return a.ctx.Err() != nil }

// classify turns what this try met, from go-openai or net/http, into an *Error.
func (a *attempt) classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	e = &Error{cause: err}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case a.stalled.Load() && a.gotBytes.Load():
		e.stall(a.idle, false)
	case a.stalled.Load():
		e.stall(a.firstByte, true)
	case a.over() || errors.Is(err, context.Canceled):
		e.Kind = ErrCancelled
	case errors.As(err, &apiErr):
		e.StatusCode = apiErr.HTTPStatusCode
		e.Message = apiErr.Message
		e.classifyStatus(apiErr.Type, fmt.Sprint(apiErr.Code))
	case errors.As(err, &reqErr):
		e.StatusCode = reqErr.HTTPStatusCode
		e.Message = firstLine(string(reqErr.Body))
		e.classifyStatus("", "")
	default:
		e.classifyNetwork(err)
	}
	if e.StatusCode == 429 {
		e.RetryAfter = a.retryAfter()
	}
	return e
}

// retryAfter reads the Retry-After header in seconds or as an HTTP date.
func (a *attempt) retryAfter() time.Duration {
	v := a.header.Get("Retry-After")
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return time.Until(at).Round(time.Second)
	}
	return 0
}
