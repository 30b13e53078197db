package streamdemo

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/streamdemo/streamdemo/internal/redact"
)

// A retry waits what the server asks (Retry-After) or backs off from
// firstBackoff, doubling; a wait longer than maxRetryWait is not worth
// retrying inside a cell.
const (
	firstBackoff = 500 * time.Millisecond
	maxRetryWait = 30 * time.Second
)

// retrier is the HTTP side of one stream: it makes the attempts, retries
// what is safe to retry, and turns a failure into an *Error that says where
// the request went and how often it was tried.
type retrier struct {
	parent   context.Context // the caller's, cancelled by Stream.Stop
	settings resolved
	req      Request
	proto    protocol
	attempts int
	cur      *attempt // the current try; nil before the first
}

// newRetrier prepares the tries of one stream under parent.
func newRetrier(parent context.Context, s resolved, req Request, p protocol) *retrier {
	return &retrier{parent: parent, settings: s, req: req, proto: p}
}

// connect opens the stream, retrying what is safe to retry: a 429, a 5xx or a
// refused connection, all of which happen before any text arrived.
func (r *retrier) connect() (events, error) {
	for {
		r.attempts++
		r.hangUp()
		r.cur = newAttempt(r.parent, r.settings)
		events, err := r.cur.open(r.proto, r.settings, r.req)
		if err == nil {
			return events, nil
		}
		e := r.cur.classify(err)
		r.hangUp()
		wait, ok := r.retryWait(e)
		if !ok || r.parent.Err() != nil {
			return nil, e
		}
		what := fmt.Sprintf("could not connect to %s (%s)", r.settings.BaseURL, e.Message)
		if e.StatusCode > 0 {
			what = fmt.Sprintf("HTTP %d, %s", e.StatusCode, e.Kind)
		}
		r.say(fmt.Sprintf("%s: retrying in %s (retry %d of %d)", what, wait.Round(100*time.Millisecond), r.attempts, r.settings.Retries))
		select {
		case <-time.After(wait):
		case <-r.parent.Done():
			return nil, e
		}
	}
}

// retryWait says whether e is worth another attempt, and after how long.
func (r *retrier) retryWait(e *Error) (time.Duration, bool) {
	retryable := e.Kind == ErrRateLimited || e.Kind == ErrServer ||
		(e.Kind == ErrUnreachable && errors.Is(e, syscall.ECONNREFUSED))
	if !retryable || r.attempts > r.settings.Retries {
		return 0, false
	}
	wait := firstBackoff << (r.attempts - 1)
	if e.RetryAfter > 0 {
		wait = e.RetryAfter
	}
	return wait, wait <= maxRetryWait
}

// say tells Config.Notify about a retry; without one, retries are silent.
func (r *retrier) say(msg string) {
	if r.settings.Notify != nil {
		r.settings.Notify(msg)
	}
}

// hangUp ends the current attempt, if any.
func (r *retrier) hangUp() {
	if r.cur != nil {
		r.cur.end()
	}
}

// over reports whether the current attempt has ended (hung up, stalled or
// cancelled), so that an end of the body is no clean end of the answer.
func (r *retrier) over() bool { return r.cur != nil && r.cur.over() }

// fail turns err into an *Error that says where the request went, how often
// it was tried and how many chunks had arrived, with the key removed.
func (r *retrier) fail(err error, chunks int) *Error {
	var e *Error
	if r.cur != nil {
		e = r.cur.classify(err)
	} else if !errors.As(err, &e) {
		e = &Error{cause: err}
		e.classifyNetwork(err)
	}
	s := r.settings
	e.locate(s.Provider, s.BaseURL, s.KeyVar, chunks, max(r.attempts, 1))
	e.facts.noKey = s.APIKey == ""
	e.Message = redact.String(truncate(e.Message, 200), s.APIKey)
	return e
}
