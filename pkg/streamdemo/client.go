package streamdemo

import (
	"context"
	"fmt"
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
}

// NewClient resolves cfg into a client, in one step whose outcome the caller
// sees: empty fields come from the environment (a .env file loaded by
// LoadEnv counts) and the provider's defaults; the provider follows the rule
// of the package documentation (Providers). A configuration problem, such as a missing key, is
// returned at once as an *Error; print Hint(err) to a learner.
//
// It returns an error rather than keeping it for later because a notebook
// cell should stop where the problem is: one "if err != nil" right under the
// line that caused it reads better than a stream that fails for a reason
// decided two lines above.
func NewClient(cfg Config) (*Client, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	return &Client{settings: s}, nil
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

// ChatStream starts streaming the answer to messages from the Client's model
// (Config.Model, STREAMDEMO_MODEL or the provider's default), like the OpenAI
// SDK's chat.completions.create(messages=..., stream=True). To name a model,
// use Stream with Request.Model. Nothing is sent until the stream is ranged
// over.
func (c *Client) ChatStream(ctx context.Context, messages []Message) *Stream {
	return c.Stream(ctx, Request{Messages: messages})
}

// Stream starts streaming the answer to req. Nothing is sent until the
// stream's Chunks are ranged over.
func (c *Client) Stream(ctx context.Context, req Request) *Stream {
	s := &Stream{settings: c.settings, req: req, proto: chatProtocol{}}
	s.parent, s.stop = context.WithCancel(ctx)
	s.settings.Model = first(req.Model, s.settings.Model)
	s.req.Model = s.settings.Model
	if s.req.Model == "" {
		s.err = &Error{Kind: ErrConfig, Provider: s.settings.Provider, Message: "no model chosen", facts: facts{baseURL: s.settings.BaseURL, noModel: true}}
	}
	if s.settings.Protocol == ProtocolResponses {
		s.proto = responsesProtocol{}
	}
	return s
}
