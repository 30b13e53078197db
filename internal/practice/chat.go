package practice

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// chatRequest is the part of a chat-completions request the server reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content any    `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// chat serves POST /v1/chat/completions as OpenAI streams it.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := Record{}
	defer func() { s.finish(r, rec, start) }()
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" || len(req.Messages) == 0 {
		rec.Status = http.StatusBadRequest
		writeError(w, rec.Status, `{"error":{"message":"The request needs a JSON body with model and messages.","type":"invalid_request_error","param":null,"code":null}}`)
		return
	}
	rec.Model = req.Model
	var system, question string
	var words int
	for _, m := range req.Messages {
		text := contentText(m.Content)
		words += len(Tokens(text))
		switch m.Role {
		case "system", "developer":
			system = text
		case "user":
			question = text
		}
	}
	fault := faultOf(req.Model)
	if status, ok := s.httpFault(w, fault, req.Model); ok {
		rec.Status = status
		return
	}
	wr := &chatWire{id: fmt.Sprintf("chatcmpl-practice-%d", s.ids.Add(1)), model: req.Model, created: start.Unix(),
		usage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage}
	if !req.Stream {
		s.answerWhole(w, r, &rec, Choose(system, question), words, wr)
		return
	}
	s.stream(w, r, &rec, Choose(system, question), fault, words, wr)
}

// contentText returns a message's text, whether a string or a list of parts.
func contentText(c any) string {
	switch v := c.(type) {
	case string:
		return v
	case []any:
		text := ""
		for _, p := range v {
			if m, ok := p.(map[string]any); ok {
				if t, ok := m["text"].(string); ok {
					text += t
				}
			}
		}
		return text
	}
	return ""
}

type chatWire struct {
	id, model string
	created   int64
	usage     bool // stream_options.include_usage was asked for
}

func (c *chatWire) chunk(out sse, delta, finish any, usage any) error {
	choices := []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}
	if delta == nil {
		choices = []any{}
	}
	b, _ := json.Marshal(map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created,
		"model": c.model, "system_fingerprint": "fp_practice", "choices": choices, "usage": usage})
	return out.data(string(b))
}

func (c *chatWire) begin(out sse, _ Script) error {
	return c.chunk(out, map[string]any{"role": "assistant", "content": ""}, nil, nil)
}

func (c *chatWire) token(out sse, text string) error {
	return c.chunk(out, map[string]any{"content": text}, nil, nil)
}

func (c *chatWire) end(out sse, _ Script, in, outTokens int) error {
	if err := c.chunk(out, map[string]any{}, "stop", nil); err != nil {
		return err
	}
	if c.usage {
		u := map[string]any{"prompt_tokens": in, "completion_tokens": outTokens, "total_tokens": in + outTokens}
		if err := c.chunk(out, nil, nil, u); err != nil {
			return err
		}
	}
	return out.data("[DONE]")
}

func (c *chatWire) fail(out sse, message string) error {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": message, "type": "server_error", "param": nil, "code": nil}})
	return out.data(string(b))
}

func (c *chatWire) whole(sc Script, in, out int) any {
	return map[string]any{"id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": sc.Text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}}
}
