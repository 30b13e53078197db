package streamdemo

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/streamdemo/streamdemo/internal/classwire"
)

// Kind says what went wrong. Every *Error has one, and each Kind is itself an
// error, so callers can write errors.Is(err, streamdemo.ErrRateLimited).
type Kind string

// The kinds of failure a learner can meet.
const (
	ErrNoKey        Kind = "no API key"
	ErrKeyRejected  Kind = "API key rejected"
	ErrSonarRetired Kind = "Sonar chat completions retired"
	ErrUnknownModel Kind = "unknown model"
	ErrBadRequest   Kind = "request rejected"
	ErrRateLimited  Kind = "rate limited"
	ErrServer       Kind = "server error"
	ErrUnreachable  Kind = "server unreachable"
	ErrBroken       Kind = "stream broken"
	ErrMalformed    Kind = "malformed event"
	ErrStalled      Kind = "stream stalled"
	ErrFailed       Kind = "answer failed"
	ErrIncomplete   Kind = "answer cut short"
	// ErrServerCancelled is a cancel by the server (response.cancelled);
	// ErrCancelled is the learner stopping the stream.
	ErrServerCancelled Kind = "answer cancelled by the server"
	ErrCancelled       Kind = "cancelled"
	ErrTooLarge        Kind = "response too large"
	ErrTLS             Kind = "TLS certificate rejected"
	ErrConfig          Kind = "bad configuration"
	ErrBudget          Kind = "class budget used up"  // from a class gateway
	ErrPaused          Kind = "paused by the teacher" // from a class gateway
	ErrClassKey        Kind = "class key refused"     // a class gateway's upstream refused the class's key
)

// Error returns the kind in words, e.g. "rate limited".
func (k Kind) Error() string { return string(k) }

// Error is the one error type the package returns: what went wrong, where,
// and what the server said. Its message is short and lower-case, as Go
// errors are; Hint turns it into the sentence a learner can act on. It never
// contains the key. The text that arrived before a failure stays on the
// Stream (Stream.Text), not in the error.
type Error struct {
	Kind       Kind
	Provider   string        // provider name, e.g. "perplexity"
	StatusCode int           // HTTP status, when there was one
	Message    string        // what the server or network said, key removed
	RetryAfter time.Duration // for ErrRateLimited, when the server said
	facts      facts         // what Hint needs besides the above
	cause      error
}

// facts are the details of a failure that only the learner's hint uses.
type facts struct {
	baseURL  string        // where the request went
	keyVar   string        // the variable that holds the key
	chunks   int           // text chunks received before the failure
	attempts int           // requests made, retries included
	idle     time.Duration // for ErrStalled: how long nothing arrived
	waiting  bool          // for ErrStalled: nothing at all arrived
	class    bool          // a class gateway refused; its sentence is Message
	// For ErrConfig: the key variables set, and their providers, when more
	// than one is set and no provider is named.
	keyVars, providers []string
	noModel            bool // for ErrConfig: neither config nor request named a model
	// For ErrNoKey: the server on this machine the rule passed over
	// because another account runs it.
	passed string
	// What Discover learnt: the models the server lists (nil: it did not
	// list them), the model named that it leaves out; discover says the
	// failure is Discover's. noKey: the request carried no key.
	listed          []string
	unlisted        string
	discover, noKey bool
}

// Unwrap lets errors.Is match the Kind and the underlying cause.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

// Error says what happened, e.g. "perplexity: rate limited (HTTP 429)".
func (e *Error) Error() string {
	msg := string(e.Kind)
	if e.Provider != "" {
		msg = e.Provider + ": " + msg
	}
	if e.StatusCode > 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// locate says where the failure happened, where the error does not say
// yet, and how far the stream had come.
func (e *Error) locate(provider, baseURL, keyVar string, chunks, attempts int) {
	e.Provider = first(e.Provider, provider)
	e.facts.baseURL = first(e.facts.baseURL, baseURL)
	e.facts.keyVar = first(e.facts.keyVar, keyVar)
	e.facts.chunks, e.facts.attempts = chunks, attempts
}

// stall makes e an ErrStalled: nothing arrived for idle, nothing at all
// when waiting.
func (e *Error) stall(idle time.Duration, waiting bool) {
	e.Kind, e.facts.idle, e.facts.waiting = ErrStalled, idle, waiting
}

// classKinds are the refusals of streamdemo's class gateway, by error type.
var classKinds = map[string]Kind{
	classwire.TokenRejected:   ErrKeyRejected,
	classwire.TeacherOnly:     ErrKeyRejected,
	classwire.Paused:          ErrPaused,
	classwire.BudgetExceeded:  ErrBudget,
	classwire.RateLimited:     ErrRateLimited,
	classwire.KeyRefused:      ErrClassKey,
	classwire.ModelNotAllowed: ErrUnknownModel,
}

func (e *Error) classifyStatus(typ, code string) {
	if kind, ok := classKinds[typ]; ok {
		e.Kind, e.facts.class = kind, true
		return
	}
	switch st := e.StatusCode; {
	case st == 403 && (typ == "chat_completions_not_available" || code == "agent_api_migration_required" ||
		strings.Contains(e.Message, "Agent API")):
		e.Kind = ErrSonarRetired
	case st == 401 || st == 403:
		e.Kind = ErrKeyRejected
	case st == 404, st == 400 && (typ == "invalid_model" || code == "model_not_found"):
		e.Kind = ErrUnknownModel
	case st == 429:
		e.Kind = ErrRateLimited
	case st >= 500:
		e.Kind = ErrServer
	case st == 0 && e.Message != "":
		e.Kind = ErrFailed // an error event inside a 200 stream
	default:
		e.Kind = ErrBadRequest
	}
}

func (e *Error) classifyNetwork(err error) {
	var dnsErr *net.DNSError
	var tlsErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidErr x509.CertificateInvalidError
	switch {
	case errors.As(err, &dnsErr):
		e.Kind, e.Message = ErrUnreachable, "unknown host "+dnsErr.Name
	case errors.As(err, &tlsErr), errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		e.Kind, e.Message = ErrTLS, lastPart(err.Error())
	case isRefused(err):
		e.Kind, e.Message = ErrUnreachable, "nothing is listening there"
	case errors.Is(err, io.ErrUnexpectedEOF):
		e.Kind, e.Message = ErrBroken, "the connection was cut mid-answer"
	case errors.Is(err, io.EOF):
		e.Kind, e.Message = ErrBroken, "the server closed the connection without answering"
	default:
		e.Kind, e.Message = ErrBroken, firstLine(err.Error())
	}
}

// lastPart drops the "Post URL: " prefixes of a wrapped network error.
func lastPart(s string) string {
	if i := strings.LastIndex(s, ": x509: "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
