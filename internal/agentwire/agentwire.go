// Package agentwire holds what streamdemo's client library and its class
// gateway both know of Perplexity's Agent API (the OpenAI Responses format):
// how a model name the lessons use is put to it, and the shapes of its
// events. The library reads answers with it; the gateway reads a class's
// allow-list with it, so that both read a name the same way.
package agentwire

import (
	"slices"
	"strings"
)

// Engine is how a request names what answers on the Agent API: a model or a
// preset, exactly one of the two.
type Engine struct {
	Model, Preset string
	// Search says the request must add the web_search tool: a bare model
	// does not search, a preset brings search with it.
	Search bool
}

// sonarEngines maps the retired Sonar model names to the Agent API,
// following Perplexity's migration guide.
var sonarEngines = map[string]Engine{
	"sonar":               {Model: "perplexity/sonar", Search: true},
	"sonar-pro":           {Preset: "low"},
	"sonar-reasoning":     {Preset: "low"},
	"sonar-reasoning-pro": {Preset: "low"},
	"sonar-deep-research": {Preset: "medium"},
}

// Presets are the Agent API's presets, as its reference names them.
var Presets = []string{"fast", "low", "medium", "high", "xhigh", "wide-research"}

// Sonar reports whether name is one of the retired Sonar model names
// (sonar, sonar-pro, ...), which Perplexity served on chat completions.
func Sonar(name string) bool {
	_, ok := sonarEngines[strings.ToLower(name)]
	return ok
}

// EngineFor is the engine a request for the model name asks: a Sonar name
// maps as Perplexity's migration guide says (e.g. "sonar" is model
// "perplexity/sonar", "sonar-pro" is preset "low"), a preset name is that
// preset, and any other name is sent unchanged as a model that searches.
func EngineFor(name string) Engine {
	if e, ok := sonarEngines[strings.ToLower(name)]; ok {
		return e
	}
	if slices.Contains(Presets, strings.ToLower(name)) {
		return Engine{Preset: strings.ToLower(name)}
	}
	return Engine{Model: name, Search: true}
}

// The event types a reader of an answer acts on.
const (
	TextDelta             = "response.output_text.delta"
	ReasoningDelta        = "response.reasoning_text.delta"
	ReasoningSummaryDelta = "response.reasoning_summary_text.delta"
	OutputItemAdded       = "response.output_item.added"
	OutputItemDone        = "response.output_item.done"
	Completed             = "response.completed"
	Incomplete            = "response.incomplete"
	Failed                = "response.failed"
	Cancelled             = "response.cancelled"
	ErrorEvent            = "error"
)

// Terminal reports whether an event of type t ends an answer.
func Terminal(t string) bool {
	switch t {
	case Completed, Incomplete, Failed, Cancelled, ErrorEvent:
		return true
	}
	return false
}

// Event holds the fields of every event an answer's reader uses.
type Event struct {
	Type     string    `json:"type"`
	Delta    string    `json:"delta"`
	Response *Response `json:"response"`
	Item     *Item     `json:"item"` // response.output_item.added and .done
	Error    *Error    `json:"error"`
	Message  string    `json:"message"`  // on a bare "error" event
	Code     any       `json:"code"`     // on a bare "error" event
	Results  []Result  `json:"results"`  // response.reasoning.search_results
	Contents []Result  `json:"contents"` // response.reasoning.fetch_url_results
}

// Response is the response object of the created, in_progress and terminal
// events, and the body of an answer asked for without streaming.
type Response struct {
	ID                string `json:"id"`
	CreatedAt         int64  `json:"created_at"` // Unix seconds
	Model             string `json:"model"`      // the preset at first, the model that ran at the end
	Status            string `json:"status"`
	Usage             *Usage `json:"usage"`
	Error             *Error `json:"error"`
	Output            []Item `json:"output"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
}

// Item is an output item: sources (search_results, fetch_url_results), a
// message (its output_text parts), or a function_call.
type Item struct {
	Type     string   `json:"type"`
	Results  []Result `json:"results"`
	Contents []Result `json:"contents"`
	Content  []struct {
		Type string `json:"type"` // output_text in a message
		Text string `json:"text"`
	} `json:"content"`
}

// Result is one search result or fetched page.
type Result struct {
	ID      any    `json:"id"` // an integer; a string in some servers; absent for fetched pages
	URL     string `json:"url"`
	Title   string `json:"title"`
	Snippet string `json:"snippet"`
	Date    string `json:"date"`
}

// Usage is an answer's token counts and cost.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	TotalTokens  int `json:"total_tokens"`
	Cost         *struct {
		TotalCost float64 `json:"total_cost"`
		Currency  string  `json:"currency"`
	} `json:"cost"`
}

// Error is a failure reported in an event or a response.
type Error struct {
	Message string `json:"message"`
	Code    any    `json:"code"`
	Type    string `json:"type"`
}
