package streamdemo

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults for Config's zero fields when the environment sets none either.
// The timeouts are generous because reasoning models think before they talk.
const (
	DefaultConnectTimeout   = 10 * time.Second  // to open the connection
	DefaultFirstByteTimeout = 120 * time.Second // from the request to the first byte
	DefaultIdleTimeout      = 90 * time.Second  // between two pieces of the stream
	DefaultRetries          = 2                 // for a 429, a 5xx or a refused connection before any text
)

// Config chooses where and how to stream. Every field is optional: an empty
// field is taken from the environment (a .env file loaded by LoadEnv counts),
// and then from the provider's defaults. Code wins over environment, and
// environment over defaults.
type Config struct {
	Provider string // STREAMDEMO_PROVIDER: perplexity, openai, compatible, ollama, practice
	BaseURL  string // STREAMDEMO_BASE_URL: ends in /v1, e.g. http://127.0.0.1:11434/v1
	Model    string // STREAMDEMO_MODEL: model or preset name
	APIKey   string // the provider's key variable, e.g. PERPLEXITY_API_KEY
	Protocol string // STREAMDEMO_PROTOCOL: chat, responses or agent; by default the provider's
	// Timeouts; zero means the environment's STREAMDEMO_CONNECT_TIMEOUT,
	// STREAMDEMO_FIRST_BYTE_TIMEOUT, STREAMDEMO_IDLE_TIMEOUT (e.g. "30s"), then
	// DefaultConnectTimeout, DefaultFirstByteTimeout, DefaultIdleTimeout.
	ConnectTimeout   time.Duration
	FirstByteTimeout time.Duration
	IdleTimeout      time.Duration
	// Retries for a 429, a 5xx or a refused connection before any text
	// arrived (STREAMDEMO_RETRIES); zero means DefaultRetries, negative none.
	Retries int
	// Notify, if set, is told when a stream retries, e.g. "HTTP 429, rate
	// limited: retrying in 2s (retry 1 of 2)"; by default retries are silent
	// (Hint still counts the attempts). The command line prints them to stderr.
	Notify func(message string)
	// Transport, if set, carries every request instead of the package's own
	// (which applies ConnectTimeout).
	Transport http.RoundTripper
	// OnEvent, if set, is given the JSON of each server-sent event of a
	// streamed answer as it arrives, before the package reads it: the wire
	// itself, as `streamdemo record` saves it. It is called on the
	// goroutine that ranges over Chunks, and the slice is valid only during
	// the call. An answer asked for whole (Request.Whole) has no events.
	OnEvent func(data []byte)

	// local is how the rule learns whether the local model or the practice
	// server answers, and whose it is; tests set their own.
	local localProbe
	// streamLimit, if set, lowers MaxStreamBytes, for tests.
	streamLimit int
	// getenv reads the environment; nil is os.Getenv. Tests give their own,
	// so that they can run in parallel.
	getenv func(string) string
}

// resolve fills the empty fields of c from the environment and defaults.
func (c Config) resolve() (resolved, error) {
	getenv := c.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	duration := func(v time.Duration, name string, def time.Duration) time.Duration {
		return orDuration(v, getenv(name), def)
	}
	s := resolved{
		Settings: Settings{
			Provider: first(c.Provider, getenv("STREAMDEMO_PROVIDER")),
			BaseURL:  first(c.BaseURL, getenv("STREAMDEMO_BASE_URL")),
			Model:    first(c.Model, getenv("STREAMDEMO_MODEL")),
			Protocol: first(c.Protocol, getenv("STREAMDEMO_PROTOCOL")),
		},
		FirstByteTimeout: duration(c.FirstByteTimeout, "STREAMDEMO_FIRST_BYTE_TIMEOUT", DefaultFirstByteTimeout),
		IdleTimeout:      duration(c.IdleTimeout, "STREAMDEMO_IDLE_TIMEOUT", DefaultIdleTimeout),
		Retries:          c.Retries,
		Notify:           c.Notify,
		onEvent:          c.OnEvent,
		transport:        c.Transport,
		streamLimit:      c.streamLimit,
	}
	if s.transport == nil {
		s.transport = newTransport(duration(c.ConnectTimeout, "STREAMDEMO_CONNECT_TIMEOUT", DefaultConnectTimeout))
	}
	if s.Retries == 0 {
		s.Retries = DefaultRetries
		if n, err := strconv.Atoi(getenv("STREAMDEMO_RETRIES")); err == nil {
			s.Retries = n
		}
	}
	s.Retries = max(s.Retries, 0)
	var passed string
	switch {
	case c.Provider != "":
		s.Why = "Config.Provider names it"
	case s.Provider != "":
		s.Why = "STREAMDEMO_PROVIDER names it"
	default:
		ch, err := chooseProvider(c.APIKey, s.BaseURL, getenv, c.local)
		if err != nil {
			return s, err
		}
		s.Provider, s.Why, passed, s.guessed = ch.provider, ch.why, ch.passed, true
	}
	s.protocolNamed = s.Protocol != ""
	s.Provider = strings.ToLower(s.Provider)
	info, ok := providers[s.Provider]
	if !ok {
		return s, &Error{Kind: ErrConfig, Provider: s.Provider, Message: "unknown provider " + strconv.Quote(s.Provider) + ": use perplexity, openai, compatible, ollama or practice"}
	}
	s.KeyVar = info.keyVar
	s.APIKey = first(c.APIKey, getenv(info.keyVar))
	switch {
	case c.APIKey != "":
		s.KeyFrom = "Config.APIKey"
	case s.APIKey != "":
		s.KeyFrom = info.keyVar
	}
	if s.Provider == OpenAI {
		s.BaseURL = first(s.BaseURL, getenv("OPENAI_BASE_URL"))
	}
	s.BaseURL = strings.TrimRight(first(s.BaseURL, info.baseURL), "/")
	// A key is required by the provider's own service, not by a stand-in.
	s.KeyRequired = info.keyRequired && s.BaseURL == info.baseURL
	s.Protocol = first(s.Protocol, info.speaks)
	s.Model = first(s.Model, info.model)
	switch {
	case s.BaseURL == "":
		return s, &Error{Kind: ErrConfig, Provider: s.Provider, Message: "provider compatible needs a base URL: set STREAMDEMO_BASE_URL=http://host:port/v1 or Config.BaseURL"}
	case s.Protocol != ProtocolChat && s.Protocol != ProtocolResponses && s.Protocol != ProtocolAgent:
		return s, &Error{Kind: ErrConfig, Provider: s.Provider, Message: "unknown protocol " + strconv.Quote(s.Protocol) + ": use chat, responses or agent"}
	case s.KeyRequired && s.APIKey == "":
		return s, &Error{Kind: ErrNoKey, Provider: s.Provider, facts: facts{keyVar: s.KeyVar, passed: passed}}
	}
	return s, nil
}

// orDuration is v if set, else the duration env spells, else def.
func orDuration(v time.Duration, env string, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	if d, err := time.ParseDuration(env); err == nil && d > 0 {
		return d
	}
	return def
}

// newTransport is the HTTP transport of one client, with a connect timeout.
func newTransport(connect time.Duration) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = connect
	t.MaxIdleConnsPerHost = 16
	return t
}
