package practice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/streamdemo/streamdemo/internal/sizes"
)

// agentRequest is every request field the Agent API documents; decoding
// refuses any other field, top-level or nested, as the real API does.
type agentRequest struct {
	Input             json.RawMessage `json:"input"`
	Instructions      *string         `json:"instructions"`
	Model             string          `json:"model"`
	Models            []string        `json:"models"`
	Preset            string          `json:"preset"`
	Stream            bool            `json:"stream"`
	StreamOptions     *streamOptions  `json:"stream_options"`
	MaxOutputTokens   *int            `json:"max_output_tokens"`
	Temperature       *float64        `json:"temperature"`
	TopP              *float64        `json:"top_p"`
	Tools             []agentTool     `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	Reasoning         *struct {
		Effort string `json:"effort"`
	} `json:"reasoning"`
	ResponseFormat     json.RawMessage   `json:"response_format"`
	LanguagePreference string            `json:"language_preference"`
	MaxSteps           *int              `json:"max_steps"`
	MaxToolCalls       *int              `json:"max_tool_calls"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Background         *bool             `json:"background"`
	Metadata           map[string]string `json:"metadata"`
	Store              *bool             `json:"store"`
	Truncation         string            `json:"truncation"`
	// Text is echoed in responses, but OpenAI's text.format is refused
	// (unknown field "format"): the real API has the field and nothing in it.
	Text *struct{} `json:"text"`
}

type streamOptions struct {
	IncludeUsage *bool `json:"include_usage"`
}

// agentTool is a tool object: web_search and its options, fetch_url, or a
// function; search filters live under filters. Responses echo it as sent.
type agentTool struct {
	Type    string `json:"type"`
	Filters *struct {
		SearchDomainFilter      []string `json:"search_domain_filter,omitempty"`
		SearchRecencyFilter     string   `json:"search_recency_filter,omitempty"`
		SearchAfterDateFilter   string   `json:"search_after_date_filter,omitempty"`
		SearchBeforeDateFilter  string   `json:"search_before_date_filter,omitempty"`
		LastUpdatedAfterFilter  string   `json:"last_updated_after_filter,omitempty"`
		LastUpdatedBeforeFilter string   `json:"last_updated_before_filter,omitempty"`
	} `json:"filters,omitempty"`
	SearchContextSize string `json:"search_context_size,omitempty"`
	UserLocation      *struct {
		Latitude  *float64 `json:"latitude,omitempty"`
		Longitude *float64 `json:"longitude,omitempty"`
		Country   string   `json:"country,omitempty"`
		Region    string   `json:"region,omitempty"`
		City      string   `json:"city,omitempty"`
	} `json:"user_location,omitempty"`
	MaxResults        *int            `json:"max_results,omitempty"`
	MaxTokens         *int            `json:"max_tokens,omitempty"`
	MaxTokensPerPage  *int            `json:"max_tokens_per_page,omitempty"`
	MaxURLs           *int            `json:"max_urls,omitempty"`
	TotalBudgetTokens *int            `json:"total_budget_tokens,omitempty"`
	Name              string          `json:"name,omitempty"`
	Description       string          `json:"description,omitempty"`
	Parameters        json.RawMessage `json:"parameters,omitempty"`
	Strict            *bool           `json:"strict,omitempty"`
}

// modelSlug is the provider/model form every Agent API model name has.
var modelSlug = regexp.MustCompile(`^[a-z0-9-]+/[A-Za-z0-9._:-]+$`)

var unknownField = regexp.MustCompile(`^json: unknown field "(.*)"$`)

// decodeAgentRequest reads and checks a request as the Agent API does; on a
// problem it returns the status and the error body to answer.
func decodeAgentRequest(r *http.Request) (agentRequest, int, string) {
	var req agentRequest
	body := new(bytes.Buffer)
	if _, err := body.ReadFrom(http.MaxBytesReader(nil, r.Body, sizes.MaxRequest)); err != nil {
		return req, 413, agentErrorBody(413, "payload_too_large", "request body too large", "")
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		param := ""
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
			param = m[1]
		}
		return req, 400, agentErrorBody(400, "invalid_request", "invalid request body: "+err.Error(), param)
	}
	if len(req.Input) == 0 || string(req.Input) == "null" {
		return req, 400, agentErrorBody(400, "invalid_request", "input is required", "input")
	}
	if !validInput(req.Input) {
		return req, 400, agentErrorBody(400, "invalid_request", "invalid request body: input must be a string or a list of input items", "input")
	}
	engines := 0
	for _, set := range []bool{req.Model != "", len(req.Models) > 0, req.Preset != ""} {
		if set {
			engines++
		}
	}
	switch {
	case engines != 1:
		return req, 400, agentErrorBody(400, "invalid_request", "exactly one of model, models or preset is required", "model")
	case len(req.Models) > 5:
		return req, 400, agentErrorBody(400, "invalid_request", "models accepts at most 5 entries", "models")
	case req.Preset != "" && presetModel(req.Preset) == "":
		return req, 400, agentErrorBody(400, "invalid_request", fmt.Sprintf("unknown preset %q", req.Preset), "preset")
	}
	for _, m := range append([]string{req.Model}, req.Models...) {
		switch {
		case m == "":
		case !modelSlug.MatchString(m):
			return req, 400, agentErrorBody(400, "invalid_model", fmt.Sprintf("invalid model %q: use a provider/model slug such as perplexity/sonar, or a preset", m), "model")
		case !agentModelKnown(m):
			return req, 400, agentErrorBody(400, "invalid_model", fmt.Sprintf("model %q is not available: GET /v1/models lists the models", m), "model")
		}
	}
	return req, 0, ""
}

// validInput reports whether input has a type the Agent API takes: a
// string, or a list of items, each an object whose content (if any) is a
// string or a list of parts.
func validInput(raw json.RawMessage) bool {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return true
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return false
	}
	for _, it := range items {
		if it == nil {
			return false
		}
		if c, ok := it["content"]; ok {
			var parts []map[string]any
			if json.Unmarshal(c, &text) != nil && json.Unmarshal(c, &parts) != nil {
				return false
			}
		}
	}
	return true
}

// searches reports whether the answer searches the web: presets bring web
// search with them; with a model, offering the tool lets the model decide,
// and the practice server, like a model that judged it needless, then does
// not search unless tool_choice demands it.
func (req agentRequest) searches() bool {
	if req.Preset != "" {
		return true
	}
	offered := false
	for _, t := range req.Tools {
		offered = offered || t.Type == "web_search"
	}
	choice := strings.ReplaceAll(string(req.ToolChoice), " ", "")
	return offered && (choice == `"required"` || choice == `{"type":"web_search"}` || choice == `{"type":"required"}`)
}

// agentErrorBody is the Agent API's error envelope.
func agentErrorBody(status int, typ, message, param string) string {
	e := map[string]any{"message": message, "type": typ, "code": status}
	if param != "" {
		e["param"] = param
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}
