package agentchat

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/streamdemo/streamdemo/internal/agentwire"
)

// Reply turns one Agent API answer into what a chat client reads: each
// event into chat-completions chunks as it arrives, a whole answer into a
// chat completion, an error body into chat's error shape.
type Reply struct {
	asked      Asked
	id         string
	created    int64
	started    bool // the chunk naming the assistant's role went out
	sources    []searchResult
	newSources bool // sources arrived that no chunk carried yet
}

// NewReply is the reply to a chat request that asked a.
func NewReply(a Asked) *Reply { return &Reply{asked: a} }

// chunk is a chat-completions chunk, or a whole chat completion. Citations
// and SearchResults are where Perplexity's legacy chat put an answer's
// sources: citations[n-1] is the URL of the answer's marker [n].
type chunk struct {
	ID            string         `json:"id"`
	Object        string         `json:"object"`
	Created       int64          `json:"created"`
	Model         string         `json:"model"`
	Choices       []choice       `json:"choices"`
	Usage         *chatUsage     `json:"usage,omitempty"`
	Citations     []string       `json:"citations,omitempty"`
	SearchResults []searchResult `json:"search_results,omitempty"`
}

type choice struct {
	Index        int      `json:"index"`
	Delta        *message `json:"delta,omitempty"`
	Message      *message `json:"message,omitempty"`
	FinishReason *string  `json:"finish_reason"`
}

type message struct {
	Role             string  `json:"role,omitempty"`
	Content          *string `json:"content,omitempty"`
	ReasoningContent string  `json:"reasoning_content,omitempty"`
}

type chatUsage struct {
	PromptTokens     int  `json:"prompt_tokens"`
	CompletionTokens int  `json:"completion_tokens"`
	TotalTokens      int  `json:"total_tokens"`
	Cost             *any `json:"cost,omitempty"`
}

type searchResult struct {
	Title   string `json:"title"`
	URL     string `json:"url"`
	Date    string `json:"date,omitempty"`
	Snippet string `json:"snippet,omitempty"`
}

// Event returns the chunks, as server-sent events, that one Agent API
// event (its JSON payload) becomes: the role at the start, each text or
// reasoning delta, the finish reason, the usage when it was asked for,
// then [DONE]; an error event for a failed answer. Most events become none.
func (r *Reply) Event(payload []byte) []byte {
	var ev agentwire.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return nil
		}
	}
	if ev.Response != nil && r.id == "" {
		r.id, r.created = ev.Response.ID, ev.Response.CreatedAt
	}
	var out []byte
	switch ev.Type {
	case "response.created":
		out = r.start(out)
	case agentwire.TextDelta:
		out = r.delta(r.start(out), message{Content: &ev.Delta})
	case agentwire.ReasoningDelta, agentwire.ReasoningSummaryDelta:
		out = r.delta(r.start(out), message{ReasoningContent: ev.Delta})
	case "response.reasoning.search_results":
		r.addSources(ev.Results)
	case agentwire.OutputItemDone:
		if ev.Item != nil {
			r.addSources(ev.Item.Results)
		}
	case agentwire.Completed, agentwire.Incomplete:
		out = r.finish(r.start(out), ev.Response)
	case agentwire.Failed, agentwire.Cancelled, agentwire.ErrorEvent:
		out = sse(out, failure(ev))
	}
	return out
}

// start is out with the role chunk, unless it went out already.
func (r *Reply) start(out []byte) []byte {
	if r.started {
		return out
	}
	r.started = true
	empty := ""
	return r.delta(out, message{Role: "assistant", Content: &empty})
}

func (r *Reply) delta(out []byte, m message) []byte {
	c := r.chunk()
	c.Choices = []choice{{Delta: &m}}
	return sse(out, c)
}

// finish is out with the chunk that says why the answer ended (carrying
// every source), the usage chunk if asked for, and [DONE].
func (r *Reply) finish(out []byte, resp *agentwire.Response) []byte {
	if resp == nil {
		resp = &agentwire.Response{}
	}
	r.addOutput(resp.Output)
	reason := finishReason(resp)
	c := r.chunk()
	c.Choices = []choice{{Delta: &message{}, FinishReason: &reason}}
	c.Citations, c.SearchResults = r.citations(), r.sources
	out = sse(out, c)
	if r.asked.IncludeUsage {
		u := r.chunk()
		u.Choices, u.Usage = []choice{}, usageOf(resp.Usage)
		out = sse(out, u)
	}
	return append(out, "data: [DONE]\n\n"...)
}

// chunk is an empty chunk of this answer, carrying the sources that
// arrived since the last.
func (r *Reply) chunk() chunk {
	c := chunk{ID: r.id, Object: "chat.completion.chunk", Created: r.created, Model: r.asked.Model}
	if r.newSources {
		c.Citations, c.SearchResults, r.newSources = r.citations(), r.sources, false
	}
	return c
}

// Whole returns a whole Agent API answer as a chat completion, or, for an
// answer that failed, the error in chat's shape and false.
func (r *Reply) Whole(body []byte) ([]byte, bool) {
	var resp agentwire.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return errorJSON("The model server's answer could not be read.", "upstream_error"), false
		}
	}
	if resp.Status == "failed" || resp.Status == "cancelled" {
		return failure(agentwire.Event{Type: "response." + resp.Status, Response: &resp}), false
	}
	r.addOutput(resp.Output)
	var text strings.Builder
	for _, item := range resp.Output {
		for _, part := range item.Content {
			if item.Type == "message" && part.Type == "output_text" {
				text.WriteString(part.Text)
			}
		}
	}
	content, reason := text.String(), finishReason(&resp)
	c := chunk{ID: resp.ID, Object: "chat.completion", Created: resp.CreatedAt, Model: r.asked.Model,
		Choices: []choice{{Message: &message{Role: "assistant", Content: &content}, FinishReason: &reason}},
		Usage:   usageOf(resp.Usage), Citations: r.citations(), SearchResults: r.sources}
	b, _ := json.Marshal(c)
	return b, true
}

// Error returns an Agent API error body ({"error":{"message","type",
// "code":<status>}}) in chat's shape ({"error":{"message","type","param",
// "code":"<type>"}}); a body that is not one is returned unchanged.
func Error(body []byte) []byte {
	var e struct {
		Error *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Param   any    `json:"param"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == nil || e.Error.Message == "" {
		return body
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": e.Error.Message, "type": e.Error.Type, "param": e.Error.Param, "code": e.Error.Type}})
	return b
}

// failure is the error a chat stream ends with for a failed, cancelled or
// errored answer, as OpenAI sends one mid-stream.
func failure(ev agentwire.Event) []byte {
	e := ev.Error
	if e == nil && ev.Response != nil {
		e = ev.Response.Error
	}
	msg, typ := ev.Message, ""
	if e != nil {
		msg, typ = e.Message, e.Type
	}
	switch {
	case msg != "":
	case ev.Type == agentwire.Cancelled:
		msg = "The model server cancelled the answer."
	default:
		msg = "The model server failed while writing the answer."
	}
	if typ == "" {
		typ = "upstream_error"
	}
	return errorJSON(msg, typ)
}

func errorJSON(msg, typ string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": typ}})
	return b
}

// finishReason is chat's word for why the answer ended: length for an
// answer cut at its output cap, stop for a complete one.
func finishReason(resp *agentwire.Response) string {
	if resp.Status == "incomplete" || resp.IncompleteDetails != nil {
		if d := resp.IncompleteDetails; d != nil && d.Reason == "content_filter" {
			return "content_filter"
		}
		return "length"
	}
	return "stop"
}

func usageOf(u *agentwire.Usage) *chatUsage {
	if u == nil {
		return nil
	}
	c := &chatUsage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens}
	if u.Cost != nil {
		var cost any = u.Cost
		c.Cost = &cost
	}
	return c
}

// addSources keeps the search results not seen yet. A result numbered n
// (its id, which the answer's [n] markers cite) goes at place n; one
// without a number after the others.
func (r *Reply) addSources(results []agentwire.Result) {
	for _, res := range results {
		at := len(r.sources)
		if n, ok := res.ID.(float64); ok && n >= 1 && n <= maxSources && n == float64(int(n)) {
			at = int(n) - 1
		}
		if at >= maxSources || res.URL == "" {
			continue
		}
		for len(r.sources) <= at {
			r.sources = append(r.sources, searchResult{})
		}
		if r.sources[at].URL == "" {
			r.sources[at] = searchResult{Title: res.Title, URL: res.URL, Date: res.Date, Snippet: res.Snippet}
			r.newSources = true
		}
	}
}

// maxSources bounds the sources one answer carries: an id is a place.
const maxSources = 1000

// addOutput keeps the sources of a final response's search_results items.
func (r *Reply) addOutput(items []agentwire.Item) {
	for _, item := range items {
		r.addSources(item.Results)
	}
}

func (r *Reply) citations() []string {
	var urls []string
	for _, s := range r.sources {
		urls = append(urls, s.URL)
	}
	return urls
}

// sse is out with v as one server-sent event ("data: JSON", a blank line).
func sse(out []byte, v any) []byte {
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	out = append(out, "data: "...)
	return append(append(out, b...), "\n\n"...)
}
