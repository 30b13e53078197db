package streamdemo

import (
	"context"
	"fmt"
)

// Client streams answers from one provider. Make one with NewClient.
type Client struct {
	settings resolved
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
	switch {
	case s.Protocol == ProtocolAgent:
		api = "Agent API at /agent"
	case s.Protocol == ProtocolResponses && (s.Provider == Perplexity || s.Provider == Practice):
		api = "Agent API"
	case s.Protocol == ProtocolResponses:
		api = "Responses API"
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

// Settings says where the client asks and why; they never hold the key.
func (c *Client) Settings() Settings { return c.settings.Settings }

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
	return newStream(ctx, c.settings, req)
}
