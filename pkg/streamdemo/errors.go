package streamdemo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
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
)

func (k Kind) Error() string { return string(k) }

// Error is the one error type the package returns. Its message is a single
// sentence saying what happened and what to do; it never contains the key.
type Error struct {
	Kind       Kind
	Provider   string        // provider name, e.g. "perplexity"
	BaseURL    string        // where the request went
	StatusCode int           // HTTP status, when there was one
	RetryAfter time.Duration // for ErrRateLimited, when the server said
	Chunks     int           // text chunks received before the failure
	Partial    string        // text received before the failure
	Detail     string        // what the server or network said, key removed
	KeyVar     string        // the variable that holds the key, for ErrNoKey
	Host       string        // for ErrUnreachable
	Idle       time.Duration // for ErrStalled: how long nothing arrived
	// BeforeAnswer is set for ErrStalled when nothing at all arrived.
	BeforeAnswer bool
	Attempts     int // requests made, retries included
	// Class is set when a class gateway refused the request; its sentence
	// is in Detail.
	Class bool
	cause error
}

// Unwrap lets errors.Is match the Kind and the underlying cause.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

func (e *Error) Error() string {
	kept := ""
	if e.Chunks > 0 {
		kept = fmt.Sprintf("; the %d chunks received so far are kept", e.Chunks)
	}
	if e.Class {
		return e.classSentence()
	}
	switch e.Kind {
	case ErrNoKey:
		return fmt.Sprintf("No API key for %s: put %s=your-key in a .env file in this folder or the repository root, or choose another provider with STREAMDEMO_PROVIDER.", e.Provider, e.KeyVar)
	case ErrKeyRejected:
		return fmt.Sprintf("%s rejected the API key (HTTP %d): check %s in your .env file, or create a new key in your %s account.", e.Provider, e.StatusCode, keyVarOr(e.KeyVar), e.Provider)
	case ErrSonarRetired:
		return fmt.Sprintf("Perplexity retired the Sonar chat-completions endpoint (HTTP %d, \"Sonar is now the Agent API\"): use provider %q, which streams through the Agent API at %s/responses.", e.StatusCode, Perplexity, perplexityBaseURL)
	case ErrUnknownModel:
		return fmt.Sprintf("The server at %s does not know this model or path (HTTP %d%s): check the model name, and that the base URL ends in /v1.", e.BaseURL, e.StatusCode, said(e.Detail))
	case ErrBadRequest:
		return fmt.Sprintf("The server at %s rejected the request (HTTP %d%s): check the model name and options.", e.BaseURL, e.StatusCode, said(e.Detail))
	case ErrRateLimited:
		wait := "a minute"
		if e.RetryAfter > 0 {
			wait = e.RetryAfter.String()
		}
		return fmt.Sprintf("%s is rate limiting requests (HTTP 429%s): wait %s and run it again.", e.Provider, e.tries(), wait)
	case ErrServer:
		return fmt.Sprintf("The server at %s failed (HTTP %d%s%s)%s: try again in a moment.", e.BaseURL, e.StatusCode, said(e.Detail), e.tries(), kept)
	case ErrUnreachable:
		return fmt.Sprintf("Could not connect to %s (%s%s): start the server or check the base URL (STREAMDEMO_BASE_URL) and your network.", e.BaseURL, e.Detail, e.tries())
	case ErrTLS:
		return fmt.Sprintf("The TLS certificate of %s was rejected (%s): check the host name in the base URL, or use http:// for a server on this machine.", e.BaseURL, e.Detail)
	case ErrBroken:
		return fmt.Sprintf("The stream broke before the answer finished (%s)%s: run it again.", e.Detail, kept)
	case ErrMalformed:
		return fmt.Sprintf("The server sent an event that is not valid JSON%s: check that the base URL points at an OpenAI-compatible server, then run it again.", kept)
	case ErrStalled:
		if e.BeforeAnswer {
			return fmt.Sprintf("The server did not answer within %s: run it again later, or raise Config.FirstByteTimeout (STREAMDEMO_FIRST_BYTE_TIMEOUT) for slow models.", e.Idle)
		}
		return fmt.Sprintf("The stream stalled: nothing arrived for %s%s; run it again, or raise Config.IdleTimeout (STREAMDEMO_IDLE_TIMEOUT) for slow models.", e.Idle, kept)
	case ErrTooLarge:
		return fmt.Sprintf("The server sent %s%s: check that the base URL points at a real model server.", e.Detail, kept)
	case ErrFailed:
		return fmt.Sprintf("%s reported that the answer failed%s%s: run it again.", e.Provider, said(e.Detail), kept)
	case ErrIncomplete:
		return fmt.Sprintf("The answer was cut short by the output limit (%s) after %d chunks; the text received is kept: raise Request.MaxTokens or ask for a shorter answer.", first(e.Detail, "max_output_tokens"), e.Chunks)
	case ErrServerCancelled:
		return fmt.Sprintf("%s cancelled the answer before it finished%s%s: run it again.", e.Provider, said(e.Detail), kept)
	case ErrCancelled:
		return fmt.Sprintf("Stopped after %d chunks; the text received so far is kept.", e.Chunks)
	default:
		return fmt.Sprintf("%s%s.", e.Detail, kept)
	}
}

// classKinds are the refusals of streamdemo's class gateway, by error type.
var classKinds = map[string]Kind{
	"class_token_rejected":  ErrKeyRejected,
	"class_teacher_only":    ErrKeyRejected,
	"class_paused":          ErrPaused,
	"class_budget_exceeded": ErrBudget,
	"class_rate_limited":    ErrRateLimited,
}

// classSentence is a class gateway's refusal, as the gateway said it.
func (e *Error) classSentence() string {
	if e.Kind == ErrRateLimited && e.RetryAfter > 0 {
		return fmt.Sprintf("Too many requests; wait %d seconds.", int(e.RetryAfter.Round(time.Second).Seconds()))
	}
	return truncate(e.Detail, 300)
}

// tries says how many requests were made, when there was more than one.
func (e *Error) tries() string {
	if e.Attempts < 2 {
		return ""
	}
	return fmt.Sprintf(", %d attempts", e.Attempts)
}

func said(detail string) string {
	if detail == "" {
		return ""
	}
	return fmt.Sprintf(": %q", detail)
}

func keyVarOr(v string) string {
	if v == "" {
		return "the API key"
	}
	return v
}

// classify turns anything go-openai or net/http returned into an *Error.
func (s *Stream) classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	e = &Error{Provider: s.settings.Provider, BaseURL: s.settings.BaseURL, KeyVar: s.settings.KeyVar, cause: err}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case s.cur != nil && s.cur.stalled.Load():
		e.Kind, e.Idle = ErrStalled, s.settings.IdleTimeout
		if !s.cur.gotBytes.Load() {
			e.Idle, e.BeforeAnswer = s.settings.FirstByteTimeout, true
		}
	case s.ctx.Err() != nil || errors.Is(err, context.Canceled):
		e.Kind = ErrCancelled
	case errors.As(err, &apiErr):
		e.StatusCode = apiErr.HTTPStatusCode
		e.Detail = apiErr.Message
		e.classifyStatus(apiErr.Type, fmt.Sprint(apiErr.Code))
	case errors.As(err, &reqErr):
		e.StatusCode = reqErr.HTTPStatusCode
		e.Detail = firstLine(string(reqErr.Body))
		e.classifyStatus("", "")
	default:
		e.classifyNetwork(err)
	}
	if e.StatusCode == 429 {
		e.RetryAfter = s.retryAfter()
	}
	return e
}

func (e *Error) classifyStatus(typ, code string) {
	if kind, ok := classKinds[typ]; ok {
		e.Kind, e.Class = kind, true
		return
	}
	switch st := e.StatusCode; {
	case st == 403 && (typ == "chat_completions_not_available" || code == "agent_api_migration_required" ||
		strings.Contains(e.Detail, "Agent API")):
		e.Kind = ErrSonarRetired
	case st == 401 || st == 403:
		e.Kind = ErrKeyRejected
	case st == 404, st == 400 && (typ == "invalid_model" || code == "model_not_found"):
		e.Kind = ErrUnknownModel
	case st == 429:
		e.Kind = ErrRateLimited
	case st >= 500:
		e.Kind = ErrServer
	case st == 0 && e.Detail != "":
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
		e.Kind, e.Detail = ErrUnreachable, "unknown host "+dnsErr.Name
	case errors.As(err, &tlsErr), errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		e.Kind, e.Detail = ErrTLS, lastPart(err.Error())
	case isRefused(err):
		e.Kind, e.Detail = ErrUnreachable, "nothing is listening there"
	case errors.Is(err, io.ErrUnexpectedEOF):
		e.Kind, e.Detail = ErrBroken, "the connection was cut mid-answer"
	case errors.Is(err, io.EOF):
		e.Kind, e.Detail = ErrBroken, "the server closed the connection without answering"
	default:
		e.Kind, e.Detail = ErrBroken, firstLine(err.Error())
	}
}

// lastPart drops the "Post URL: " prefixes of a wrapped network error.
func lastPart(s string) string {
	if i := strings.LastIndex(s, ": x509: "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
