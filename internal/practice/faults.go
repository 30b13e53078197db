package practice

import (
	"fmt"
	"net/http"
	"strings"
)

// Faults lists the fault models a request can name, e.g. model "fault/429".
var Faults = []string{"401", "403", "404", "429", "500", "drop", "malformed", "stall", "failed"}

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

// httpFault answers the faults that fail before streaming; it reports whether
// it did.
func (s *Server) httpFault(w http.ResponseWriter, fault, model string) (int, bool) {
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
	var status int
	var typ, msg string
	switch fault {
	case "401":
		status, typ, msg = 401, "invalid_api_key", "Invalid API key provided. Ensure your API key is correct and active."
	case "403":
		status, typ, msg = 403, "permission_denied", "Your API key does not have access to this resource."
	case "404":
		status, typ, msg = 404, "invalid_model", fmt.Sprintf("Model %s not found.", model)
	case "429":
		status, typ, msg = 429, "request_rate_limit_exceeded", "Rate limit exceeded. Please slow down."
		w.Header().Set("Retry-After", fmt.Sprint(RetryAfterSeconds))
		w.Header().Set("x-ratelimit-limit", "50")
		w.Header().Set("x-ratelimit-remaining", "0")
		w.Header().Set("x-ratelimit-reset", fmt.Sprint(RetryAfterSeconds))
	case "500":
		status, typ, msg = 500, "internal_server_error", "Internal server error."
	default:
		return 0, false
	}
	writeError(w, status, fmt.Sprintf(`{"error":{"message":%q,"type":%q,"code":%d}}`, msg, typ, status))
	return status, true
}
