package practice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"
)

// agentFields are the request fields the Agent API accepts; any other is a 400.
var agentFields = map[string]bool{"input": true, "instructions": true, "model": true, "models": true, "preset": true,
	"stream": true, "max_output_tokens": true, "tools": true, "reasoning": true, "response_format": true, "language_preference": true}

type agentRequest struct {
	Input        any      `json:"input"`
	Instructions string   `json:"instructions"`
	Model        string   `json:"model"`
	Models       []string `json:"models"`
	Preset       string   `json:"preset"`
	Stream       bool     `json:"stream"`
	Tools        []struct {
		Type string `json:"type"`
	} `json:"tools"`
}

// agent serves POST /v1/responses as Perplexity's Agent API streams it.
func (s *Server) agent(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := Record{}
	defer func() { s.finish(r, rec, start) }()
	req, problem := decodeAgentRequest(r)
	if problem != "" {
		rec.Status = http.StatusBadRequest
		writeError(w, rec.Status, problem)
		return
	}
	engine := req.Model
	if engine == "" && len(req.Models) > 0 {
		engine = req.Models[0]
	}
	rec.Model = first(engine, "preset/"+req.Preset)
	system, question, words := req.Instructions, "", len(Tokens(req.Instructions))
	for _, item := range inputItems(req.Input) {
		words += len(Tokens(item.text))
		switch item.role {
		case "system", "developer":
			system = item.text
		case "user":
			question = item.text
		}
	}
	fault := faultOf(engine)
	if status, ok := s.httpFault(w, fault, engine); ok {
		rec.Status = status
		return
	}
	search := req.Preset != ""
	for _, t := range req.Tools {
		search = search || t.Type == "web_search"
	}
	model := engine
	if model == "" {
		model = "practice/" + req.Preset
	}
	wr := &agentWire{id: fmt.Sprintf("resp_practice_%d", s.ids.Add(1)), model: model, created: start.Unix(), search: search, question: question}
	if !req.Stream {
		s.answerWhole(w, r, &rec, Choose(system, question), words, wr)
		return
	}
	sc := Choose(system, question)
	if engine == HostileModel {
		sc.Sources = HostileSources
	}
	s.stream(w, r, &rec, sc, fault, words, wr)
}

func decodeAgentRequest(r *http.Request) (agentRequest, string) {
	var req agentRequest
	var raw map[string]json.RawMessage
	body := new(bytes.Buffer)
	body.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := json.Unmarshal(body.Bytes(), &raw); err != nil {
		return req, invalid("invalid request body: "+err.Error(), "")
	}
	for k := range raw {
		if !agentFields[k] {
			return req, invalid(fmt.Sprintf("invalid request body: json: unknown field %q", k), k)
		}
	}
	if err := json.Unmarshal(body.Bytes(), &req); err != nil {
		return req, invalid("invalid request body: "+err.Error(), "")
	}
	engines := 0
	for _, set := range []bool{req.Model != "", len(req.Models) > 0, req.Preset != ""} {
		if set {
			engines++
		}
	}
	if engines != 1 {
		return req, invalid("exactly one of model, models or preset is required", "model")
	}
	return req, ""
}

func invalid(message, param string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": message, "type": "invalid_request", "code": 400, "param": param}})
	return string(b)
}

type inputItem struct{ role, text string }

// inputItems reads the input field: a string, or a list of message items.
func inputItems(input any) []inputItem {
	switch v := input.(type) {
	case string:
		return []inputItem{{"user", v}}
	case []any:
		var items []inputItem
		for _, it := range v {
			if m, ok := it.(map[string]any); ok {
				role, _ := m["role"].(string)
				items = append(items, inputItem{role, contentText(m["content"])})
			}
		}
		return items
	}
	return nil
}

// agentWire writes Agent API events: data-only lines, no [DONE].
type agentWire struct {
	id, model, question string
	created             int64
	search              bool
	seq                 int
	text                []byte
}

func (a *agentWire) send(out sse, typ string, fields map[string]any) error {
	fields["type"], fields["sequence_number"] = typ, a.seq
	a.seq++
	b, _ := json.Marshal(fields)
	return out.data(string(b))
}

func (a *agentWire) response(status string, output []any, usage, errObj any) map[string]any {
	return map[string]any{"id": a.id, "object": "response", "created_at": a.created, "model": a.model,
		"status": status, "output": output, "usage": usage, "error": errObj}
}

func (a *agentWire) item(status string) map[string]any {
	content := []any{}
	if status == "completed" {
		content = []any{map[string]any{"type": "output_text", "text": string(a.text), "annotations": []any{}}}
	}
	return map[string]any{"id": "msg_" + a.id, "type": "message", "role": "assistant", "status": status, "content": content}
}

type step struct {
	typ    string
	fields map[string]any
}

func (a *agentWire) begin(out sse, sc Script) error {
	steps := []step{
		{"response.created", map[string]any{"response": a.response("in_progress", []any{}, nil, nil)}},
		{"response.in_progress", map[string]any{"response": a.response("in_progress", []any{}, nil, nil)}},
	}
	if a.search {
		results := []any{}
		for _, src := range sc.Sources {
			results = append(results, map[string]any{"id": src.Number, "url": src.URL, "title": src.Title, "snippet": src.Snippet, "date": src.Date})
		}
		steps = append(steps,
			step{"response.reasoning.search_queries", map[string]any{"queries": []string{a.question}, "thought": "Searching the web"}},
			step{"response.reasoning.search_results", map[string]any{"results": results, "thought": nil}})
	}
	steps = append(steps, step{"response.output_item.added", map[string]any{"output_index": 0, "item": a.item("in_progress")}})
	for _, st := range steps {
		if err := a.send(out, st.typ, st.fields); err != nil {
			return err
		}
	}
	return nil
}

func (a *agentWire) token(out sse, text string) error {
	a.text = append(a.text, text...)
	return a.send(out, "response.output_text.delta", map[string]any{"item_id": "msg_" + a.id, "output_index": 0, "content_index": 0, "delta": text})
}

func (a *agentWire) end(out sse, _ Script, in, outTokens int) error {
	if err := a.send(out, "response.output_text.done", map[string]any{"item_id": "msg_" + a.id, "output_index": 0, "content_index": 0, "text": string(a.text)}); err != nil {
		return err
	}
	if err := a.send(out, "response.output_item.done", map[string]any{"output_index": 0, "item": a.item("completed")}); err != nil {
		return err
	}
	usage := a.usage(in, outTokens)
	return a.send(out, "response.completed", map[string]any{"response": a.response("completed", []any{a.item("completed")}, usage, nil)})
}

func (a *agentWire) fail(out sse, message string) error {
	errObj := map[string]any{"message": message, "code": "server_error", "type": "server_error"}
	return a.send(out, "response.failed", map[string]any{"error": errObj, "response": a.response("failed", []any{}, nil, errObj)})
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func (a *agentWire) usage(in, out int) map[string]any {
	inCost, outCost, toolCost := float64(in)*1e-6, float64(out)*1e-6, 0.0
	if a.search {
		toolCost = 0.005
	}
	return map[string]any{"input_tokens": in, "output_tokens": out, "total_tokens": in + out,
		"cost": map[string]any{"input_cost": round6(inCost), "output_cost": round6(outCost), "tool_calls_cost": toolCost,
			"total_cost": round6(inCost + outCost + toolCost), "currency": "USD"}}
}

func (a *agentWire) whole(sc Script, in, out int) any {
	a.text = []byte(sc.Text)
	return a.response("completed", []any{a.item("completed")}, a.usage(in, out), nil)
}
