package gateway

import (
	"bufio"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/internal/sizes"
)

var fast = practice.Options{}

func TestChatStreamPassesThroughAndIsCharged(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	want := practice.Choose("", seedQuestion).Text

	// The client did not ask for usage: the gateway asks for it, charges it, and hides that chunk.
	a := tg.post(t, "v1/chat/completions", tok, openAIChatBody(""))
	if a.Status != 200 || streamedText(a.Body) != want {
		t.Fatalf("HTTP %d, text %q, want %q", a.Status, streamedText(a.Body), want)
	}
	evs := events(a.Body)
	if last := evs[len(evs)-1]; last != "[DONE]" || strings.Contains(a.Body, `"prompt_tokens"`) {
		t.Errorf("the usage chunk the client did not ask for reached it:\n%s", strings.Join(evs[len(evs)-3:], "\n"))
	}
	// A client that asked for usage gets it.
	b := tg.post(t, "v1/chat/completions", tok, openAIChatBody(`,"stream_options":{"include_usage":true}`))
	if !strings.Contains(b.Body, `"completion_tokens"`) {
		t.Errorf("the usage chunk the client asked for is missing")
	}
	rows := tg.requests(t)
	outTokens := int64(len(practice.Tokens(want)))
	for _, r := range rows {
		if r.State != "done" || r.Out != outTokens || r.Estimate != 0 || r.Student != "ana" {
			t.Errorf("ledger row %+v, want done with %d output tokens from the upstream's usage", r, outTokens)
		}
	}
	if len(rows) != 2 {
		t.Errorf("%d ledger rows, want 2", len(rows))
	}
}

func TestChatCostComesFromThePriceTable(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	if err := tg.ledger.SetPrice("gpt-4o-mini", 1000, 2000, "test"); err != nil {
		t.Fatal(err)
	}
	tg.post(t, "v1/chat/completions", tok, openAIChatBody(""))
	r := tg.requests(t)[0]
	want := (float64(r.In)*1000 + float64(r.Out)*2000) / 1e6
	if r.Cost != want || want == 0 {
		t.Errorf("charged %g USD, want %g from the price table", r.Cost, want)
	}
}

func TestAgentStreamIsChargedTheCostItReports(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	tg.ledger.SetPrice("*", 1e6, 1e6, "test") // must not be used: the Agent API reports its cost
	a := tg.post(t, "v1/agent", tok, agentBody(`,"tools":[{"type":"web_search"}]`))
	var completed answerEvent
	for _, p := range events(a.Body) {
		if strings.Contains(p, `"response.completed"`) {
			completed = decodeEvent(t, p)
		}
	}
	if completed.Response == nil || completed.Response.Usage == nil || completed.Response.Usage.Cost == nil {
		t.Fatalf("no usage with cost reached the client:\n%s", a.Body)
	}
	r := tg.requests(t)[0]
	if r.Cost != completed.Response.Usage.Cost.TotalCost || r.Out != completed.Response.Usage.OutputTokens {
		t.Errorf("ledger %+v, want the upstream's usage %+v", r, *completed.Response.Usage)
	}
}

func TestBrokenStreamIsChargedWhatStreamed(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	a := tg.post(t, "v1/agent", tok, `{"model":"fault/drop","stream":true,"input":"`+seedQuestion+`"}`)
	streamed := streamedText(a.Body)
	if streamed == "" {
		t.Fatalf("nothing streamed before the drop: %q", a.Body)
	}
	r := tg.requests(t)[0]
	if r.State != "broken" || r.Estimate != 1 || r.Out != int64(len(streamed)+3)/4 {
		t.Errorf("ledger %+v, want broken, estimated at %d output tokens for %q", r, (len(streamed)+3)/4, streamed)
	}
}

func TestStudentsStopCancelsTheUpstreamAtOnce(t *testing.T) {
	// Half a second between tokens: only a cancelled request, not the next
	// failed write, stops the upstream within a quarter of a second.
	srv, upstream := startPractice(t, practice.Options{TokensPerSecond: 2})
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tg.URL+"v1/chat/completions", strings.NewReader(openAIChatBody("")))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() && !strings.Contains(lines.Text(), `"content":"`) {
	}
	if srv.Active() != 1 {
		t.Fatalf("%d answers streaming upstream, want 1", srv.Active())
	}
	stopped := time.Now()
	cancel()
	resp.Body.Close()
	waitFor(t, 250*time.Millisecond, "the upstream answer still streams after the student stopped", func() bool { return srv.Active() == 0 })
	t.Logf("upstream stopped %v after the student", time.Since(stopped).Round(time.Millisecond))
	waitFor(t, time.Second, "no settled ledger row", func() bool { rows := tg.requests(t); return len(rows) == 1 && rows[0].State == "stopped" })
}

func TestRequestBodiesAreSizeLimited(t *testing.T) {
	srv, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	big := chatBody(`,"padding":"` + strings.Repeat("x", sizes.MaxRequest) + `"`)
	a := tg.post(t, "v1/chat/completions", tok, big)
	if a.Status != http.StatusRequestEntityTooLarge || refusalType(t, a.Body) != "class_gateway_error" {
		t.Errorf("HTTP %d %s, want 413", a.Status, a.Body)
	}
	if len(srv.Records()) != 0 || len(tg.requests(t)) != 0 {
		t.Errorf("an oversized request reached the upstream or the ledger")
	}
}

func TestModelsListIsForwarded(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	a := do(t, http.MethodGet, tg.URL+"v1/models", tok, "")
	if a.Status != 200 || !strings.Contains(a.Body, `"gpt-4o-mini"`) {
		t.Errorf("HTTP %d %s", a.Status, a.Body)
	}
}

// answerEvent is what the tests read of an event: an Agent API answer's usage.
type answerEvent struct {
	Response *struct {
		Usage *struct {
			InputTokens  int64 `json:"input_tokens"`
			OutputTokens int64 `json:"output_tokens"`
			Cost         *struct {
				TotalCost float64 `json:"total_cost"`
			} `json:"cost"`
		} `json:"usage"`
	} `json:"response"`
}

func decodeEvent(t testing.TB, payload string) answerEvent {
	t.Helper()
	var ev answerEvent
	if err := jsonUnmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestWholeAnswersAreChargedTheirUsage(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	want := int64(len(practice.Tokens(practice.Choose("", seedQuestion).Text)))
	for _, c := range []struct{ path, body string }{
		{"v1/chat/completions", strings.Replace(openAIChatBody(""), `"stream":true`, `"stream":false`, 1)},
		{"v1/agent", strings.Replace(agentBody(""), `"stream":true`, `"stream":false`, 1)},
	} {
		if a := tg.post(t, c.path, tok, c.body); a.Status != 200 || !strings.Contains(a.Body, "200 billion trillion") {
			t.Fatalf("%s: HTTP %d %.200s", c.path, a.Status, a.Body)
		}
	}
	// A whole body can reach the client just before its settlement commits.
	waitFor(t, time.Second, "answers not settled", func() bool {
		rows := tg.requests(t)
		return len(rows) == 2 && rows[0].State != "open" && rows[1].State != "open"
	})
	for _, r := range tg.requests(t) {
		if r.State != "done" || r.Out != want || r.Estimate != 0 {
			t.Errorf("ledger %+v, want done with %d output tokens", r, want)
		}
	}
}

// Time stamps (created, created_at, completed_at) differ between two runs of
// the same answer when a second boundary falls between them.
var createdStamp = regexp.MustCompile(`"(created|completed)(_at)?":\d+`)

func TestTheStreamArrivesByteForByteAsTheUpstreamSentIt(t *testing.T) {
	_, direct := startPractice(t, fast)
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{})
	for _, c := range []struct{ path, body string }{
		{"v1/agent", agentBody(`,"tools":[{"type":"web_search"}]`)},
		{"v1/chat/completions", openAIChatBody(`,"stream_options":{"include_usage":true}`)},
	} {
		want := do(t, "POST", direct+strings.TrimPrefix(c.path, "v1"), "", c.body)
		got := tg.post(t, c.path, tok, c.body)
		if createdStamp.ReplaceAllString(got.Body, "") != createdStamp.ReplaceAllString(want.Body, "") {
			t.Errorf("%s: the gateway changed the stream:\n%.300s\nwant\n%.300s", c.path, got.Body, want.Body)
		}
	}
}
