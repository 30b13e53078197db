package gateway

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

func ptr[T any](v T) *T { return &v }

func TestConcurrentStreamsCannotOvershootTheTokenBudget(t *testing.T) {
	// Slow first token: all 20 streams are open at once while the budget is checked.
	_, upstream := startPractice(t, practice.Options{FirstToken: time.Second})
	tg := startGateway(t, upstream)
	body := openAIChatBody(`,"max_tokens":100`)
	perAnswer := int64(len(body)+3)/4 + 100
	limit := 3*perAnswer + 1 // room left after three reservations: one token, too little for a fourth
	tok := tg.student(t, "ana", ledger.Limits{TokensPerDay: &limit, ConcurrentStreams: ptr[int64](0), RequestsPerMinute: ptr[int64](0)})
	var wg sync.WaitGroup
	statuses := make(chan answer, 20)
	for range 20 {
		wg.Go(func() { statuses <- tg.post(t, "v1/chat/completions", tok, body) })
	}
	wg.Wait()
	close(statuses)
	admitted, refused := tallyAnswers(t, statuses, "class_budget_exceeded")
	var reserved int64
	for _, r := range tg.requests(t) {
		reserved += r.Reserved
		if r.Reserved != perAnswer {
			t.Fatalf("reservation %d tokens, want %d", r.Reserved, perAnswer)
		}
	}
	if admitted != 3 || refused != 17 || reserved > limit {
		t.Errorf("%d admitted (%d tokens reserved, limit %d, one reservation %d), %d refused; want 3 and 17",
			admitted, reserved, limit, perAnswer, refused)
	}
}

func TestRateLimitsSayHowLongToWait(t *testing.T) {
	_, upstream := startPractice(t, practice.Options{FirstToken: 500 * time.Millisecond})
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](2), ConcurrentStreams: ptr[int64](0)})
	tg.post(t, "v1/agent", tok, agentBody(""))
	tg.post(t, "v1/agent", tok, agentBody(""))
	a := tg.post(t, "v1/agent", tok, agentBody(""))
	if a.Status != 429 || refusalType(t, a.Body) != "class_rate_limited" || a.Header.Get("Retry-After") == "" || a.Header.Get("Retry-After") == "0" {
		t.Errorf("third request in a minute: HTTP %d Retry-After %q %s", a.Status, a.Header.Get("Retry-After"), a.Body)
	}

	// Streams at once: one open, the second waits.
	bob := tg.student(t, "bob", ledger.Limits{ConcurrentStreams: ptr[int64](1), RequestsPerMinute: ptr[int64](0)})
	first := make(chan answer)
	go func() { first <- tg.post(t, "v1/agent", bob, agentBody("")) }()
	waitFor(t, 2*time.Second, "the first stream never opened", func() bool { return len(tg.requests(t)) == 3 })
	b := tg.post(t, "v1/agent", bob, agentBody(""))
	if b.Status != 429 || refusalType(t, b.Body) != "class_rate_limited" || b.Header.Get("Retry-After") == "" {
		t.Errorf("second stream at once: HTTP %d %s", b.Status, b.Body)
	}
	if f := <-first; f.Status != 200 {
		t.Errorf("first stream: HTTP %d", f.Status)
	}
}

func TestPauseSwitchesApplyAtOnceAndAreLogged(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	ana, bob := tg.student(t, "ana", ledger.Limits{}), tg.student(t, "bob", ledger.Limits{})
	teacher := tg.teacherToken(t)
	flip := func(body string) {
		if a := do(t, "POST", tg.URL+"teacher/pause", teacher, body); a.Status != 200 {
			t.Fatalf("switch %s: HTTP %d %s", body, a.Status, a.Body)
		}
	}
	flip(`{"student":"ana","paused":true}`)
	if a := tg.post(t, "v1/agent", ana, agentBody("")); a.Status != 403 || refusalType(t, a.Body) != "class_paused" {
		t.Errorf("paused student: HTTP %d %s", a.Status, a.Body)
	}
	if a := tg.post(t, "v1/agent", bob, agentBody("")); a.Status != 200 {
		t.Errorf("another student: HTTP %d", a.Status)
	}
	flip(`{"all":true}`)
	if a := tg.post(t, "v1/chat/completions", bob, chatBody("")); a.Status != 403 || refusalType(t, a.Body) != "class_paused" {
		t.Errorf("class paused: HTTP %d %s", a.Status, a.Body)
	}
	flip(`{"all":false}`)
	flip(`{"student":"ana","paused":false}`)
	if a := tg.post(t, "v1/agent", ana, agentBody("")); a.Status != 200 {
		t.Errorf("resumed: HTTP %d", a.Status)
	}
	if a := do(t, "POST", tg.URL+"teacher/limits", teacher, `{"student":"bob","limits":{"usd_per_day":0.000001}}`); a.Status != 200 {
		t.Fatalf("limits: HTTP %d %s", a.Status, a.Body)
	}
	tg.post(t, "v1/agent", bob, agentBody(""))
	if a := tg.post(t, "v1/agent", bob, agentBody("")); a.Status != 429 || refusalType(t, a.Body) != "class_budget_exceeded" {
		t.Errorf("over a dollar budget: HTTP %d %s", a.Status, a.Body)
	}
	rep, _ := tg.ledger.Usage(t.Context())
	var log []string
	for _, s := range rep.Switches {
		if s.Who == "tina" {
			log = append(log, s.What)
		}
	}
	want := []string{"limits for bob (usd_per_day=1e-06)", "ana resumed", "class resumed", "class paused (exam mode)", "ana paused"}
	if len(log) != len(want) {
		t.Fatalf("switch log %q, want %q", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Errorf("switch log %q, want %q", log, want)
			break
		}
	}
}

func TestATotalBudgetHoldsAcrossDays(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.student(t, "ana", ledger.Limits{TokensTotal: ptr[int64](300)})
	if a := tg.post(t, "v1/agent", tok, agentBody("")); a.Status != 200 {
		t.Fatalf("first answer: HTTP %d", a.Status)
	}
	tg.clock.skip(48 * time.Hour) // two days later
	a := tg.post(t, "v1/agent", tok, agentBody(""))
	if a.Status != 200 { // 199 of 300 used: room left
		t.Fatalf("second answer: HTTP %d", a.Status)
	}
	a = tg.post(t, "v1/agent", tok, agentBody(""))
	if a.Status != 429 || !strings.Contains(a.Body, "Your class budget is used up; ask your teacher.") {
		t.Errorf("over the total budget: HTTP %d %s", a.Status, a.Body)
	}
	if a.Header.Get("Retry-After") != "" {
		t.Errorf("Retry-After %q on a used-up budget: waiting does not help", a.Header.Get("Retry-After"))
	}
}

// tally counts the answers admitted and those refused with HTTP 429 of
// refusal type; any other answer fails the test.
func tallyAnswers(t *testing.T, answers <-chan answer, refusal string) (admitted, refused int) {
	t.Helper()
	for a := range answers {
		switch {
		case a.Status == 200:
			admitted++
		case a.Status == http.StatusTooManyRequests && refusalType(t, a.Body) == refusal:
			refused++
		default:
			t.Errorf("HTTP %d %s", a.Status, a.Body)
		}
	}
	return admitted, refused
}
