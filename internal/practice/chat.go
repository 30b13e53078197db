package practice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/agentwire"
	"github.com/streamdemo/streamdemo/internal/localmodel"
	"github.com/streamdemo/streamdemo/internal/sizes"
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

// chatFields are the request fields OpenAI's chat completions accept.
var chatFields = map[string]bool{"messages": true, "model": true, "audio": true, "frequency_penalty": true,
	"function_call": true, "functions": true, "logit_bias": true, "logprobs": true, "max_completion_tokens": true,
	"max_tokens": true, "metadata": true, "modalities": true, "n": true, "parallel_tool_calls": true,
	"prediction": true, "presence_penalty": true, "prompt_cache_key": true, "reasoning_effort": true,
	"response_format": true, "safety_identifier": true, "seed": true, "service_tier": true, "stop": true,
	"store": true, "stream": true, "stream_options": true, "temperature": true, "tool_choice": true, "tools": true,
	"top_logprobs": true, "top_p": true, "user": true, "verbosity": true, "web_search_options": true}

// ChatModels are the models the chat endpoint knows (besides fault/, test/
// and practice/length-N models); a model of Perplexity's is the retired
// endpoint's 403 (perplexityModel), any other is 404 model_not_found, as
// OpenAI answers.
var ChatModels = []string{"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "llama3", "llama3.2", "qwen2.5", localmodel.Name}

// perplexityModel reports whether a chat request for model is one
// Perplexity would have served: a Sonar name, a preset, one of the Agent
// API's models or the recording of a real Perplexity stream. The server
// stands in for Perplexity there, and Perplexity retired chat completions.
func perplexityModel(model string) bool {
	_, preset := presetModels[strings.ToLower(model)]
	return agentwire.Sonar(model) || preset || strings.HasPrefix(model, replayPrefix) || slices.Contains(AgentModels, model)
}

// chatErrorBody is OpenAI's error shape: type, param and a string code or null.
func chatErrorBody(e apiError) string {
	var code any
	if e.code != "" {
		code = e.code
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": e.message, "type": e.typ, "param": nil, "code": code}})
	return string(b)
}

// chat serves POST /v1/chat/completions as OpenAI streams it, and as
// Perplexity answers it today for a model of Perplexity's: the retired
// endpoint's 403.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := Record{}
	defer func() { s.finish(r, rec, start) }()
	req, problem := decodeChatRequest(r)
	if problem.status == http.StatusForbidden {
		rec.Model, rec.Status = req.Model, problem.status
		writeError(w, rec.Status, sonarRetiredBody)
		return
	}
	if problem.status != 0 {
		rec.Status = problem.status
		writeError(w, rec.Status, chatErrorBody(problem))
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
	if status, ok := s.httpFault(w, fault, req.Model, chatAPI); ok {
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

func decodeChatRequest(r *http.Request) (chatRequest, apiError) {
	var req chatRequest
	var raw map[string]json.RawMessage
	body := new(bytes.Buffer)
	body.ReadFrom(http.MaxBytesReader(nil, r.Body, sizes.MaxRequest))
	bad := func(msg string) apiError { return apiError{status: 400, typ: "invalid_request_error", message: msg} }
	if err := json.Unmarshal(body.Bytes(), &raw); err != nil {
		return req, bad("We could not parse the JSON body of your request.")
	}
	if json.Unmarshal(raw["model"], &req.Model) == nil && perplexityModel(req.Model) {
		return req, apiError{status: http.StatusForbidden} // before any other check, as Perplexity's 403 comes
	}
	for k := range raw {
		if !chatFields[k] {
			return req, bad("Unrecognized request argument supplied: " + k)
		}
	}
	if err := json.Unmarshal(body.Bytes(), &req); err != nil || req.Model == "" || len(req.Messages) == 0 {
		return req, bad("The request needs a JSON body with model and messages.")
	}
	_, sized := lengthOf(req.Model)
	known := strings.HasPrefix(req.Model, "fault/") || strings.HasPrefix(req.Model, "test/") || sized
	for _, m := range ChatModels {
		known = known || m == req.Model
	}
	if !known {
		e, _ := faultError(chatAPI, "404", req.Model)
		return req, e
	}
	return req, apiError{}
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

func (c *chatWire) chunkJSON(delta, finish any, usage any) string {
	choices := []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}
	if delta == nil {
		choices = []any{}
	}
	b, _ := json.Marshal(map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created,
		"model": c.model, "system_fingerprint": "fp_practice", "choices": choices, "usage": usage})
	return string(b)
}

func (c *chatWire) chunk(out sse, delta, finish any, usage any) error {
	return out.data(c.chunkJSON(delta, finish, usage))
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

// fail sends the error object OpenAI-compatible servers put in a stream.
func (c *chatWire) fail(out sse, _ string) error {
	return out.data(chatErrorBody(apiError{typ: "server_error", message: "The model failed while generating the answer."}))
}

// cut is a chat chunk cut off mid-JSON.
func (c *chatWire) cut() string {
	full := c.chunkJSON(map[string]any{"content": " unfinished"}, nil, nil)
	return full[:strings.Index(full, "unfinished")+len("unfin")]
}

func (c *chatWire) whole(sc Script, in, out int) any {
	return map[string]any{"id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": sc.Text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}}
}
