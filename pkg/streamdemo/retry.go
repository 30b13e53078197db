package streamdemo

import (
	"errors"
	"fmt"
	"os"
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
func (s *Stream) connect() (events, error) {
	for {
		s.attempts++
		s.hangUp()
		s.cur = newAttempt(s.parent, s.settings)
		events, err := s.cur.open(s.proto, s.settings, s.req)
		if err == nil {
			return events, nil
		}
		e := s.classify(err)
		s.hangUp()
		wait, ok := s.retryWait(e)
		if !ok || s.parent.Err() != nil {
			return nil, e
		}
		what := fmt.Sprintf("could not connect to %s (%s)", s.settings.BaseURL, e.Message)
		if e.StatusCode > 0 {
			what = fmt.Sprintf("HTTP %d, %s", e.StatusCode, e.Kind)
		}
		s.say(fmt.Sprintf("%s: retrying in %s (retry %d of %d)", what, wait.Round(100*time.Millisecond), s.attempts, s.settings.Retries))
		select {
		case <-time.After(wait):
		case <-s.parent.Done():
			return nil, e
		}
	}
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
	if s.settings.Notify != nil {
		s.settings.Notify(msg)
		return
	}
	fmt.Fprintln(os.Stderr, "streamdemo: "+msg)
}
