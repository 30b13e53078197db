// Package agentchat answers OpenAI chat completions through Perplexity's
// Agent API, for an upstream that no longer serves chat completions:
// Request maps a chat request to an Agent API request, and a Reply maps the
// Agent API's events, whole answer or error back to what a chat client
// reads, chunk by chunk.
package agentchat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/streamdemo/streamdemo/internal/agentwire"
)

// Asked is what a chat request asked of its reply.
type Asked struct {
	Model        string // the model named, echoed in every chunk
	Stream       bool
	IncludeUsage bool // stream_options.include_usage: a last chunk with the usage
}

// RequestError is a chat request the Agent API cannot answer as asked:
// Field is the field at fault, Message a sentence that says what to do.
type RequestError struct{ Field, Message string }

func (e *RequestError) Error() string { return e.Message }

// agentRequest is the Agent API request a chat request becomes.
type agentRequest struct {
	Model           string          `json:"model,omitempty"`
	Preset          string          `json:"preset,omitempty"`
	Instructions    string          `json:"instructions,omitempty"`
	Input           []inputItem     `json:"input"`
	Stream          bool            `json:"stream,omitempty"`
	MaxOutputTokens json.RawMessage `json:"max_output_tokens,omitempty"`
	Temperature     json.RawMessage `json:"temperature,omitempty"`
	TopP            json.RawMessage `json:"top_p,omitempty"`
	ResponseFormat  json.RawMessage `json:"response_format,omitempty"`
	Reasoning       *reasoning      `json:"reasoning,omitempty"`
	Tools           []*webSearch    `json:"tools,omitempty"`
	ToolChoice      *toolChoice     `json:"tool_choice,omitempty"`
}

type inputItem struct {
	Type    string `json:"type"`
	Role    string `json:"role"`
	Content string `json:"content"`
}

type reasoning struct {
	Effort string `json:"effort"`
}

type toolChoice struct {
	Type string `json:"type"`
}

// webSearch is the web_search tool, with the search options of
// Perplexity's legacy chat moved onto it.
type webSearch struct {
	Type              string                     `json:"type"`
	Filters           map[string]json.RawMessage `json:"filters,omitempty"`
	SearchContextSize json.RawMessage            `json:"search_context_size,omitempty"`
	UserLocation      json.RawMessage            `json:"user_location,omitempty"`
}

// searchFilters are Perplexity's legacy chat search filters, which the
// Agent API takes on the web_search tool's filters.
var searchFilters = map[string]bool{"search_domain_filter": true, "search_recency_filter": true,
	"search_after_date_filter": true, "search_before_date_filter": true,
	"last_updated_after_filter": true, "last_updated_before_filter": true}

// leftOut are fields that do not change what the model writes (who asks,
// caching, storage, tracing), or offer what a model may leave unused: the
// Agent API has no place for them. Offered tools are such: the Agent API
// cannot call a client's functions, so the model answers in text, as
// tool_choice "auto" allows (Jupyternaut offers its notebook tools with
// every question); tool_choice "required" or a named tool is refused.
var leftOut = map[string]bool{"user": true, "seed": true, "store": true, "metadata": true, "prompt_cache_key": true,
	"safety_identifier": true, "service_tier": true, "parallel_tool_calls": true, "stream_options": true,
	"tools": true, "functions": true}

// unusedIf are fields that may come with the value that asks for nothing
// (clients send defaults), and are refused with any other value.
var unusedIf = map[string]func(json.RawMessage) bool{
	"n":                        isOne,
	"presence_penalty":         isZero,
	"frequency_penalty":        isZero,
	"logprobs":                 isFalse,
	"top_logprobs":             isZero,
	"logit_bias":               isEmpty,
	"stop":                     isEmpty,
	"tool_choice":              func(v json.RawMessage) bool { return isEmpty(v) || string(v) == `"none"` || string(v) == `"auto"` },
	"function_call":            func(v json.RawMessage) bool { return isEmpty(v) || string(v) == `"none"` || string(v) == `"auto"` },
	"modalities":               func(v json.RawMessage) bool { return isEmpty(v) || string(v) == `["text"]` },
	"return_images":            isFalse,
	"return_related_questions": isFalse,
	"disable_search":           isFalse,
	"search_mode":              func(v json.RawMessage) bool { return isEmpty(v) || string(v) == `"web"` },
}

// Request maps a chat-completions request body to the Agent API request
// that answers it, and says what the reply must echo. A Sonar name or a
// preset is put to the Agent API as Perplexity's migration guide says
// (agentwire.EngineFor: sonar-pro is preset low; sonar searches the web);
// any other name is sent as the model. Fields that do not change the
// answer are left out; one that would, and has no counterpart, is refused
// with a *RequestError rather than dropped.
func Request(body []byte) ([]byte, Asked, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, Asked{}, &RequestError{Message: "The request body is not a JSON object."}
	}
	var a Asked
	out := agentRequest{}
	search := &webSearch{Type: "web_search"}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v, err := fields[name], error(nil)
		switch {
		case name == "model":
			err = decode(name, v, &a.Model)
		case name == "messages":
			out.Instructions, out.Input, err = messages(v)
		case name == "stream":
			err = decode(name, v, &a.Stream)
		case name == "max_tokens" || name == "max_completion_tokens":
			if !isEmpty(v) {
				out.MaxOutputTokens = v
			}
		case isEmpty(v) && (name == "temperature" || name == "top_p" || name == "response_format"):
		case name == "temperature":
			out.Temperature = v
		case name == "top_p":
			out.TopP = v
		case name == "response_format":
			out.ResponseFormat = v
		case name == "reasoning_effort":
			if !isEmpty(v) {
				out.Reasoning = &reasoning{}
				err = decode(name, v, &out.Reasoning.Effort)
			}
		case name == "web_search_options":
			err = searchOptions(v, search)
		case searchFilters[name]:
			if !isEmpty(v) {
				if search.Filters == nil {
					search.Filters = map[string]json.RawMessage{}
				}
				search.Filters[name] = v
			}
		case leftOut[name]:
		case unusedIf[name] != nil:
			if !unusedIf[name](v) {
				err = &RequestError{Field: name, Message: fmt.Sprintf("The class's model server answers chat completions through Perplexity's Agent API, which has nothing for %s as sent: send the request without it.", name)}
			}
		default:
			err = &RequestError{Field: name, Message: fmt.Sprintf("The class's model server answers chat completions through Perplexity's Agent API, which has no %s: send the request without it.", name)}
		}
		if err != nil {
			return nil, Asked{}, err
		}
	}
	if a.Model == "" || len(out.Input) == 0 {
		return nil, Asked{}, &RequestError{Field: "messages", Message: "The request needs a model and at least one user or assistant message."}
	}
	if opts := fields["stream_options"]; a.Stream && !isEmpty(opts) {
		var o struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if err := decode("stream_options", opts, &o); err != nil {
			return nil, Asked{}, err
		}
		a.IncludeUsage = o.IncludeUsage
	}
	out.Stream = a.Stream
	engine(a.Model, search, &out)
	b, err := json.Marshal(out)
	return b, a, err
}

// engine sets what answers: a Sonar name or a preset as Perplexity's
// migration guide puts it, any other name as the model. The web_search
// tool goes where the engine searches, or where search options ask for it.
func engine(model string, search *webSearch, out *agentRequest) {
	e := agentwire.Engine{Model: model}
	if agentwire.Sonar(model) || agentwire.EngineFor(model).Preset != "" {
		e = agentwire.EngineFor(model)
	}
	out.Model, out.Preset = e.Model, e.Preset
	if e.Search {
		// Sonar always searched: offered alone, the tool is optional.
		out.ToolChoice = &toolChoice{Type: "web_search"}
	}
	if e.Search || search.Filters != nil || search.SearchContextSize != nil || search.UserLocation != nil {
		out.Tools = []*webSearch{search}
	}
}

// messages maps chat messages to the Agent API's instructions (the system
// and developer messages) and input items (the conversation).
func messages(v json.RawMessage) (string, []inputItem, error) {
	var list []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCalls  json.RawMessage `json:"tool_calls"`
		ToolCallID json.RawMessage `json:"tool_call_id"`
	}
	if err := decode("messages", v, &list); err != nil {
		return "", nil, err
	}
	var instructions []string
	var items []inputItem
	for _, m := range list {
		if !isEmpty(m.ToolCalls) || !isEmpty(m.ToolCallID) || (m.Role != "system" && m.Role != "developer" && m.Role != "user" && m.Role != "assistant") {
			return "", nil, &RequestError{Field: "messages", Message: "The class's model server answers chat completions through Perplexity's Agent API, which takes no tool calls or tool results: send system, user and assistant messages only."}
		}
		text, err := contentText(m.Content)
		if err != nil {
			return "", nil, err
		}
		if m.Role == "system" || m.Role == "developer" {
			instructions = append(instructions, text)
			continue
		}
		items = append(items, inputItem{Type: "message", Role: m.Role, Content: text})
	}
	return strings.Join(instructions, "\n\n"), items, nil
}

// contentText is a message's text: a string, or the text of its text parts.
func contentText(v json.RawMessage) (string, error) {
	if isEmpty(v) {
		return "", nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := decode("messages", v, &parts); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", &RequestError{Field: "messages", Message: fmt.Sprintf("The class's model server answers chat completions through Perplexity's Agent API, which takes text only, not %q parts: send the message as text.", p.Type)}
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// searchOptions moves web_search_options onto the web_search tool.
func searchOptions(v json.RawMessage, search *webSearch) error {
	if isEmpty(v) {
		return nil
	}
	var o map[string]json.RawMessage
	if err := decode("web_search_options", v, &o); err != nil {
		return err
	}
	for name, x := range o {
		switch name {
		case "search_context_size":
			search.SearchContextSize = x
		case "user_location":
			search.UserLocation = x
		default:
			return &RequestError{Field: "web_search_options", Message: fmt.Sprintf("The class's model server answers chat completions through Perplexity's Agent API, whose web search has no %s: send web_search_options without it.", name)}
		}
	}
	return nil
}

func decode(name string, v json.RawMessage, into any) error {
	if err := json.Unmarshal(v, into); err != nil {
		return &RequestError{Field: name, Message: fmt.Sprintf("The request's %s has the wrong type.", name)}
	}
	return nil
}

// isEmpty says whether v is absent, null, "", [], {} or false.
func isEmpty(v json.RawMessage) bool {
	switch string(bytes.TrimSpace(v)) {
	case "", "null", `""`, "[]", "{}", "false":
		return true
	}
	return false
}

func isFalse(v json.RawMessage) bool { return isEmpty(v) }

func isZero(v json.RawMessage) bool {
	var f float64
	return isEmpty(v) || (json.Unmarshal(v, &f) == nil && f == 0)
}

func isOne(v json.RawMessage) bool {
	var f float64
	return isEmpty(v) || (json.Unmarshal(v, &f) == nil && f == 1)
}
