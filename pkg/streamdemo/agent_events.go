package streamdemo

import (
	"fmt"
	"math"
	"strconv"
)

// agentEvent holds the fields of every Agent API event the package reads.
type agentEvent struct {
	Type     string         `json:"type"`
	Delta    string         `json:"delta"`
	Response *agentResponse `json:"response"`
	Item     *agentItem     `json:"item"` // response.output_item.added / .done
	Error    *agentError    `json:"error"`
	Message  string         `json:"message"`  // on a bare "error" event
	Code     any            `json:"code"`     // on a bare "error" event
	Results  []agentResult  `json:"results"`  // response.reasoning.search_results
	Contents []agentResult  `json:"contents"` // response.reasoning.fetch_url_results
}

// agentResponse is the response object of created, in_progress and the
// terminal events, and the body of a non-streamed answer.
type agentResponse struct {
	Model             string      `json:"model"` // the preset at first, the model that ran at the end
	Status            string      `json:"status"`
	Usage             *agentUsage `json:"usage"`
	Error             *agentError `json:"error"`
	Output            []agentItem `json:"output"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
}

// agentItem is an output item: sources, or (in a whole answer) the message.
type agentItem struct {
	Type     string        `json:"type"` // search_results, fetch_url_results, message, function_call...
	Results  []agentResult `json:"results"`
	Contents []agentResult `json:"contents"`
	Content  []struct {
		Type string `json:"type"` // output_text in a message
		Text string `json:"text"`
	} `json:"content"`
}

// agentResult is one search result or fetched page.
type agentResult struct {
	ID      any    `json:"id"` // an integer; tolerate a string; absent for fetched pages
	URL     string `json:"url"`
	Title   string `json:"title"`
	Snippet string `json:"snippet"`
	Date    string `json:"date"`
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

// event is what the Agent API event a means.
func (a agentEvent) event() event {
	ev := event{sources: append(agentSources(a.Results), agentSources(a.Contents)...)}
	if a.Item != nil && a.Type == "response.output_item.done" {
		ev.sources = append(ev.sources, a.Item.sources()...)
	}
	if r := a.Response; r != nil {
		ev.model = r.Model
		if u := r.Usage; u != nil {
			ev.usage = &Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens}
			if u.Cost != nil {
				ev.usage.Cost, ev.usage.Currency = u.Cost.TotalCost, first(u.Cost.Currency, "USD")
			}
		}
		for _, item := range r.Output {
			ev.sources = append(ev.sources, item.sources()...)
		}
	}
	switch a.Type {
	case "response.output_text.delta":
		ev.text = a.Delta
	case "response.reasoning_text.delta", "response.reasoning_summary_text.delta":
		ev.reasoning = a.Delta
	case "response.completed":
		ev.finish, ev.done = "stop", true
	case "response.incomplete":
		ev.finish, ev.done = "incomplete", true
		if r := a.Response; r != nil && r.IncompleteDetails != nil {
			ev.finish = first(r.IncompleteDetails.Reason, ev.finish)
		}
		ev.err = &Error{Kind: ErrIncomplete, Message: ev.finish}
	case "response.cancelled":
		ev.err = &Error{Kind: ErrServerCancelled, Message: a.failure()}
	case "response.failed", "error":
		ev.err = &Error{Kind: ErrFailed, Message: a.failure()}
	}
	return ev
}

// sources are the sources of an output item: search results or fetched pages.
func (item agentItem) sources() []Source {
	switch item.Type {
	case "search_results", "fetch_url_results":
		return append(agentSources(item.Results), agentSources(item.Contents)...)
	}
	return nil
}

// agentSources are search results or fetched pages as Sources.
func agentSources(results []agentResult) []Source {
	var out []Source
	for _, r := range results {
		out = append(out, Source{Number: sourceNumber(r.ID), Title: r.Title, URL: r.URL, Snippet: r.Snippet, Date: r.Date})
	}
	return out
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
		return ""
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
