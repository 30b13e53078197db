package streamdemo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// Retry limits: a retry waits what the server asks (Retry-After) or backs
// off from firstBackoff, doubling; a wait longer than maxRetryWait is not
// worth retrying inside a cell.
const (
	DefaultRetries = 2
	firstBackoff   = 500 * time.Millisecond
	maxRetryWait   = 30 * time.Second
)

// connect opens the stream, retrying what is safe to retry: a 429, a 5xx or a
// refused connection, all of which happen before any text arrived.
func (s *Stream) connect(parent context.Context) (eventReader, error) {
	for {
		s.attempts++
		events, err := s.try(parent)
		if err == nil {
			return events, nil
		}
		e := s.classify(err)
		s.hangUp()
		wait, ok := s.retryWait(e)
		if !ok || parent.Err() != nil {
			return nil, e
		}
		what := fmt.Sprintf("could not connect to %s (%s)", e.BaseURL, e.Detail)
		if e.StatusCode > 0 {
			what = fmt.Sprintf("HTTP %d, %s", e.StatusCode, e.Kind)
		}
		s.say(fmt.Sprintf("%s: retrying in %s (retry %d of %d)", what, wait.Round(100*time.Millisecond), s.attempts, s.settings.Retries))
		select {
		case <-time.After(wait):
		case <-parent.Done():
			return nil, e
		}
	}
}

// attempt is one request's state; a timer of an earlier attempt can only
// touch its own.
type attempt struct {
	stalled  atomic.Bool // the silence timer fired
	gotBytes atomic.Bool // something arrived
}

// try sends the request once, with a fresh silence timer: FirstByteTimeout
// until the first byte, then IdleTimeout between reads.
func (s *Stream) try(parent context.Context) (eventReader, error) {
	s.hangUp()
	ctx, cancel := context.WithCancel(parent)
	a := &attempt{}
	s.ctx, s.cur = ctx, a
	idle := time.AfterFunc(s.settings.FirstByteTimeout, func() { a.stalled.Store(true); cancel() })
	s.hangUp = func() { idle.Stop(); cancel() }
	onRead := func() { a.gotBytes.Store(true); idle.Reset(s.settings.IdleTimeout) }
	return s.proto.open(ctx, s.apiClient(onRead), s.settings, s.req)
}

// retryWait says whether e is worth another attempt, and after how long.
func (s *Stream) retryWait(e *Error) (time.Duration, bool) {
	retryable := e.Kind == ErrRateLimited || e.Kind == ErrServer ||
		(e.Kind == ErrUnreachable && errors.Is(e, syscall.ECONNREFUSED))
	if !retryable || s.attempts > s.settings.Retries || s.timing.Chunks > 0 {
		return 0, false
	}
	wait := firstBackoff << (s.attempts - 1)
	if e.RetryAfter > 0 {
		wait = e.RetryAfter
	}
	return wait, wait <= maxRetryWait
}

func (s *Stream) say(msg string) {
	if s.notify != nil {
		s.notify(msg)
		return
	}
	fmt.Fprintln(os.Stderr, "streamdemo: "+msg)
}
