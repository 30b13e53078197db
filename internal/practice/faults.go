package practice

import (
	"fmt"
	"net/http"
	"strings"
)

// Faults lists the fault models a request can name, e.g. model "fault/429".
// "cancelled" and "error" end an Agent API stream with response.cancelled
// and a bare error event. An Agent API request whose max_output_tokens is
// below what the answer needs ends with response.incomplete.
var Faults = []string{"401", "403", "404", "429", "500", "drop", "malformed", "stall", "failed", "cancelled", "error"}

// Flaky faults fail every other request with that model and answer the
// others, to show retries: "fault/flaky-429" and "fault/flaky-500".
const flakyPrefix = "flaky-"

// FaultAfter is how many text chunks a mid-stream fault sends first.
const FaultAfter = 6

// RetryAfterSeconds is the Retry-After that fault/429 sends.
const RetryAfterSeconds = 2

// faultOf returns the fault a model name asks for, or "".
func faultOf(model string) string {
	name, ok := strings.CutPrefix(model, "fault/")
	if !ok {
		return ""
	}
	return name
}

// apiError is one HTTP error as an API answers it.
type apiError struct {
	status      int
	typ, code   string // code: the chat shape's string code, "" for null
	message     string
	retryHeader bool
}

// api says whose errors to answer with.
type api int

const (
	agentAPI api = iota // Perplexity's Agent API
	chatAPI             // OpenAI chat completions
)

// body is the error body in the API's own shape.
func (a api) body(e apiError) string {
	if a == chatAPI {
		return chatErrorBody(e)
	}
	return agentErrorBody(e.status, e.typ, e.message, "")
}

// httpFault answers the faults that fail before streaming, in the endpoint's
// own error shape; it reports whether it did.
func (s *Server) httpFault(w http.ResponseWriter, fault, model string, a api) (int, bool) {
	if name, ok := strings.CutPrefix(fault, flakyPrefix); ok {
		s.mu.Lock()
		s.flaky[model]++
		odd := s.flaky[model]%2 == 1
		s.mu.Unlock()
		if !odd {
			return 0, false
		}
		fault = name
	}
	e, ok := faultError(a, fault, model)
	if !ok {
		return 0, false
	}
	if e.retryHeader {
		w.Header().Set("Retry-After", fmt.Sprint(RetryAfterSeconds))
		w.Header().Set("X-RateLimit-Limit", "50")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", fmt.Sprint(RetryAfterSeconds))
		w.Header().Set("X-RateLimit-Used", "50")
	}
	writeError(w, e.status, a.body(e))
	return e.status, true
}

// faultErrors are the errors each HTTP fault answers, the Agent API's and
// chat completions' side by side. The Agent API's 401 and 403 are forbidden,
// an unknown model is a 400 invalid_model (fault/404 stands for it: 404 is
// only for an unknown response id), 5xx internal_error. A message's %s or
// %q is the model asked for.
var faultErrors = map[string][2]apiError{ // [agentAPI], [chatAPI]
	"401": {{401, "forbidden", "", "Invalid API key provided. Ensure your API key is correct and active.", false},
		{401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided. You can find your API key in your account settings.", false}},
	"403": {{403, "forbidden", "", "Your API key does not have access to this resource.", false},
		{403, "invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported.", false}},
	"404": {{400, "invalid_model", "", "invalid model %q", false},
		{404, "invalid_request_error", "model_not_found", "The model `%s` does not exist or you do not have access to it.", false}},
	"429": {{429, "request_rate_limit_exceeded", "", "Rate limit exceeded. Please slow down.", true},
		{429, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 2s.", true}},
	"500": {{500, "internal_error", "", "Internal server error.", false},
		{500, "server_error", "", "The server had an error while processing your request. Sorry about that!", false}},
}

// faultError is the error fault answers in a's shape, for model.
func faultError(a api, fault, model string) (apiError, bool) {
	pair, ok := faultErrors[fault]
	e := pair[a]
	if strings.Contains(e.message, "%") {
		e.message = fmt.Sprintf(e.message, model)
	}
	return e, ok
}
