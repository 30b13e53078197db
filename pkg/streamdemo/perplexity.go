package streamdemo

import (
	"context"
	"net/http"
	"strings"

	openai "github.com/sashabaranov/go-openai"
	"github.com/streamdemo/streamdemo/internal/agentwire"
)

// responsesProtocol speaks the OpenAI Responses format as Perplexity's Agent
// API streams it: POST {base}/responses (or {base}/agent, through agentPath),
// data-only events, no [DONE].
type responsesProtocol struct{}

func (p responsesProtocol) open(ctx context.Context, c *openai.Client, s resolved, req Request) (events, error) {
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
		e := agentwire.EngineFor(req.Model)
		r.Model = e.Model
		if e.Preset != "" {
			r.ExtraBody["preset"] = e.Preset
		}
		if e.Search {
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
	return wire(s, stream, err, p)
}

func (responsesProtocol) decode(line []byte) (event, error) {
	var a agentwire.Event
	if err := lenientUnmarshal(line, &a); err != nil {
		return event{}, err
	}
	return agentEvent(a), nil
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
	var resp agentwire.Response
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
	if !agentwire.Terminal(terminal) {
		terminal = agentwire.Completed
	}
	out := eventList{}
	if text.Len() > 0 {
		out = append(out, event{text: text.String()})
	}
	out = append(out, agentEvent(agentwire.Event{Type: terminal, Response: &resp}))
	return &out, nil
}

// agentPath sends to {base}/agent what go-openai posts to {base}/responses:
// the Agent API at Perplexity's own path of it (ProtocolAgent), for servers
// that have only that one.
type agentPath struct{ next http.RoundTripper }

func (t agentPath) RoundTrip(r *http.Request) (*http.Response, error) {
	if base, ok := strings.CutSuffix(r.URL.Path, "/responses"); ok {
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath = base+"/agent", ""
	}
	return t.next.RoundTrip(r)
}
