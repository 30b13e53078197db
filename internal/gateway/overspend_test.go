package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

// startGreedy is an upstream that spends all it may: a whole chat answer
// whose every one of its n (or best_of) answers runs to its output cap (or
// to 2,000 tokens without one). Its input is fewer tokens than the
// gateway's estimate (the body / 4): the bound holds up to that estimate's
// error, which is not what is tested here. It records the bodies it got.
func startGreedy(t *testing.T) (*scripted, string) {
	var up *scripted
	up, upstream := startScripted(t, func(w http.ResponseWriter, r *http.Request) {
		seen := up.seen() // the tests ask one at a time: the last body is this request's
		body := seen[len(seen)-1]
		answers, out := 1.0, 2000.0
		if n, ok := body["n"].(float64); ok {
			answers = n
		}
		if n, ok := body["best_of"].(float64); ok {
			answers = max(answers, n)
		}
		if n, ok := body["max_tokens"].(float64); ok {
			out = n
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"model":"sonar-pro","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"length"}],`+
			`"usage":{"prompt_tokens":10,"completion_tokens":%d}}`, int64(answers*out))
	})
	return up, upstream
}

// spent is what a student was charged in all, once every answer settled.
func (tg *testGateway) spent(t *testing.T, student string) (tokens int64, usd float64) {
	t.Helper()
	waitFor(t, 3*time.Second, "an answer was never settled", func() bool {
		var open int
		tg.db.QueryRow(`SELECT COUNT(*) FROM requests WHERE state = 'open'`).Scan(&open)
		return open == 0
	})
	err := tg.db.QueryRow(`SELECT COALESCE(SUM(input_tokens + output_tokens), 0), COALESCE(SUM(cost_usd), 0)
		FROM requests WHERE student = '`+student+`'`).Scan(&tokens, &usd) // a name of the test's own
	if err != nil {
		t.Fatal(err)
	}
	return tokens, usd
}

func wholeChat(extra string) string {
	return strings.Replace(chatBody(extra), `"stream":true`, `"stream":false`, 1)
}

// TestNAnswersAreReservedNTimes: a request for n answers (or best_of
// candidates) holds n times one answer and is capped so that all n fit
// what the budget has left. The measured attack, n=64 with a little budget
// left, spent 32 times what was left.
func TestNAnswersAreReservedNTimes(t *testing.T) {
	up, upstream := startGreedy(t)
	tg := startGateway(t, upstream)
	for _, c := range []struct {
		name, extra string
		lim         ledger.Limits
	}{
		{"n=64, dollars", `,"n":64`, ledger.Limits{USDPerDay: ptr(0.05)}},
		{"n=64 and a cap, dollars", `,"n":64,"max_tokens":100000`, ledger.Limits{USDTotal: ptr(0.05)}},
		{"best_of=64, dollars", `,"n":1,"best_of":64`, ledger.Limits{USDPerDay: ptr(0.05)}},
		{"n=10, tokens", `,"n":10`, ledger.Limits{TokensPerDay: ptr[int64](5000)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := strings.NewReplacer(" ", "-", ",", "", "=", "").Replace(c.name)
			tok := tg.student(t, name, c.lim)
			if a := tg.post(t, "v1/chat/completions", tok, wholeChat(c.extra)); a.Status != 200 {
				t.Fatalf("HTTP %d %s", a.Status, a.Body)
			}
			tokens, usd := tg.spent(t, name)
			if c.lim.USDPerDay != nil && usd > *c.lim.USDPerDay || c.lim.USDTotal != nil && usd > *c.lim.USDTotal {
				seen := up.seen()
				t.Errorf("spent %g USD of a %+v budget (the upstream got max_tokens %v)", usd, c.lim, seen[len(seen)-1]["max_tokens"])
			}
			if c.lim.TokensPerDay != nil && tokens > *c.lim.TokensPerDay {
				t.Errorf("spent %d tokens of %d", tokens, *c.lim.TokensPerDay)
			}
		})
	}
	// Where the budget cannot hold n answers of 16 tokens, the request is
	// refused as the budget used up, before it reaches the upstream.
	tok := tg.student(t, "poor", ledger.Limits{USDPerDay: ptr(0.012)})
	before := len(up.seen())
	a := tg.post(t, "v1/chat/completions", tok, wholeChat(`,"n":128`))
	if a.Status != 429 || refusalType(t, a.Body) != "class_budget_exceeded" || len(up.seen()) != before {
		t.Errorf("n=128 with 0.012 USD left: HTTP %d %s", a.Status, a.Body)
	}
	// n and best_of are whole numbers from 1 to 128, read as the upstream reads them.
	for _, extra := range []string{`,"n":0`, `,"n":-1`, `,"n":129`, `,"n":"2"`, `,"n":1.5`, `,"n":2,"n":1`, `,"N":64`, `,"best_of":1000`} {
		if a := tg.post(t, "v1/chat/completions", tok, wholeChat(extra)); a.Status != 400 {
			t.Errorf("%s: HTTP %d %s", extra, a.Status, a.Body)
		}
	}
	if len(up.seen()) != before {
		t.Errorf("a bad n reached the upstream")
	}
}

// TestAnUnpricedModelNeedsAPriceUnderADollarLimit: a student with a
// dollar limit asking for a model the price table does not know is refused
// in one sentence naming the teacher's part, until the teacher sets a price
// (zero included: a free local model); a completed answer of an unpriced
// model is charged its reservation, never $0.
func TestAnUnpricedModelNeedsAPriceUnderADollarLimit(t *testing.T) {
	up, upstream := startScripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"object":"response","model":"vendor/unpriced","status":"completed","output":[],"usage":{"input_tokens":10,"output_tokens":900}}`))
	})
	tg := startGateway(t, upstream)
	ana := tg.student(t, "ana", ledger.Limits{USDPerDay: ptr(1.0)})
	bob := tg.student(t, "bob", ledger.Limits{TokensPerDay: ptr[int64](100000)})
	ask := func(tok, model string) answer {
		return tg.post(t, "v1/agent", tok, `{"model":"`+model+`","input":"hi"}`)
	}
	for _, body := range []string{`{"model":"vendor/unpriced","input":"hi"}`, `{"models":["perplexity/sonar","vendor/unpriced"],"input":"hi"}`} {
		a := tg.post(t, "v1/agent", ana, body)
		if a.Status != 400 || refusalType(t, a.Body) != "class_model_not_allowed" || !strings.Contains(a.Body, "no price for vendor/unpriced") ||
			!strings.Contains(a.Body, "ask your teacher") || a.Header.Get("X-Should-Retry") != "false" {
			t.Errorf("%s under a dollar limit: HTTP %d %s", body, a.Status, a.Body)
		}
	}
	if n := len(up.seen()); n != 0 {
		t.Errorf("%d requests for an unpriced model reached the upstream under a dollar limit", n)
	}
	// Without a dollar limit it passes, and is charged what it held.
	if a := ask(bob, "vendor/unpriced"); a.Status != 200 {
		t.Fatalf("without a dollar limit: HTTP %d %s", a.Status, a.Body)
	}
	if _, usd := tg.spent(t, "bob"); usd < 0.01 {
		t.Errorf("a completed answer of an unpriced model cost %g USD", usd)
	}
	// Once the teacher sets a price, it passes and costs that price.
	if err := tg.ledger.SetPrice("vendor/unpriced", 1, 10, "test"); err != nil {
		t.Fatal(err)
	}
	if a := ask(ana, "vendor/unpriced"); a.Status != 200 {
		t.Fatalf("priced: HTTP %d %s", a.Status, a.Body)
	}
	if _, usd := tg.spent(t, "ana"); usd != (10*1+900*10)/1e6 {
		t.Errorf("priced: charged %g USD, want %g", usd, (10*1+900*10)/1e6)
	}
	// A price of zero is the teacher's word that the model is free.
	tg.ledger.SetPrice("local/free", 0, 0, "test")
	if a := ask(ana, "local/free"); a.Status != 200 {
		t.Errorf("a free model: HTTP %d %s", a.Status, a.Body)
	}
}

// TestAWholeAnswerCutIsChargedItsReservation: a request not streamed whose
// client leaves before the answer arrives is charged all it held: the
// upstream goes on and bills the whole answer.
func TestAWholeAnswerCutIsChargedItsReservation(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	for _, c := range []struct {
		name, path, body string
		handle           func(http.ResponseWriter, *http.Request)
	}{
		{"chat, before the headers", "v1/chat/completions", wholeChat(`,"max_tokens":2000`), func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}},
		{"agent, before the headers", "v1/agent", strings.Replace(agentBody(`,"max_output_tokens":8000`), `"stream":true`, `"stream":false`, 1),
			func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-hang:
				case <-r.Context().Done():
				}
			}},
		{"chat, the headers sent, the body not yet", "v1/chat/completions", wholeChat(`,"max_tokens":2000`), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			w.Write([]byte(`{"model":"sonar-pro",`))
			w.(http.Flusher).Flush()
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, upstream := startScripted(t, c.handle)
			tg := startGateway(t, upstream)
			tok := tg.student(t, "ana", ledger.Limits{USDPerDay: ptr(1.0)})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", tg.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+tok)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			tg.spent(t, "ana")
			var reserved, cost float64
			tg.db.QueryRow(`SELECT reserved_usd, cost_usd FROM requests`).Scan(&reserved, &cost)
			if reserved <= 0.01 || cost != reserved {
				t.Errorf("charged %g USD of a reservation of %g", cost, reserved)
			}
		})
	}
}

// TestTheUpstreamsReportedCostIsTheLeastCharge: what an upstream reports it
// cost (tool and search fees included) is the least an answer is charged:
// the Agent API's usage.cost.total_cost, a cost given as a bare number (as
// OpenRouter's chat does), and a step's cost reported before the answer
// was cut; a step's usage is not the answer's.
func TestTheUpstreamsReportedCostIsTheLeastCharge(t *testing.T) {
	t.Run("chat, cost as a number", func(t *testing.T) {
		_, upstream := startScripted(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"model":"sonar-pro","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],` +
				`"usage":{"prompt_tokens":10,"completion_tokens":2,"cost":0.2}}`))
		})
		tg := startGateway(t, upstream)
		tok := tg.student(t, "ana", ledger.Limits{})
		tg.post(t, "v1/chat/completions", tok, wholeChat(""))
		if _, usd := tg.spent(t, "ana"); usd != 0.2 {
			t.Errorf("charged %g USD, the upstream reported 0.2", usd)
		}
	})
	t.Run("agent, a search's fee, then cut", func(t *testing.T) {
		search := `data: {"type":"response.reasoning.search_results","sequence_number":0,"results":[],` +
			`"usage":{"input_tokens":5,"output_tokens":0,"cost":{"total_cost":0.05,"tool_calls_cost":0.05}}}` + "\n\n"
		_, upstream := startScripted(t, held(201, func(i int) string {
			if i == 0 {
				return search
			}
			return fmt.Sprintf("data: {\"type\":\"response.output_text.delta\",\"sequence_number\":%d,\"delta\":%q}\n\n", i, piece)
		}, make(chan struct{}), ""))
		tg := startGateway(t, upstream)
		tok := tg.student(t, "ana", ledger.Limits{})
		readThenLeave(t, tg.URL+"v1/agent", tok, agentBody(""), 201)
		tg.spent(t, "ana")
		r := tg.requests(t)[0]
		if r.State != "stopped" || r.Estimate != 1 || r.Out < 1800 || r.Cost < 0.05 {
			t.Errorf("charged %+v; want the cut answer's 1,800 output tokens and at least the search's 0.05 USD", r)
		}
	})
}
