package gateway

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/classwire"
	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/sizes"
)

// Refusal is a request the gateway turns away, with the one sentence the
// student reads. Its Type is what the library recognises.
type Refusal struct {
	Status     int
	Type       string // one of classwire's refusal types
	Message    string
	RetryAfter time.Duration // sent as Retry-After when waiting helps
}

func (r *Refusal) Error() string { return r.Message }

// The refusals a student can meet.
var (
	refuseNoToken       = newRefusal(http.StatusUnauthorized, classwire.TokenRejected, "The class gateway did not accept your token: check the key your teacher gave you.")
	refuseClassPaused   = newRefusal(http.StatusForbidden, classwire.Paused, "Your teacher has paused the model for the whole class (exam mode); ask your teacher.")
	refuseStudentPaused = newRefusal(http.StatusForbidden, classwire.Paused, "Your teacher has paused your access to the model; ask your teacher.")
	refuseDayBudget     = newRefusal(http.StatusTooManyRequests, classwire.BudgetExceeded, "Your class budget for today is used up; ask your teacher.")
	refuseTotalBudget   = newRefusal(http.StatusTooManyRequests, classwire.BudgetExceeded, "Your class budget is used up; ask your teacher.")
	refuseNotTeacher    = newRefusal(http.StatusForbidden, classwire.TeacherOnly, "Only the teacher can see this page or flip these switches.")
	refuseNotFromPage   = newRefusal(http.StatusForbidden, classwire.TeacherOnly, "Switches are flipped from the teacher's page only: open the page itself and use its buttons.")
	refuseSessionEnded  = newRefusal(http.StatusUnauthorized, classwire.TokenRejected, "Your teacher's session ended (its token was revoked or is no longer a teacher's): reload the page to log in again.")
	refuseLedger        = newRefusal(http.StatusServiceUnavailable, classwire.GatewayError, "The class gateway cannot write its ledger right now; tell your teacher.")
	refuseCannotCheck   = newRefusal(http.StatusBadGateway, classwire.GatewayError, "The class gateway could not check your token; try again in a moment.")
	refuseTooLarge      = newRefusal(http.StatusRequestEntityTooLarge, classwire.GatewayError,
		fmt.Sprintf("The request is larger than the class gateway accepts (%d KiB); send a shorter conversation.", sizes.MaxRequest>>10))
)

// concurrencyWait is how long a student over the concurrent-stream limit is
// asked to wait: about how long a short answer takes.
const concurrencyWait = 2 * time.Second

// refusalFor is the sentence for what the ledger refused.
func refusalFor(r *ledger.Refusal) *Refusal {
	switch r.Reason {
	case ledger.ClassPaused:
		return refuseClassPaused
	case ledger.StudentPaused:
		return refuseStudentPaused
	case ledger.TooManyStreams:
		return tooMany(concurrencyWait)
	case ledger.RateLimited:
		return tooMany(r.Wait)
	case ledger.DayBudget:
		return refuseDayBudget
	case ledger.TotalBudget:
		return refuseTotalBudget
	case ledger.Unpriced:
		return refuseUnpriced(r.Model)
	case ledger.TokenRevoked:
		return refuseNoToken
	}
	return refuseLedger
}

// refuseUnpriced refuses a student with a dollar limit a model the price
// table does not know, which no dollar limit can bound.
func refuseUnpriced(model string) *Refusal {
	msg := fmt.Sprintf("The class has no price for %s, and your budget is in dollars: ask your teacher to set its price.", model)
	if model == "" {
		msg = "The request names no model, and your budget is in dollars: name one of the class's models."
	}
	return newRefusal(http.StatusBadRequest, classwire.ModelNotAllowed, msg)
}

// refuseModel refuses a model or preset the class does not allow.
func refuseModel(allowed []string) *Refusal {
	return newRefusal(http.StatusBadRequest, classwire.ModelNotAllowed,
		fmt.Sprintf("This class allows only %s: use one of these as the model.", strings.Join(allowed, ", ")))
}

// newRefusal is a refusal with no wait to honour.
func newRefusal(status int, typ, message string) *Refusal {
	return &Refusal{Status: status, Type: typ, Message: message}
}

// tooMany is the rate-limit refusal, with the wait that helps.
func tooMany(wait time.Duration) *Refusal {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	return &Refusal{Status: http.StatusTooManyRequests, Type: classwire.RateLimited,
		Message: classwire.WaitSentence(secs), RetryAfter: time.Duration(secs) * time.Second}
}

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
