package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

// piece is 36 bytes of output, as a model might write them in one event.
const piece = "0123456789abcdefghijklmnopqrstuvwxyz"

// TestEveryKindOfOutputIsChargedWhenCut: an answer cut before its usage is
// charged for all it streamed, whatever kind of output it was: 200 events
// of 36 bytes are 1,800 output tokens in each case, counted once.
func TestEveryKindOfOutputIsChargedWhenCut(t *testing.T) {
	const events = 200
	chat := func(delta string) func(i int) string {
		return func(i int) string {
			return `data: {"model":"sonar-pro","choices":[{"index":0,"delta":` + delta + `}]}` + "\n\n"
		}
	}
	agent := func(typ, delta string) func(i int) string {
		return func(i int) string {
			return fmt.Sprintf("event: %s\ndata: {\"type\":%q,\"item_id\":\"fc_1\",\"output_index\":0,\"sequence_number\":%d,\"delta\":%s}\n\n", typ, typ, i, delta)
		}
	}
	for _, c := range []struct {
		name, path string
		event      func(i int) string
		extra      int64 // bytes of output beyond the pieces (a function's name)
	}{
		{"chat: tool-call arguments", "v1/chat/completions", func(i int) string {
			call := `{"index":0,"function":{"arguments":"` + piece + `"}}`
			if i == 0 {
				call = `{"index":0,"id":"call_1","type":"function","function":{"name":"search","arguments":"` + piece + `"}}`
			}
			return chat(`{"tool_calls":[` + call + `]}`)(i)
		}, int64(len("search"))},
		{"chat: reasoning_content", "v1/chat/completions", chat(`{"reasoning_content":"` + piece + `"}`), 0},
		{"chat: reasoning", "v1/chat/completions", chat(`{"reasoning":"` + piece + `"}`), 0},
		{"chat: refusal", "v1/chat/completions", chat(`{"role":"assistant","refusal":"` + piece + `"}`), 0},
		{"chat: legacy function_call", "v1/chat/completions", chat(`{"function_call":{"arguments":"` + piece + `"}}`), 0},
		{"agent: function-call arguments", "v1/agent", agent("response.function_call_arguments.delta", `"`+piece+`"`), 0},
		{"agent: reasoning text", "v1/agent", agent("response.reasoning_text.delta", `"`+piece+`"`), 0},
		{"agent: reasoning summary", "v1/agent", agent("response.reasoning_summary_text.delta", `"`+piece+`"`), 0},
		{"agent: refusal", "v1/agent", agent("response.refusal.delta", `"`+piece+`"`), 0},
		{"agent: any other delta", "v1/responses", agent("response.custom_tool_call_input.delta", `"`+piece+`"`), 0},
		{"agent: a whole function call (Perplexity)", "v1/agent", func(i int) string {
			return fmt.Sprintf(`data: {"type":"response.output_item.added","output_index":%d,"sequence_number":%d,`+
				`"item":{"type":"function_call","id":"fc_%d","call_id":"call_%d","status":"completed","name":"","arguments":%q}}`+"\n\n", i, i, i, i, piece)
		}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, upstream := startScripted(t, held(events, c.event, make(chan struct{}), ""))
			tg := startGateway(t, upstream)
			tok := tg.student(t, "ana", ledger.Limits{USDPerDay: ptr(10.0)})
			body := chatBody("")
			if c.path != "v1/chat/completions" {
				body = agentBody("")
			}
			readThenLeave(t, tg.URL+c.path, tok, body, events)
			var rows []requestRow
			waitFor(t, 3*time.Second, "the cut answer was never settled", func() bool {
				rows = tg.requests(t)
				return len(rows) == 1 && rows[0].State != "open"
			})
			want := (events*int64(len(piece)) + c.extra + 3) / 4
			if r := rows[0]; r.State != "stopped" || r.Out < want || r.Out > want+4 {
				t.Errorf("charged %d output tokens (%s), want %d: %d bytes of output were streamed", r.Out, r.State, want, want*4)
			}
		})
	}
}

// TestWholeAnswersWithoutUsageAreChargedWhatTheyHold: a non-streamed
// answer whose upstream reports no usage is charged for its text, tool
// calls and reasoning, in both protocols.
func TestWholeAnswersWithoutUsageAreChargedWhatTheyHold(t *testing.T) {
	big := strings.Repeat(piece, 200) // 7,200 bytes: 1,800 tokens
	for _, c := range []struct{ name, path, answer string }{
		{"chat: tool calls", "v1/chat/completions", `{"model":"sonar-pro","choices":[{"index":0,"message":{"role":"assistant","content":null,` +
			`"tool_calls":[{"id":"call_1","type":"function","function":{"name":"","arguments":"` + big + `"}}]},"finish_reason":"tool_calls"}]}`},
		{"chat: reasoning", "v1/chat/completions", `{"model":"sonar-pro","choices":[{"index":0,"message":{"role":"assistant","content":"",` +
			`"reasoning_content":"` + big + `"},"finish_reason":"stop"}]}`},
		{"responses: a function call", "v1/responses", `{"object":"response","model":"perplexity/sonar","status":"completed","output":[` +
			`{"type":"function_call","id":"fc_1","call_id":"call_1","name":"","arguments":"` + big + `","status":"completed"}]}`},
		{"responses: reasoning and text", "v1/agent", `{"object":"response","model":"perplexity/sonar","status":"completed","output":[` +
			`{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"` + big[:3600] + `"}]},` +
			`{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","annotations":[],"text":"` + big[3600:] + `"}]}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, upstream := startScripted(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(c.answer))
			})
			tg := startGateway(t, upstream)
			tok := tg.student(t, "ana", ledger.Limits{})
			body := strings.Replace(chatBody(""), `"stream":true`, `"stream":false`, 1)
			if c.path != "v1/chat/completions" {
				body = strings.Replace(agentBody(""), `"stream":true`, `"stream":false`, 1)
			}
			if a := tg.post(t, c.path, tok, body); a.Status != 200 {
				t.Fatalf("HTTP %d %s", a.Status, a.Body)
			}
			var r requestRow
			waitFor(t, 3*time.Second, "the answer was never settled", func() bool {
				rows := tg.requests(t)
				r = rows[0]
				return r.State != "open"
			})
			if r.Out < 1800 || r.Out > 1804 {
				t.Errorf("charged %d output tokens (%s) for 7,200 bytes of output", r.Out, r.State)
			}
		})
	}
}
