package streamdemo

import (
	"context"
	"fmt"
	"net/http"

	openai "github.com/sashabaranov/go-openai"
)

// Message is one turn of the conversation: Role is "system", "user" or
// "assistant".
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is everything one streamed answer needs besides the Client.
type Request struct {
	Model       string // overrides the Client's model when set
	Messages    []Message
	MaxTokens   int      // 0 leaves it to the server
	Temperature *float32 // nil leaves it to the server; 0 makes answers repeatable
	Seed        *int     // for servers that support it (Ollama, OpenAI)
	// Whole asks for the whole answer at once (stream: false), to compare with
	// streaming: it arrives as a single chunk when the model has finished.
	Whole bool
	// OnEvent, if set, is given each server-sent event's JSON as it arrives,
	// before it is read (what `streamdemo record` saves). The slice is only
	// valid during the call.
	OnEvent func(event []byte)
}

// Client streams answers from one provider. Make one with NewClient.
type Client struct {
	settings settings
	err      error
}

// NewClient makes a client from cfg, filling empty fields from the
// environment and the provider's defaults. A configuration problem, such as a
// missing key, is reported by the first stream, as an *Error.
func NewClient(cfg Config) *Client {
	s, err := cfg.resolve()
	return &Client{settings: s, err: err}
}

// String says in one line where answers come from, e.g.
// "perplexity (Agent API) at https://api.perplexity.ai/v1, model sonar-pro".
func (c *Client) String() string {
	s := c.settings
	api := "chat completions"
	if s.Protocol == ProtocolResponses {
		api = "Agent API"
		if s.Provider != Perplexity && s.Provider != Practice {
			api = "Responses API"
		}
	}
	line := fmt.Sprintf("%s (%s) at %s, model %s", s.Provider, api, s.BaseURL, s.Model)
	switch {
	case s.guessed && s.Provider == Ollama:
		line += " (the local model: no API key found; put PERPLEXITY_API_KEY in .env to ask Perplexity)"
	case s.guessed && s.Provider == Practice:
		line += " (the practice server: no API key found; put PERPLEXITY_API_KEY in .env to ask Perplexity)"
	}
	return line
}

// Provider returns the chosen provider's name, e.g. "perplexity".
func (c *Client) Provider() string { return c.settings.Provider }

// Err returns the configuration problem NewClient found, or nil.
func (c *Client) Err() error { return c.err }

// ChatStream starts streaming the answer to messages, like the OpenAI SDK's
// chat.completions.create(model=..., messages=..., stream=True). An empty
// model means the Client's. Nothing is sent until the stream is ranged over.
func (c *Client) ChatStream(ctx context.Context, model string, messages []Message) *Stream {
	return c.Stream(ctx, Request{Model: model, Messages: messages})
}

// Stream starts streaming the answer to req. Nothing is sent until the
// stream's Chunks are ranged over.
func (c *Client) Stream(ctx context.Context, req Request) *Stream {
	s := &Stream{parent: ctx, settings: c.settings, req: req, err: c.err, hangUp: func() {}, notify: c.settings.Notify}
	s.settings.Model = first(req.Model, s.settings.Model)
	s.req.Model = s.settings.Model
	if s.err == nil && s.req.Model == "" {
		s.err = &Error{Kind: ErrConfig, Provider: s.settings.Provider, Detail: "no model chosen: set STREAMDEMO_MODEL or pass a model name"}
	}
	if s.settings.Protocol == ProtocolResponses {
		s.proto = responsesProtocol{}
	} else {
		s.proto = chatProtocol{}
	}
	return s
}

// apiClient makes the go-openai client for one stream; onRead is called
// whenever bytes arrive, to keep the stall timer from firing.
func (s *Stream) apiClient(onRead func()) *openai.Client {
	base := s.settings.transport
	if hc := s.settings.HTTPClient; hc != nil && hc.Transport != nil {
		base = hc.Transport
	}
	cfg := openai.DefaultConfig(s.settings.APIKey)
	cfg.BaseURL = s.settings.BaseURL
	cfg.HTTPClient = &http.Client{Transport: &watchTransport{base: base, stream: s, onRead: onRead}}
	return openai.NewClientWithConfig(cfg)
}
