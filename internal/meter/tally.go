package meter

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/streamdemo/streamdemo/internal/agentwire"
)

// Usage is what an upstream reports an answer used: the union of the
// usage objects of both protocols.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`     // chat completions
	CompletionTokens int64 `json:"completion_tokens"` // chat completions
	InputTokens      int64 `json:"input_tokens"`      // Agent API
	OutputTokens     int64 `json:"output_tokens"`     // Agent API
	Cost             *Cost `json:"cost"`
}

// Cost is what an upstream says an answer cost, in USD, fees for its
// tools and searches included: {"total_cost": X} (the Agent API, Perplexity's
// legacy chat) or a bare number (OpenRouter's chat).
type Cost struct{ TotalCost float64 }

func (c *Cost) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &c.TotalCost); err == nil {
		return nil
	}
	var v struct {
		TotalCost float64 `json:"total_cost"`
	}
	err := json.Unmarshal(b, &v)
	c.TotalCost = v.TotalCost
	return err
}

// usd is the cost reported, 0 for none.
func (u *Usage) usd() float64 {
	if u == nil || u.Cost == nil {
		return 0
	}
	return u.Cost.TotalCost
}

// Tokens are the input and output tokens reported, in either protocol's names.
func (u *Usage) Tokens() (in, out int64) {
	return u.InputTokens + u.PromptTokens, u.OutputTokens + u.CompletionTokens
}

// event is what accounting reads of one event (or of a whole answer).
type event struct {
	Type     string          `json:"type"`
	Delta    json.RawMessage `json:"delta"`   // any Agent API "*.delta" event
	Thought  string          `json:"thought"` // Perplexity's reasoning events
	Item     json.RawMessage `json:"item"`    // response.output_item.added
	Output   json.RawMessage `json:"output"`  // a whole Agent API answer
	Model    string          `json:"model"`
	Response *struct {
		Model string `json:"model"`
		Usage *Usage `json:"usage"`
	} `json:"response"`
	Choices []struct {
		Delta   json.RawMessage `json:"delta"`   // a chat chunk
		Message json.RawMessage `json:"message"` // a whole chat answer
	} `json:"choices"`
	Usage *Usage `json:"usage"`
}

// written is how many bytes of output the model wrote in ev: the one count
// of what a cut answer carried, for every kind of output in both protocols.
// Chat: everything a choice's delta (or a whole answer's message) holds:
// content, refusal, tool calls' names and arguments, reasoning under any
// name. Agent API: every "*.delta" event (text, refusal, function-call
// arguments, reasoning text and summaries, any other), an item added whole
// (Perplexity sends its function calls so), Perplexity's thoughts, and a
// whole answer's output. Not counted: what repeats output already counted
// (".done" events, the final response) and what a tool returned.
func (ev *event) written() int64 {
	n := int64(len(ev.Thought))
	for _, ch := range ev.Choices {
		n += textBytes(ch.Delta) + textBytes(ch.Message)
	}
	switch {
	case strings.HasSuffix(ev.Type, ".delta"):
		n += textBytes(ev.Delta)
	case ev.Type == agentwire.OutputItemAdded:
		n += textBytes(ev.Item)
	case ev.Type == "":
		n += textBytes(ev.Output)
	}
	return n
}

// notWritten are the keys whose strings the model did not write: names of
// things, ids, states, citations, token details and opaque blobs.
var notWritten = map[string]bool{"id": true, "type": true, "role": true, "status": true, "call_id": true, "item_id": true,
	"object": true, "annotations": true, "logprobs": true, "encrypted_content": true}

// textBytes is the length of every string in raw but those under
// notWritten keys and the items a tool returned (Perplexity's
// "search_results", "fetch_url_results").
func textBytes(raw json.RawMessage) int64 {
	if len(raw) == 0 || raw[0] == 'n' {
		return 0
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return int64(len(raw)) // unreadable: all of it, rather than nothing
	}
	return stringBytes(v)
}

func stringBytes(v any) int64 {
	var n int64
	switch v := v.(type) {
	case string:
		n = int64(len(v))
	case []any:
		for _, x := range v {
			n += stringBytes(x)
		}
	case map[string]any:
		if typ, _ := v["type"].(string); strings.HasSuffix(typ, "_results") {
			return 0
		}
		for k, x := range v {
			if !notWritten[k] {
				n += stringBytes(x)
			}
		}
	}
	return n
}

// Tally is what accounting reads of an answer as it passes.
type Tally struct {
	HideUsage bool    // set by the caller: the gateway asked for include_usage, the client did not
	Usage     *Usage  // the answer's, once reported
	Fees      float64 // the most the upstream reported the answer or a step of it cost: the least it is charged
	Ran       string  // the model that ran, as the upstream names it
	Chars     int64   // bytes of output the model wrote, every kind
	Failed    bool    // the upstream said the answer failed
}

// observeDecoded is Observe by decoding the payload.
func (c *Tally) observeDecoded(payload []byte) (hide bool) {
	var ev event
	if err := json.Unmarshal(payload, &ev); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return false
		}
	}
	c.Chars += ev.written()
	switch ev.Type {
	case agentwire.Failed, agentwire.ErrorEvent:
		c.Failed = true
	}
	usage, model := ev.Usage, ev.Model
	c.Fees = max(c.Fees, ev.Usage.usd())
	if ev.Type != "" { // an Agent API event's own usage is a step's (a search's), not the answer's
		usage = nil
	}
	if ev.Response != nil {
		if ev.Response.Usage != nil {
			usage = ev.Response.Usage
		}
		if ev.Response.Model != "" {
			model = ev.Response.Model
		}
	}
	if model != "" {
		c.Ran = model
	}
	if usage != nil {
		c.Usage = usage
		c.Fees = max(c.Fees, usage.usd())
		return c.HideUsage && len(ev.Choices) == 0 && ev.Type == ""
	}
	return false
}
