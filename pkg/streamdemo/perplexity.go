package streamdemo

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// responsesProtocol speaks the OpenAI Responses format as Perplexity's Agent
// API streams it: POST {base}/responses, data-only events, no [DONE].
type responsesProtocol struct{}

// sonarEngines maps the retired Sonar model names to the Agent API, following
// Perplexity's migration guide.
var sonarEngines = map[string]engine{
	"sonar":               {model: "perplexity/sonar", search: true},
	"sonar-pro":           {preset: "low"},
	"sonar-reasoning-pro": {preset: "low"},
	"sonar-deep-research": {preset: "medium"},
}

var presets = map[string]bool{"fast": true, "low": true, "medium": true, "high": true, "xhigh": true}

// engine is how a request names what should answer: a model or a preset.
type engine struct {
	model, preset string
	search        bool // add the web_search tool (a bare model does not search)
}

// agentEngine chooses the Agent API engine for a model name: Sonar names map
// as in the table above, preset names become presets, any other name is sent
// unchanged as a model with web search.
func agentEngine(name string) engine {
	if e, ok := sonarEngines[strings.ToLower(name)]; ok {
		return e
	}
	if presets[strings.ToLower(name)] {
		return engine{preset: strings.ToLower(name)}
	}
	return engine{model: name, search: true}
}

func (responsesProtocol) open(ctx context.Context, c *openai.Client, s settings, req Request) (eventReader, error) {
	r := openai.CreateResponseRequest{MaxOutputTokens: req.MaxTokens, Temperature: req.Temperature, ExtraBody: map[string]any{}}
	var input []openai.ResponseInputMessage
	var instructions []string
	for _, m := range req.Messages {
		if m.Role == "system" {
			instructions = append(instructions, m.Content)
			continue
		}
		input = append(input, openai.ResponseInputMessage{Type: "message", Role: m.Role, Content: m.Content})
	}
	r.Instructions, r.Input = strings.Join(instructions, "\n\n"), input
	if s.Provider == Perplexity || s.Provider == Practice {
		e := agentEngine(req.Model)
		r.Model = e.model
		if e.preset != "" {
			r.ExtraBody["preset"] = e.preset
		}
		if e.search {
			r.ExtraBody["tools"] = []map[string]string{{"type": "web_search"}}
		}
	} else {
		r.Model = req.Model
	}
	if req.Whole {
		return wholeResponse(ctx, c, r)
	}
	return c.CreateResponseStream(ctx, r)
}

// wholeResponse asks without streaming and returns the answer as the events
// a stream of one chunk would have.
func wholeResponse(ctx context.Context, c *openai.Client, r openai.CreateResponseRequest) (eventReader, error) {
	resp, err := c.CreateResponse(ctx, r)
	if err != nil {
		return nil, err
	}
	text := resp.OutputText
	for _, item := range resp.Output {
		m, _ := item.(map[string]any)
		parts, _ := m["content"].([]any)
		for _, part := range parts {
			if p, _ := part.(map[string]any); p["type"] == "output_text" && resp.OutputText == "" {
				t, _ := p["text"].(string)
				text += t
			}
		}
	}
	end := map[string]any{"type": "response.completed", "response": map[string]any{"model": resp.Model, "usage": resp.Usage}}
	if resp.Status == "failed" || resp.Error != nil {
		end = map[string]any{"type": "response.failed", "error": resp.Error}
	}
	delta, _ := json.Marshal(map[string]any{"type": "response.output_text.delta", "delta": text})
	done, err := json.Marshal(end)
	return &lines{delta, done}, err
}

// agentEvent holds the fields of every Agent API event the package reads.
type agentEvent struct {
	Type     string `json:"type"`
	Delta    string `json:"delta"`
	Response *struct {
		Model             string      `json:"model"`
		Status            string      `json:"status"`
		Usage             *agentUsage `json:"usage"`
		Error             *agentError `json:"error"`
		IncompleteDetails *struct {
			Reason string `json:"reason"`
		} `json:"incomplete_details"`
	} `json:"response"`
	Error   *agentError `json:"error"`
	Message string      `json:"message"` // on a bare "error" event
	Results []struct {
		ID      any    `json:"id"` // an integer; tolerate a string
		URL     string `json:"url"`
		Title   string `json:"title"`
		Snippet string `json:"snippet"`
		Date    string `json:"date"`
	} `json:"results"`
}

type agentUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	TotalTokens  int `json:"total_tokens"`
	Cost         *struct {
		TotalCost float64 `json:"total_cost"`
		Currency  string  `json:"currency"`
	} `json:"cost"`
}

type agentError struct {
	Message string `json:"message"`
	Code    any    `json:"code"`
	Type    string `json:"type"`
}

func (responsesProtocol) decode(line []byte) (event, error) {
	var a agentEvent
	if err := lenientUnmarshal(line, &a); err != nil {
		return event{}, err
	}
	var ev event
	if r := a.Response; r != nil {
		ev.model = r.Model
		if u := r.Usage; u != nil {
			ev.usage = &Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens}
			if u.Cost != nil {
				ev.usage.Cost, ev.usage.Currency = u.Cost.TotalCost, first(u.Cost.Currency, "USD")
			}
		}
	}
	switch a.Type {
	case "response.output_text.delta":
		ev.text = a.Delta
	case "response.reasoning_text.delta", "response.reasoning_summary_text.delta":
		ev.reasoning = a.Delta
	case "response.reasoning.search_results":
		for _, r := range a.Results {
			ev.sources = append(ev.sources, Source{Number: sourceNumber(r.ID), Title: r.Title, URL: r.URL, Snippet: r.Snippet, Date: r.Date})
		}
	case "response.completed":
		ev.finish, ev.done = "stop", true
	case "response.incomplete":
		ev.finish, ev.done = "incomplete", true
		if r := a.Response; r != nil && r.IncompleteDetails != nil {
			ev.finish = first(r.IncompleteDetails.Reason, ev.finish)
		}
	case "response.failed", "response.cancelled", "error":
		ev.err = &Error{Kind: ErrFailed, Detail: a.failure()}
	}
	return ev, nil
}

// failure finds the message of a failed, cancelled or error event.
func (a agentEvent) failure() string {
	switch {
	case a.Error != nil && a.Error.Message != "":
		return a.Error.Message
	case a.Response != nil && a.Response.Error != nil && a.Response.Error.Message != "":
		return a.Response.Error.Message
	case a.Message != "":
		return a.Message
	case a.Type == "response.cancelled":
		return "the answer was cancelled"
	}
	return fmt.Sprintf("the stream ended with %s", a.Type)
}

// sourceNumber reads a search result's id; 0 (numbered by arrival) if unusable.
func sourceNumber(id any) int {
	switch v := id.(type) {
	case float64:
		if v >= 1 && v <= 1000 && v == math.Trunc(v) {
			return int(v)
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 1000 {
			return n
		}
	}
	return 0
}
