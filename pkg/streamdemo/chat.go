package streamdemo

import (
	"context"
	"math"

	openai "github.com/sashabaranov/go-openai"
)

// chatProtocol speaks OpenAI chat completions: POST {base}/chat/completions.
type chatProtocol struct{}

func (p chatProtocol) open(ctx context.Context, c *openai.Client, s resolved, req Request) (events, error) {
	r := openai.ChatCompletionRequest{
		Model:         req.Model,
		MaxTokens:     req.MaxTokens,
		Seed:          req.Seed,
		StreamOptions: &openai.StreamOptions{IncludeUsage: true},
	}
	for _, m := range req.Messages {
		r.Messages = append(r.Messages, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	if t := req.Temperature; t != nil {
		// go-openai omits a zero temperature; the smallest float is zero in effect.
		r.Temperature = max(*t, math.SmallestNonzeroFloat32)
	}
	if req.Whole {
		return wholeChat(ctx, c, r)
	}
	stream, err := c.CreateChatCompletionStream(ctx, r)
	return wire(s, stream, err, p)
}

// wholeChat asks without streaming and returns the answer as the events a
// stream would have brought: the text, then the finish with model and usage.
func wholeChat(ctx context.Context, c *openai.Client, r openai.ChatCompletionRequest) (events, error) {
	r.StreamOptions = nil
	resp, err := c.CreateChatCompletion(ctx, r)
	if err != nil {
		return nil, err
	}
	u := resp.Usage
	end := event{model: resp.Model, usage: &Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}}
	out := eventList{}
	if len(resp.Choices) > 0 {
		ch := resp.Choices[0]
		out = append(out, event{text: ch.Message.Content, reasoning: ch.Message.ReasoningContent})
		end.finish, end.done = first(string(ch.FinishReason), "stop"), true
	}
	out = append(out, end)
	return &out, nil
}

// chatChunk is one chat-completions chunk, with the search fields that
// Perplexity's legacy chat endpoint added.
type chatChunk struct {
	openai.ChatCompletionStreamResponse
	Citations     []string `json:"citations"`
	SearchResults []struct {
		Title, URL, Date, Snippet string
	} `json:"search_results"`
}

func (chatProtocol) decode(line []byte) (event, error) {
	var c chatChunk
	if err := lenientUnmarshal(line, &c); err != nil {
		return event{}, err
	}
	ev := event{model: c.Model}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		ev.text, ev.reasoning = ch.Delta.Content, ch.Delta.ReasoningContent
		if ch.FinishReason != "" {
			ev.finish, ev.done = string(ch.FinishReason), true
		}
	}
	if u := c.Usage; u != nil {
		ev.usage = &Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	}
	for i, r := range c.SearchResults {
		ev.sources = append(ev.sources, Source{Number: i + 1, Title: r.Title, URL: r.URL, Date: r.Date, Snippet: r.Snippet})
	}
	if len(c.SearchResults) == 0 {
		for i, u := range c.Citations {
			ev.sources = append(ev.sources, Source{Number: i + 1, Title: u, URL: u})
		}
	}
	return ev, nil
}
