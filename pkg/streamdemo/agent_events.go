package streamdemo

import (
	"fmt"
	"math"
	"strconv"

	"github.com/streamdemo/streamdemo/internal/agentwire"
)

// agentEvent is what the Agent API event a means.
func agentEvent(a agentwire.Event) event {
	ev := event{sources: append(agentSources(a.Results), agentSources(a.Contents)...)}
	if a.Item != nil && a.Type == agentwire.OutputItemDone {
		ev.sources = append(ev.sources, itemSources(*a.Item)...)
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
			ev.sources = append(ev.sources, itemSources(item)...)
		}
	}
	switch a.Type {
	case agentwire.TextDelta:
		ev.text = a.Delta
	case agentwire.ReasoningDelta, agentwire.ReasoningSummaryDelta:
		ev.reasoning = a.Delta
	case agentwire.Completed:
		ev.finish, ev.done = "stop", true
	case agentwire.Incomplete:
		ev.finish, ev.done = "incomplete", true
		if r := a.Response; r != nil && r.IncompleteDetails != nil {
			ev.finish = first(r.IncompleteDetails.Reason, ev.finish)
		}
		ev.err = &Error{Kind: ErrIncomplete, Message: ev.finish}
	case agentwire.Cancelled:
		ev.err = &Error{Kind: ErrServerCancelled, Message: agentFailure(a)}
	case agentwire.Failed, agentwire.ErrorEvent:
		ev.err = &Error{Kind: ErrFailed, Message: agentFailure(a)}
	}
	return ev
}

// itemSources are the sources of an output item: search results or fetched pages.
func itemSources(item agentwire.Item) []Source {
	switch item.Type {
	case "search_results", "fetch_url_results":
		return append(agentSources(item.Results), agentSources(item.Contents)...)
	}
	return nil
}

// agentSources are search results or fetched pages as Sources.
func agentSources(results []agentwire.Result) []Source {
	var out []Source
	for _, r := range results {
		out = append(out, Source{Number: sourceNumber(r.ID), Title: r.Title, URL: r.URL, Snippet: r.Snippet, Date: r.Date})
	}
	return out
}

// agentFailure finds the message of a failed, cancelled or error event.
func agentFailure(a agentwire.Event) string {
	switch {
	case a.Error != nil && a.Error.Message != "":
		return a.Error.Message
	case a.Response != nil && a.Response.Error != nil && a.Response.Error.Message != "":
		return a.Response.Error.Message
	case a.Message != "":
		return a.Message
	case a.Type == agentwire.Cancelled:
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
