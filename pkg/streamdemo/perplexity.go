package streamdemo

import (
	"context"
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
	"sonar-reasoning":     {preset: "low"},
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
// as in the table above, preset names become presets (they bring web search
// with them), any other name is sent unchanged as a model with web search.
func agentEngine(name string) engine {
	if e, ok := sonarEngines[strings.ToLower(name)]; ok {
		return e
	}
	if presets[strings.ToLower(name)] {
		return engine{preset: strings.ToLower(name)}
	}
	return engine{model: name, search: true}
}

// AgentEngine says how a request for the model name is put to Perplexity's
// Agent API: as a model (e.g. "sonar" is model "perplexity/sonar") or as a
// preset (e.g. "sonar-pro" is preset "low"); exactly one of the two is set.
func AgentEngine(name string) (model, preset string) {
	e := agentEngine(name)
	return e.model, e.preset
}

func (p responsesProtocol) open(ctx context.Context, c *openai.Client, s settings, req Request) (events, error) {
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
			// Offered alone, the tool is optional and the model may answer
			// without sources; tool_choice makes it search (see docs/perplexity.md).
			r.ExtraBody["tools"] = []map[string]string{{"type": "web_search"}}
			r.ExtraBody["tool_choice"] = map[string]string{"type": "web_search"}
		}
	} else {
		r.Model = req.Model
	}
	if req.Whole {
		return wholeResponse(ctx, c, r)
	}
	stream, err := c.CreateResponseStream(ctx, r)
	return wire(ctx, stream, err, p)
}

func (responsesProtocol) decode(line []byte) (event, error) {
	var a agentEvent
	if err := lenientUnmarshal(line, &a); err != nil {
		return event{}, err
	}
	return a.event(), nil
}

// wholeResponse asks without streaming and returns the answer as the events
// a stream would have ended with: the text as one delta, then the terminal
// event carrying the whole response object, so that sources (its
// search_results item), usage, cost and model are read exactly as when
// streaming.
func wholeResponse(ctx context.Context, c *openai.Client, r openai.CreateResponseRequest) (events, error) {
	ctx, body := keepRawBody(ctx)
	if _, err := c.CreateResponse(ctx, r); err != nil {
		return nil, err
	}
	var resp agentResponse
	if err := lenientUnmarshal(body.Bytes(), &resp); err != nil {
		return nil, &Error{Kind: ErrMalformed, Message: err.Error(), cause: err}
	}
	var text strings.Builder
	for _, item := range resp.Output {
		for _, part := range item.Content {
			if item.Type == "message" && part.Type == "output_text" {
				text.WriteString(part.Text)
			}
		}
	}
	terminal := "response." + first(resp.Status, "completed")
	if !terminalEvents[terminal] {
		terminal = "response.completed"
	}
	out := eventList{}
	if text.Len() > 0 {
		out = append(out, event{text: text.String()})
	}
	out = append(out, agentEvent{Type: terminal, Response: &resp}.event())
	return &out, nil
}

// terminalEvents are the events that end an Agent API answer.
var terminalEvents = map[string]bool{"response.completed": true, "response.incomplete": true,
	"response.failed": true, "response.cancelled": true, "error": true}
