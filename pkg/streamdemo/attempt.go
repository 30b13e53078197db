package streamdemo

import (
	"context"
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
	ctx      context.Context
	end      context.CancelFunc // hangs up: stops the timer, closes the connection
	stalled  atomic.Bool        // the silence timer fired
	gotBytes atomic.Bool        // something arrived
	header   http.Header        // the response header, once it arrived
	read     func()             // called whenever bytes arrive
}

// newAttempt prepares one try under parent with s's timeouts.
func newAttempt(parent context.Context, s settings) *attempt {
	ctx, cancel := context.WithCancel(parent)
	a := &attempt{ctx: ctx}
	timer := time.AfterFunc(s.FirstByteTimeout, func() { a.stalled.Store(true); cancel() })
	a.end = func() { timer.Stop(); cancel() }
	a.read = func() { a.gotBytes.Store(true); timer.Reset(s.IdleTimeout) }
	return a
}

// open sends the request and returns the answer's events.
func (a *attempt) open(p protocol, s settings, req Request) (events, error) {
	cfg := openai.DefaultConfig(s.APIKey)
	cfg.BaseURL = s.BaseURL
	cfg.HTTPClient = &http.Client{Transport: &watchTransport{base: s.transport, attempt: a}}
	return p.open(a.ctx, openai.NewClientWithConfig(cfg), s, req)
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
