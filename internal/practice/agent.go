package practice

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// agent serves POST /v1/agent (and its alias /v1/responses) as Perplexity's
// Agent API answers: the event sequence, items, ids and response object of
// the real capture in internal/capture.
func (s *Server) agent(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := Record{}
	defer func() { s.finish(r, rec, start) }()
	req, status, problem := decodeAgentRequest(r)
	if status != 0 {
		rec.Status = status
		writeError(w, status, problem)
		return
	}
	engine := req.Model
	if engine == "" && len(req.Models) > 0 {
		engine = req.Models[0]
	}
	rec.Model = cmp.Or(engine, "preset/"+req.Preset)
	if name, ok := strings.CutPrefix(engine, replayPrefix); ok {
		s.replay(w, r, &rec, name, req.Stream)
		return
	}
	system, question, words := "", "", 0
	if req.Instructions != nil {
		system, words = *req.Instructions, len(Tokens(*req.Instructions))
	}
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
	if status, ok := s.httpFault(w, fault, engine, agentAPI); ok {
		rec.Status = status
		return
	}
	sc := Choose(system, question)
	if engine == HostileModel {
		sc.Sources = HostileSources
	}
	id := fmt.Sprintf("%d", s.ids.Add(1))
	wr := &agentWire{id: id, req: req, asked: cmp.Or(engine, req.Preset), model: cmp.Or(engine, presetModel(req.Preset)),
		created: start.Unix(), search: req.searches(), question: question, limit: outputLimit(req.MaxOutputTokens)}
	if !req.Stream {
		s.answerWhole(w, r, &rec, sc, words, wr)
		return
	}
	s.stream(w, r, &rec, sc, fault, words, wr)
}

// outputLimit is max_output_tokens as the Agent API applies it: values
// under 16 are raised to 16; 0 means no limit.
func outputLimit(limit *int) int {
	if limit == nil {
		return 0
	}
	return max(*limit, 16)
}

type inputItem struct{ role, text string }

// inputItems reads the input field: a string, or a list of message items.
func inputItems(raw json.RawMessage) []inputItem {
	var input any
	json.Unmarshal(raw, &input)
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
