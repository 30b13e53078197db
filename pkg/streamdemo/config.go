package streamdemo

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/localmodel"
)

// Provider names accepted in Config.Provider and STREAMDEMO_PROVIDER.
const (
	Perplexity = "perplexity" // Perplexity's Agent API (PERPLEXITY_API_KEY)
	OpenAI     = "openai"     // OpenAI chat completions (OPENAI_API_KEY, OPENAI_BASE_URL)
	Compatible = "compatible" // any OpenAI-compatible server by base URL; key optional
	Ollama     = "ollama"     // a local Ollama server on its default port
	Practice   = "practice"   // the practice server of `streamdemo serve`
)

// Protocols a provider can speak, for Config.Protocol and STREAMDEMO_PROTOCOL.
const (
	ProtocolChat      = "chat"      // POST {base}/chat/completions
	ProtocolResponses = "responses" // POST {base}/responses (Perplexity's Agent API)
)

const (
	perplexityBaseURL = "https://api.perplexity.ai/v1"
	openaiBaseURL     = "https://api.openai.com/v1"
	ollamaBaseURL     = "http://127.0.0.1:11434/v1"
	// PracticeAddr is where `streamdemo serve` listens by default.
	PracticeAddr    = "127.0.0.1:8787"
	practiceBaseURL = "http://" + PracticeAddr + "/v1"
	// Default timeouts, generous because reasoning models think before they talk.
	DefaultConnectTimeout   = 10 * time.Second  // to open the connection
	DefaultFirstByteTimeout = 120 * time.Second // from the request to the first byte
	DefaultIdleTimeout      = 90 * time.Second  // between two pieces of the stream
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
	Protocol string // STREAMDEMO_PROTOCOL: chat or responses; by default the provider's
	// Timeouts; zero means the environment's STREAMDEMO_CONNECT_TIMEOUT,
	// STREAMDEMO_FIRST_BYTE_TIMEOUT, STREAMDEMO_IDLE_TIMEOUT (e.g. "30s"), then
	// the defaults above.
	ConnectTimeout   time.Duration
	FirstByteTimeout time.Duration
	IdleTimeout      time.Duration
	// Retries for a 429, a 5xx or a refused connection before any text
	// arrived (STREAMDEMO_RETRIES); zero means DefaultRetries, negative none.
	Retries int
	// Notify is told when a stream retries; by default it prints to stderr.
	Notify func(message string)
	// Transport, if set, carries every request instead of the package's own
	// (which applies ConnectTimeout).
	Transport http.RoundTripper
	// Listening, if set, tells whether a server answers at a base URL; the
	// rule asks it about the local model, then the practice server. By
	// default it tries a TCP connection for 300 ms.
	Listening func(baseURL string) bool
}

// providerInfo holds one provider's defaults.
type providerInfo struct {
	protocol, baseURL, keyVar, model string
	keyRequired                      bool
}

var providers = map[string]providerInfo{
	Perplexity: {ProtocolResponses, perplexityBaseURL, "PERPLEXITY_API_KEY", "sonar-pro", true},
	OpenAI:     {ProtocolChat, openaiBaseURL, "OPENAI_API_KEY", "gpt-4o-mini", true},
	Compatible: {ProtocolChat, "", "STREAMDEMO_API_KEY", "", false},
	Ollama:     {ProtocolChat, ollamaBaseURL, "STREAMDEMO_API_KEY", LocalModel, false},
	Practice:   {ProtocolResponses, practiceBaseURL, "STREAMDEMO_API_KEY", "sonar-pro", false},
}

// LocalModel is the model name the project registers with Ollama,
// "smollm2-135m".
const LocalModel = localmodel.Name

// settings is a Config with every choice made.
type settings struct {
	Provider, Protocol, BaseURL, Model, APIKey, KeyVar string
	KeyRequired                                        bool
	FirstByteTimeout, IdleTimeout                      time.Duration
	Retries                                            int
	Notify                                             func(string)
	transport                                          http.RoundTripper // shared by the client's streams
	guessed                                            bool              // no provider was named
}

// resolve fills the empty fields of c from the environment and defaults.
func (c Config) resolve() (settings, error) {
	s := settings{
		Provider:         first(c.Provider, os.Getenv("STREAMDEMO_PROVIDER")),
		BaseURL:          first(c.BaseURL, os.Getenv("STREAMDEMO_BASE_URL")),
		Model:            first(c.Model, os.Getenv("STREAMDEMO_MODEL")),
		Protocol:         first(c.Protocol, os.Getenv("STREAMDEMO_PROTOCOL")),
		FirstByteTimeout: duration(c.FirstByteTimeout, "STREAMDEMO_FIRST_BYTE_TIMEOUT", DefaultFirstByteTimeout),
		IdleTimeout:      duration(c.IdleTimeout, "STREAMDEMO_IDLE_TIMEOUT", DefaultIdleTimeout),
		Retries:          c.Retries,
		Notify:           c.Notify,
		transport:        c.Transport,
	}
	if s.transport == nil {
		s.transport = newTransport(duration(c.ConnectTimeout, "STREAMDEMO_CONNECT_TIMEOUT", DefaultConnectTimeout))
	}
	if s.Retries == 0 {
		s.Retries = DefaultRetries
		if n, err := strconv.Atoi(os.Getenv("STREAMDEMO_RETRIES")); err == nil {
			s.Retries = n
		}
	}
	s.Retries = max(s.Retries, 0)
	if s.Provider == "" {
		p, err := chooseProvider(c.APIKey, s.BaseURL, c.Listening)
		if err != nil {
			return s, err
		}
		s.Provider, s.guessed = p, true
	}
	s.Provider = strings.ToLower(s.Provider)
	info, ok := providers[s.Provider]
	if !ok {
		return s, &Error{Kind: ErrConfig, Provider: s.Provider, Message: "unknown provider " + strconv.Quote(s.Provider) + ": use perplexity, openai, compatible, ollama or practice"}
	}
	s.KeyVar = info.keyVar
	s.APIKey = first(c.APIKey, os.Getenv(info.keyVar))
	if s.Provider == OpenAI {
		s.BaseURL = first(s.BaseURL, os.Getenv("OPENAI_BASE_URL"))
	}
	s.BaseURL = strings.TrimRight(first(s.BaseURL, info.baseURL), "/")
	// A key is required by the provider's own service, not by a stand-in.
	s.KeyRequired = info.keyRequired && s.BaseURL == info.baseURL
	s.Protocol = first(s.Protocol, info.protocol)
	s.Model = first(s.Model, info.model)
	switch {
	case s.BaseURL == "":
		return s, &Error{Kind: ErrConfig, Provider: s.Provider, Message: "provider compatible needs a base URL: set STREAMDEMO_BASE_URL=http://host:port/v1 or Config.BaseURL"}
	case s.Protocol != ProtocolChat && s.Protocol != ProtocolResponses:
		return s, &Error{Kind: ErrConfig, Provider: s.Provider, Message: "unknown protocol " + strconv.Quote(s.Protocol) + ": use chat or responses"}
	case s.KeyRequired && s.APIKey == "":
		return s, &Error{Kind: ErrNoKey, Provider: s.Provider, facts: facts{keyVar: s.KeyVar}}
	}
	return s, nil
}

// duration is v if set, else the environment variable, else def.
func duration(v time.Duration, env string, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	if d, err := time.ParseDuration(os.Getenv(env)); err == nil && d > 0 {
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

func first(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
