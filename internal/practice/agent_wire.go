package practice

import (
	"encoding/json"
	"math"
)

// agentWire writes Agent API events as the real capture shows them:
// data-only lines, no [DONE], sequence numbers with gaps, the search call at
// output index 0 and the message after it.
type agentWire struct {
	id, asked, model, question string
	req                        agentRequest
	created                    int64
	search                     bool
	limit                      int // max_output_tokens; 0 for none
	seq                        int
	text                       []byte
	outTokens                  int
}

func (a *agentWire) send(out sse, typ string, fields map[string]any) error {
	fields["type"], fields["sequence_number"] = typ, a.seq
	a.seq++
	b, _ := json.Marshal(fields)
	return out.data(string(b))
}

// skip leaves a sequence number unused, as the real stream does (2 and 41
// never arrive): clients must not assume the numbers follow each other.
func (a *agentWire) skip() { a.seq++ }

func (a *agentWire) callID() string { return "call_practice-" + a.id }
func (a *agentWire) msgID() string  { return "msg_practice-" + a.id }

// msgIndex is the message's output index: after the search item, if any.
func (a *agentWire) msgIndex() int {
	if a.search {
		return 1
	}
	return 0
}
func (a *agentWire) respID() string    { return "resp_practice-" + a.id }
func (a *agentWire) queries() []string { return []string{a.question} }

// response is the response object with the 32 keys of the real one, the
// request's settings echoed. model is the preset or model asked for until
// the answer ends, then the model that ran.
func (a *agentWire) response(status, model string, output []any, usage, errObj any) map[string]any {
	r := a.req
	tools := []any{}
	for _, t := range r.Tools {
		tools = append(tools, t)
	}
	if r.Preset != "" && len(tools) == 0 {
		tools = []any{map[string]any{"type": "web_search"}}
	}
	var completedAt, incomplete any
	switch status {
	case "completed":
		completedAt = a.created
	case "incomplete":
		incomplete = map[string]any{"reason": "max_output_tokens"}
	}
	var maxOut any
	if r.MaxOutputTokens != nil {
		maxOut = a.limit
	}
	metadata := map[string]string{}
	if r.Metadata != nil {
		metadata = r.Metadata
	}
	toolChoice := any("auto")
	if len(r.ToolChoice) > 0 {
		toolChoice = r.ToolChoice
	}
	return map[string]any{
		"background": r.Background != nil && *r.Background, "completed_at": completedAt, "created_at": a.created,
		"error": errObj, "frequency_penalty": 0, "id": a.respID(), "incomplete_details": incomplete,
		"instructions": r.Instructions, "max_output_tokens": maxOut, "max_tool_calls": r.MaxToolCalls,
		"metadata": metadata, "model": model, "object": "response", "output": output,
		"parallel_tool_calls": r.ParallelToolCalls == nil || *r.ParallelToolCalls, "presence_penalty": 0,
		"previous_response_id": r.PreviousResponseID, "prompt_cache_key": nil, "reasoning": r.Reasoning,
		"safety_identifier": nil, "service_tier": "default", "status": status, "store": r.Store != nil && *r.Store,
		"temperature": orOne(r.Temperature), "text": map[string]any{"format": map[string]any{"type": "text"}},
		"tool_choice": toolChoice, "tools": tools, "top_logprobs": 0, "top_p": orOne(r.TopP),
		"truncation": r.Truncation, "usage": usage, "user": nil,
	}
}

func orOne(v *float64) float64 {
	if v == nil {
		return 1
	}
	return *v
}

// results are the script's sources as search results.
func (a *agentWire) results(sc Script) []any {
	results := []any{}
	for _, src := range sc.Sources {
		r := map[string]any{"id": src.Number, "url": src.URL, "title": src.Title, "snippet": src.Snippet,
			"source": "web", "last_updated": "2026-09-25"}
		if src.Date != "" {
			r["date"] = src.Date
		}
		results = append(results, r)
	}
	return results
}

func (a *agentWire) searchItem(sc Script) map[string]any {
	return map[string]any{"type": "search_results", "queries": a.queries(), "results": a.results(sc)}
}

// message is the message item: content null while it streams.
func (a *agentWire) message(done bool) map[string]any {
	var content any
	if done {
		content = []any{map[string]any{"type": "output_text", "text": string(a.text), "annotations": []any{}}}
	}
	return map[string]any{"id": a.msgID(), "type": "message", "role": "assistant", "status": "completed", "content": content}
}

// output is the finished response's output: the search results, then the message.
func (a *agentWire) output(sc Script) []any {
	if a.search {
		return []any{a.searchItem(sc), a.message(true)}
	}
	return []any{a.message(true)}
}

func (a *agentWire) begin(out sse, sc Script) error {
	steps := []step{
		{"response.created", map[string]any{"response": a.response("in_progress", a.asked, []any{}, nil, nil)}},
		{"response.in_progress", map[string]any{"response": a.response("in_progress", a.asked, []any{}, nil, nil)}},
		{},
	}
	if a.search {
		args, _ := json.Marshal(map[string]any{"queries": a.queries()})
		call := map[string]any{"type": "function_call", "id": "fc_practice-" + a.id, "call_id": a.callID(),
			"name": "search_web", "arguments": string(args), "status": "completed"}
		results := a.results(sc)
		steps = append(steps,
			step{"response.output_item.added", map[string]any{"output_index": 0, "item": call}},
			step{"response.reasoning.search_queries", map[string]any{"call_id": a.callID(), "queries": a.queries(), "thought": "Searching the web..."}},
			step{"response.reasoning.search_results", map[string]any{"call_id": a.callID(), "results": results, "thought": "Found " + itoa(len(results)) + " results"}},
			step{"response.output_item.done", map[string]any{"output_index": 0, "item": a.searchItem(sc)}})
	}
	steps = append(steps, step{"response.output_item.added", map[string]any{"output_index": a.msgIndex(), "item": a.message(false)}})
	return a.sendAll(out, steps)
}

type step struct {
	typ    string
	fields map[string]any
}

// sendAll sends the steps in order; an empty step is a gap in the numbering.
func (a *agentWire) sendAll(out sse, steps []step) error {
	for _, st := range steps {
		if st.typ == "" {
			a.skip()
			continue
		}
		if err := a.send(out, st.typ, st.fields); err != nil {
			return err
		}
	}
	return nil
}

// token sends one delta; past max_output_tokens it reports errLimit.
func (a *agentWire) token(out sse, text string) error {
	if a.limit > 0 && a.outTokens >= a.limit {
		return errLimit
	}
	a.text = append(a.text, text...)
	a.outTokens++
	return a.send(out, "response.output_text.delta", map[string]any{"item_id": a.msgID(), "output_index": a.msgIndex(), "content_index": 0, "delta": text})
}

// end closes the message and sends the terminal event: response.completed,
// or response.incomplete when max_output_tokens cut the answer.
func (a *agentWire) end(out sse, sc Script, in, _ int) error {
	status, terminal := "completed", "response.completed"
	if a.limit > 0 && a.outTokens < len(Tokens(sc.Text)) {
		status, terminal = "incomplete", "response.incomplete"
	}
	return a.sendAll(out, []step{
		{},
		{"response.output_text.done", map[string]any{"item_id": a.msgID(), "output_index": a.msgIndex(), "content_index": 0, "text": string(a.text)}},
		{"response.output_item.done", map[string]any{"output_index": a.msgIndex(), "item": a.message(true)}},
		{terminal, map[string]any{"response": a.response(status, a.model, a.output(sc), a.usage(in, a.outTokens), nil)}},
	})
}

// fail ends the stream as the fault asks: response.failed,
// response.cancelled (both HTTP 200 with the response's error filled in) or
// a bare error event.
func (a *agentWire) fail(out sse, fault string) error {
	switch fault {
	case "cancelled":
		errObj := map[string]any{"code": "cancelled", "message": "The response was cancelled before it finished."}
		return a.send(out, "response.cancelled", map[string]any{"response": a.response("cancelled", a.model, []any{}, nil, errObj)})
	case "error":
		return a.send(out, "error", map[string]any{"code": "internal_error", "message": "The stream failed: upstream connection lost.", "param": nil})
	}
	errObj := map[string]any{"code": "internal_error", "type": "internal_error", "message": "The model failed while generating the answer."}
	return a.send(out, "response.failed", map[string]any{"error": errObj, "response": a.response("failed", a.model, []any{}, nil, errObj)})
}

// cut is an event cut off mid-JSON.
func (a *agentWire) cut() string {
	return `{"content_index":0,"delta":"unfinished`
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// usage has the keys of the real usage object; total_cost is the sum of its parts.
func (a *agentWire) usage(in, out int) map[string]any {
	inCost, outCost, toolCost := round6(float64(in)*1e-6), round6(float64(out)*1e-6), 0.0
	toolDetails, costDetails := map[string]any{}, map[string]any{}
	if a.search {
		toolCost = 0.005
		toolDetails["search_web"] = map[string]any{"cost_usd": toolCost, "invocation": 1}
		costDetails["search_web"] = toolCost
	}
	return map[string]any{"input_tokens": in, "output_tokens": out, "total_tokens": in + out,
		"input_tokens_details":  map[string]any{"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "cached_tokens": 0},
		"output_tokens_details": map[string]any{"reasoning_tokens": 0},
		"tool_calls_details":    toolDetails,
		"cost": map[string]any{"cache_read_cost": 0, "currency": "USD", "input_cost": inCost, "output_cost": outCost,
			"tool_calls_cost": toolCost, "tool_calls_cost_details": costDetails, "total_cost": round6(inCost + outCost + toolCost)}}
}

// whole is the non-streamed answer: the finished response object.
func (a *agentWire) whole(sc Script, in, _ int) any {
	tokens := Tokens(sc.Text)
	status := "completed"
	if a.limit > 0 && a.limit < len(tokens) {
		tokens, status = tokens[:a.limit], "incomplete"
	}
	for _, t := range tokens {
		a.text = append(a.text, t...)
	}
	return a.response(status, a.model, a.output(sc), a.usage(in, len(tokens)), nil)
}
