package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/streamdemo/streamdemo/internal/classwire"
)

// shape is an upstream's error format: the gateway answers in the shape the
// client expects from the endpoint it called.
type shape int

const (
	openAIShape shape = iota // {"error":{"message","type","param","code":"type"}}
	agentShape               // Perplexity's Agent API: {"error":{"message","type","code":<status>}}
)

// shapeOf is the error shape of the endpoint at path (after the prefix).
func shapeOf(path string) shape {
	if path == "v1/agent" || path == "v1/responses" {
		return agentShape
	}
	return openAIShape
}

// errorBody is a refusal in shape s.
func errorBody(s shape, status int, typ, message string) []byte {
	e := map[string]any{"message": message, "type": typ, "code": status}
	if s == openAIShape {
		e["code"], e["param"] = typ, nil
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return b
}

// refuse answers a refused request, with Retry-After where waiting helps.
func refuse(w http.ResponseWriter, s shape, r *Refusal) {
	if r.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(r.RetryAfter.Seconds())))
	}
	noRetry(w, r.Status, r.RetryAfter)
	if r.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="streamdemo gateway"`)
	}
	writeJSON(w, r.Status, errorBody(s, r.Status, r.Type, r.Message))
}

// failure answers with a gateway-side error in shape s.
func failure(w http.ResponseWriter, s shape, status int, message string) {
	noRetry(w, status, 0)
	writeJSON(w, status, errorBody(s, status, classwire.GatewayError, message))
}

// noRetry tells clients (the official SDKs retry 429s and 5xx) not to
// retry a refusal that waiting cannot fix: every 4xx without a wait to
// honour. A rate limit keeps its Retry-After; the gateway's own 5xx may pass.
func noRetry(w http.ResponseWriter, status int, wait time.Duration) {
	if status >= 400 && status < 500 && wait == 0 {
		w.Header().Set("X-Should-Retry", "false")
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body))) // whole once sent, even while a body is still arriving
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
