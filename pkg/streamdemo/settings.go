package streamdemo

import (
	"net/http"
	"time"
)

// Settings say where a client asks and why: the provider, its protocol,
// base URL and model, and where the key comes from, by name only. NewClient
// decides them from Config, the environment and the provider's defaults, by
// the rule of the package documentation (Providers); Discover also asks a
// compatible server. They never hold the key.
type Settings struct {
	Provider string // e.g. "perplexity"
	Protocol string // ProtocolResponses, ProtocolAgent or ProtocolChat
	BaseURL  string // e.g. "https://api.perplexity.ai/v1"
	Model    string // asked when a Request names none; "" if nothing names one
	// KeyVar is the variable the provider reads its key from, e.g.
	// "PERPLEXITY_API_KEY"; KeyFrom is where the key sent comes from:
	// KeyVar, "Config.APIKey", or "" for no key.
	KeyVar, KeyFrom string
	// KeyRequired says the provider's own service needs a key; a stand-in
	// at another base URL does not.
	KeyRequired bool
	// Why says why this provider, e.g. "PERPLEXITY_API_KEY is the only key
	// set" or "no key is set and the local model answers on 127.0.0.1:11434".
	Why string
}

// resolved is a Config with every choice made: the Settings, the key itself
// and how to ask.
type resolved struct {
	Settings
	APIKey                        string
	FirstByteTimeout, IdleTimeout time.Duration
	Retries                       int
	Notify                        func(string)
	onEvent                       func([]byte)
	transport                     http.RoundTripper // shared by the client's streams
	streamLimit                   int
	guessed                       bool // no provider was named
	protocolNamed                 bool // Config or the environment named the protocol
}
